// A head's most typical examples (the highest-scoring ones for a statistic), as links that
// open the live head view (/inspect) on the example at that layer and head.

import { shown, entry } from "./analysis-result.js";
import { el, fmt } from "./dom.js";

export function inspectUrl(example, layer, head) {
  const p = new URLSearchParams();
  p.set("model", shown.result.model.id);
  p.set("text", example.inspect.text);
  if (example.inspect.aspect) p.set("aspect", example.inspect.aspect);
  p.set("view", "head");
  p.set("layer", layer);
  p.set("heads", String(head));
  p.set("pin", "query"); // the head view opens on the query token's row (the aspect, RE: entity 1)
  // the other aspects and opinion words highlighted beside the aspect (character spans of the review)
  const marks = Object.entries(example.inspect.marks || {}).filter(([, spans]) => spans.length)
    .map(([name, spans]) => `${name}:${spans.map(([a, b]) => `${a}-${b}`).join(",")}`);
  if (marks.length) p.set("marks", marks.join(";"));
  return "/inspect?" + p.toString();
}

/** [{index, score, example}] of the head's `limit` most typical examples for the statistic. */
export function typicalExamples(h, stat, limit = 3) {
  const e = entry(h, stat);
  return ((e && e.typical) || []).slice(0, limit).map(([index, score]) => ({ index, score, example: shown.result.examples[String(index)] }))
    .filter((t) => t.example);
}

export function exampleLabel(ex) {
  const text = ex.text.length > 90 ? ex.text.slice(0, 87) + "…" : ex.text;
  return ex.aspect ? `${text} — aspect: ${ex.aspect}` : text;
}

/** The ranked table's cell: short "ex. N" links. */
export function typicalCell(h, stat) {
  const td = el("td");
  typicalExamples(h, stat, 2).forEach((t, i) => {
    const a = el("a", "typical-link", `ex. ${t.index}`);
    a.href = inspectUrl(t.example, h.layer, h.head);
    a.title = exampleLabel(t.example);
    if (i) td.append(" ");
    td.append(a);
  });
  return td;
}

/** The head panel's list (#typical-list): up to ten examples with their score and gold label. */
export function fillTypicalList(list, h, stat) {
  const items = typicalExamples(h, stat, 10).map((t) => {
    const li = el("li");
    const a = el("a", "typical-link", exampleLabel(t.example));
    a.href = inspectUrl(t.example, h.layer, h.head);
    a.dataset.layer = h.layer; a.dataset.head = h.head;
    li.append(a, el("span", "muted", `  (${stat} ${fmt(t.score)}, gold ${t.example.label ?? "–"})`));
    return li;
  });
  list.replaceChildren(...(items.length ? items : [el("li", "muted", "no example carried this statistic")]));
}
