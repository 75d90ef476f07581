// The /analysis page's "Norm-based attention: [SEP] survival" panel: which attention the statistics read
// (settings.attention) and, for an analysis on norm-based attention, the share of each no-op head's [SEP]
// mass that remains under it (result.sep_survival; docs/concepts.md "Norm-based attention").

import { $, fact, fmt } from "./dom.js";

const pct = (v) => (v == null ? "–" : `${fmt(100 * v, 1)}%`);
const ci = (pair) => (pair ? `${pct(pair[0])}–${pct(pair[1])}` : "–");

function cell(row, text, header = false) {
  const c = document.createElement(header ? "th" : "td");
  c.textContent = text;
  row.append(c);
}

export function drawNormFacts(result) {
  const dl = $("norm-facts"), table = $("sep-survival-table"), section = result.sep_survival;
  const norm = (result.settings || {}).attention === "norm";
  dl.replaceChildren();
  table.replaceChildren();
  table.hidden = true;
  fact(dl, "statistics read", norm ? "norm-based attention, each row divided by its sum" : "the attention weights");
  if (!section) {
    fact(dl, "[SEP] survival", norm ? "needs ABSA pairs with the aspect absent and present" : "run the analysis with Attention: norm-based");
    return;
  }
  const topSep = section.selection === "top_sep";  // the heads with the most [SEP] attention, no no-op contrast
  const noop = section.heads.filter((h) => h.no_op !== false);  // results without the flag list no-op heads only
  if (topSep) fact(dl, "heads", section.labelled_by);
  else fact(dl, "no-op heads", `${noop.length ? noop.map((h) => `${h.layer}.${h.head}`).join(" ") : "none"} (${section.labelled_by})`);
  fact(dl, "pairs", `${section.pairs} (${section.absent} with the aspect absent)`);
  if (!section.heads.length) return;
  const head = document.createElement("tr");
  for (const name of ["head", "no-op contrast", "[SEP] mass, weights", "norm-based", "share kept (95% CI)", "aspect absent (95% CI)"]) cell(head, name, true);
  table.append(head);
  for (const h of section.heads) {
    const row = document.createElement("tr");
    cell(row, `${h.layer}.${h.head}${h.no_op === false ? "" : " (no-op)"}`);
    cell(row, h.noop_contrast ? `${fmt(100 * h.noop_contrast.score, 1)} pts` : "–");
    cell(row, pct(h.weights_sep_mass));
    cell(row, pct(h.norm_sep_mass));
    cell(row, `${pct(h.share)} (${ci(h.ci)})`);
    cell(row, `${pct(h.share_absent)} (${ci(h.ci_absent)})`);
    table.append(row);
  }
  table.hidden = false;
}
