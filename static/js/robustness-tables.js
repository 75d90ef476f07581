// The /robustness tables: one row per test (figures with 95% CIs, the top moved heads), and the
// selected test's example rows (broken first) with the variant's edits marked and a link that
// opens the source and the variant side by side on /compare.

import { compareUrl } from "./compare-state.js";
import { $, conceptLink, el, fmt, headName } from "./dom.js";
import { view, rateText } from "./robustness-state.js";

/** A column heading, with the "?" link of the concept it rests on (ARS, flip rate, debiased accuracy, the heads'
 *  separation). */
function headingCell(name) {
  const th = el("th", null, name);
  const concept = { ARS: "ars", "flip rate": "flip-rate", "debiased acc.": "debiased-accuracy" }[name] ||
    (name.startsWith("top moved heads") ? "head-separation" : null);
  if (concept) th.append(" ", conceptLink(concept));
  return th;
}

/** The tests table; onPick(test) on a row click. */
export function drawTests(result, onPick) {
  const table = $("tests-table");
  const absa = result.model.task === "absa";
  const cols = ["test", "family", "sources", "variants", "source acc.", "variant acc.", "flip rate",
    ...(absa ? ["ARS"] : []), "debiased acc.", "broken / held", `top moved heads (${view.query})`];
  const head = el("tr");
  for (const c of cols) head.append(headingCell(c));
  table.replaceChildren(head);
  let small = false;
  for (const t of result.tests) {
    const tr = el("tr");
    tr.dataset.test = t.test;
    tr.title = t.description;
    const cells = [t.test, t.family, t.sources, t.variants + (t.skipped ? ` (+${t.skipped} skipped)` : ""),
      rateText(t.source_accuracy), rateText(t.variant_accuracy), rateText(t.flip_rate),
      ...(absa ? [rateText(t.aspect_robustness)] : []), rateText(t.debiased_accuracy), `${t.broken} / ${t.held}`];
    cells.forEach((c, i) => tr.append(i >= 4 && i < 4 + rateCount(absa) ? rateCell(c) : el("td", i >= 2 ? "num" : null, String(c))));
    const asked = result.data && result.data.sources;
    if (asked && t.sources < asked) {
      tr.children[2].append(el("div", "muted fewer-sources",
        `of ${asked}: the other sources gave this test nothing to change, so they have no variant`));
    }
    const minN = result.min_n || 1;
    const rates = [t.source_accuracy, t.variant_accuracy, t.flip_rate, ...(absa ? [t.aspect_robustness] : []), t.debiased_accuracy];
    rates.forEach((r, i) => {
      if (!r || r.n == null || r.n >= minN) return;
      const td = tr.children[4 + i];
      td.classList.add("small-n");
      td.title = `n = ${r.n}, below the minimum n of ${minN}: too few examples to compare on`;
      small = true;
    });
    tr.append(movedCell(t, minN));
    if (t.ablated) {
      const a = t.ablated;
      tr.lastChild.append(el("div", "muted", `masked: variant acc. ${fmt(a.variant_accuracy.value)} (random heads ${fmt(a.random_variant_accuracy.value)})`));
    }
    table.append(tr);
  }
  if (small) {
    const caption = table.createCaption();
    caption.className = "small-n-note";
    caption.append(`greyed: figures on fewer than ${result.min_n} examples (the minimum n), too few to compare on `,
      conceptLink("minimum-n"));
  }
  table.onclick = (e) => {
    const tr = e.target.closest("tr[data-test]");
    if (tr && !e.target.closest("a")) onPick(tr.dataset.test);
  };
  markSelected();
}

const rateCount = (absa) => (absa ? 5 : 4);

/** A rate's cell: the value on its line, its CI and n under it (the table then fits 1400 px with its moved heads). */
function rateCell(text) {
  const td = el("td", "num"), cut = text.indexOf(" [");
  if (cut < 0) td.textContent = text;
  else td.append(text.slice(0, cut), el("br"), el("span", "rate-ci", text.slice(cut + 1)));
  return td;
}

/** The test's top moved heads with their n (broken / held pairs); below the minimum n they are greyed out
 * and not ranked: an interval from one broken pair looks precise and is not (docs/concepts.md#minimum-n). */
function movedCell(t, minN) {
  const moved = t.moved && t.moved[view.query];
  if (!(moved && moved.top.length)) return el("td", "heads-cell", t.broken && t.held ? "–" : "needs broken and held pairs");
  const heads = moved.top.map((h) => `${headName(h.layer, h.head)} ${fmt(h.separation)} [${fmt(h.ci[0])}, ${fmt(h.ci[1])}]`);
  const n = `n = ${t.broken} broken / ${t.held} held pairs`;
  if (Math.min(t.broken, t.held) >= minN) {
    const td = el("td", "heads-cell", heads.join(" · "));
    td.append(el("div", "muted", n));
    return td;
  }
  const td = el("td", "heads-cell small-n", heads.join(", "));
  const note = el("div", "small-n-note", `not ranked: ${n}, below the minimum n of ${minN} `);
  note.append(conceptLink("minimum-n"));
  td.append(note);
  td.title = `fewer than ${minN} broken or held pairs: these intervals are too few pairs to rank heads on`;
  return td;
}

export function markSelected() {
  for (const tr of $("tests-table").querySelectorAll("tr[data-test]")) tr.classList.toggle("selected", tr.dataset.test === view.test);
}

/** Character offsets of the plain text (entity tags left out) -> offsets in the tagged text. */
function plainOffsets(tagged) {
  const map = [];
  const re = /<\/?e[12]>/y;
  for (let i = 0; i <= tagged.length;) {
    re.lastIndex = i;
    const m = i < tagged.length ? re.exec(tagged) : null;
    if (m) { i += m[0].length; continue; }
    map.push(i);
    i += 1;
  }
  return map;
}

/** The text with the spans (plain-text offsets) as <mark>s, built from text nodes only. */
export function markedText(text, spans) {
  const span = el("span", "rb-text");
  const map = plainOffsets(text);
  const marks = (spans || []).filter(([s, e]) => e > s).map(([s, e]) => [map[s] ?? text.length, (map[e - 1] ?? text.length - 1) + 1])
    .sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [s, e] of marks) {
    if (s < at) continue;
    span.append(text.slice(at, s), el("mark", null, text.slice(s, e)));
    at = e;
  }
  span.append(text.slice(at));
  return span;
}

/** Where a compare link opens: the picked head, else the test's top moved head, else where /compare finds
 *  the change (no layer). */
function focusHead(test) {
  if (view.layer != null && view.head != null) return { layer: view.layer, heads: [view.head] };
  const moved = test.moved && (test.moved[view.query] || test.moved.focus || test.moved.cls);
  const top = moved && moved.top[0];
  return top ? { layer: top.layer, heads: [top.head] } : { layer: null, heads: null };
}

/** The selected test's example rows. */
export function drawExamples(result) {
  const table = $("examples-table"), test = result.tests.find((t) => t.test === view.test);
  $("examples-test").textContent = test ? `${test.test} (${test.examples.length} of ${test.variants} pairs)` : "";
  const head = el("tr");
  for (const c of ["", "source", "variant", "gold", "source pred.", "variant pred.", ""]) head.append(el("th", null, c));
  table.replaceChildren(head);
  if (!test) return;
  const at = focusHead(test);
  test.examples.forEach((ex, i) => {
    const tr = el("tr");
    tr.dataset.variant = ex.variant;
    const status = el("td");
    status.append(el("span", ex.broken ? "broken-tag" : "held-tag", ex.broken ? "broken" : ex.source_prediction === ex.variant_prediction ? "same" : "changed"));
    const source = el("td"), variant = el("td");
    source.append(ex.source.text, ex.source.aspect ? el("div", "muted", `aspect: ${ex.source.aspect}`) : "");
    variant.append(markedText(ex.edited.text, ex.edited_spans), ex.edited.aspect ? el("div", "muted", `aspect: ${ex.edited.aspect}`) : "");
    const gold = ex.label_changed ? `${ex.source.label} → ${ex.edited.label}` : ex.edited.label;
    const link = el("a", "compare-link", "compare");
    link.href = compareUrl(result.model.id, ex.source.inspect, ex.edited.inspect, at);
    link.title = `open the source and the variant side by side at layer ${at.layer}` + (at.heads ? `, head ${at.heads[0]}` : "");
    const open = el("td");
    open.append(link);
    tr.append(status, source, variant, el("td", null, gold || "–"), el("td", null, ex.source_prediction),
              el("td", null, ex.variant_prediction), open);
    if (i === 0) tr.dataset.first = "1";
    table.append(tr);
  });
}
