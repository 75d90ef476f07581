// "Save as finding" on /analysis: the selected head, its statistic and its most typical
// example become a finding (POST /api/findings, with the CSRF header when accounts are on).

import { createFinding } from "./findings-api.js";
import { shown, headAt, valueOf } from "./analysis-result.js";
import { typicalExamples } from "./typical-examples.js";
import { $, el, fmt, showError } from "./dom.js";
import { view, pub } from "./summary-state.js";

// Head labels of the analysis -> finding labels (docs/reference/findings-api.md); others are dropped.
const FINDING_LABELS = { "no-op": "noop", "cls-entity": "entity" };
const FINDING_LABEL_SET = new Set(["aspect", "aspect-sentiment", "opposite-aspect", "noop", "phrase", "entity", "other"]);

/** The finding body for the head shown now. */
export function summaryFindingBody() {
  const R = shown.result, h = headAt(view.layer, view.head);
  const top = typicalExamples(h, view.stat, 1)[0];
  const dataName = ((pub.job && pub.job.data) || {}).name || R.data.path;
  const input = top
    ? { text: top.example.inspect.text, aspect: top.example.inspect.aspect || null, example: { dataset: dataName, index: top.index } }
    : { text: R.data.path };
  const labels = [...new Set(h.labels.map((l) => FINDING_LABELS[l] || l).filter((l) => FINDING_LABEL_SET.has(l)))];
  return {
    title: `${R.model.id} head ${h.layer}.${h.head}: ${view.stat}` + (h.labels.length ? ` (${h.labels.join(", ")})` : ""),
    note: `Summary of analysis ${R.analysis_id} on ${dataName} (${R.data.pairs} pairs): ${view.stat} = ` +
          `${fmt(valueOf(h, view.stat, "score"))}.`,
    model: { id: R.model.id },
    input,
    view: { kind: "summary", layer: h.layer, head: h.head, heads: [[h.layer, h.head]], statistic: view.stat, analysis_id: R.analysis_id },
    labels,
  };
}

/** Save it; #finding-status then links to the new finding, a refusal goes to the error box. */
export async function saveFinding() {
  const status = $("finding-status");
  status.textContent = "saving…";
  try {
    const saved = await createFinding(summaryFindingBody());
    pub.lastFinding = saved;
    status.textContent = "";
    const link = el("a", null, `saved as finding ${saved && saved.id != null ? saved.id : ""}`.trim());
    link.href = saved && saved.id != null ? `/findings/${saved.id}` : "/findings";
    status.append(link);
  } catch (e) {
    status.textContent = "";
    showError("error-box", `Could not save the finding: ${e.message}`);
  }
}
