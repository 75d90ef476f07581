// The /analysis page's "Plausibility vs faithfulness" panel: per source the comprehensiveness and sufficiency
// AOPC with 95% CIs against the random ranking, the heads whose attention is faithful (beat random on both)
// with their plausibility (top-3 gold opinion hits) beside, how many heads are one, the other or both, and
// source against source on the same pairs (each against random, the best head against the others: the paired
// differences with their 95% bootstrap CIs) (result.faithfulness, docs/concepts.md "Faithfulness").

import { $, el, fact, fmt } from "./dom.js";

const ci = (x) => `${fmt(x.mean, 4)} [${fmt(x.low, 4)}, ${fmt(x.high, 4)}]`;

export function drawFaithfulnessFacts(result) {
  const dl = $("faithfulness-facts"), table = $("faithful-heads"), section = result.faithfulness;
  dl.replaceChildren();
  table.replaceChildren();
  table.hidden = true;
  drawPaired(section);
  if (!section) {
    fact(dl, "not computed", "faithfulness pairs 0 (off): set it in the form, or headscope analyze --faithfulness-limit N");
    return;
  }
  const s = section.settings;
  fact(dl, "erasure", `${s.erasure}, k = ${s.k_percents.join(", ")}% of the erasable tokens, ${section.pairs} pairs, ${fmt(section.pairs_per_s, 2)} pairs/s`);
  const scored = section.source_pairs || {};
  for (const [name, figures] of Object.entries(section.sources)) {
    const vs = figures.aopc_comprehensiveness_vs_random;
    const fewer = scored[name] != null && scored[name] !== section.pairs ? ` (${scored[name]} pairs)` : "";
    fact(dl, name, `compr. ${ci(figures.aopc_comprehensiveness)} · suff. ${ci(figures.aopc_sufficiency)}` +
      (vs ? ` · compr. − random ${ci(vs)}` : "") + fewer);
  }
  if (section.disagreement && Object.keys(section.disagreement).length) {
    const d = section.disagreement;
    fact(dl, "heads", `${d.faithful} faithful, ${d.plausible} plausible (above the median), ${d.both} both, ` +
      `${d.faithful_only} faithful only, ${d.plausible_only} plausible only`);
  }
  fact(dl, "faithful heads", section.faithful.length ? "" : "none beat random on both (95% CI)");
  if (!section.faithful.length) return;
  table.append(Object.assign(document.createElement("tr"), { innerHTML: "<th>head</th><th>compr. − random</th><th>suff. − random</th><th>plausibility</th>" }));
  for (const h of section.faithful) {
    const row = document.createElement("tr");
    row.dataset.layer = h.layer;
    row.dataset.head = h.head;
    for (const text of [`${h.layer}.${h.head}`, fmt(h.comprehensiveness_vs_random, 4), fmt(h.sufficiency_vs_random, 4),
      h.plausibility == null ? "–" : fmt(h.plausibility, 3)]) row.append(Object.assign(document.createElement("td"), { textContent: text }));
    table.append(row);
  }
  table.hidden = false;
}

/** The paired differences (section.paired): figure, first − second, pairs, mean [95% CI], the more faithful side. */
function drawPaired(section) {
  const table = $("faith-paired");
  table.replaceChildren();
  table.hidden = !(section && section.paired && section.paired.length);
  if (table.hidden) return;
  const head = document.createElement("tr");
  for (const text of ["figure", "first − second", "pairs", "mean [95% CI]", "more faithful"]) head.append(el("th", null, text));
  table.append(head);
  for (const d of section.paired) {
    const row = document.createElement("tr");
    row.dataset.first = d.first;
    row.dataset.second = d.second;
    row.dataset.figure = d.figure;
    for (const text of [d.figure.replace("aopc_", ""), `${d.first} − ${d.second}`, String(d.pairs), ci(d),
      d.more_faithful || "neither (CI spans 0)"]) row.append(el("td", null, text));
    table.append(row);
  }
}
