// The /analysis result as text: the ranked table of heads, the selected head's panel (facts,
// labels, typical examples), the statistic's support line, and the interpretability,
// ablation and fine-tune panels.

import { shown, entry, valueOf, rankedHeads, headAt, importanceOf, minN } from "./analysis-result.js";
import { typicalCell, fillTypicalList } from "./typical-examples.js";
import { $, conceptLink, el, fmt, fact, headName, MISSING, MISSING_TITLE } from "./dom.js";
import { view } from "./summary-state.js";

const COLUMNS = ["#", "head", "score", "95% CI", "n", "uniform", "positional", "pretrained", "importance", "fine-tune JS", "labels", "typical examples"];
// the concept behind a column's heading (a "?" link to /concepts beside it)
const COLUMN_CONCEPTS = { score: "head-statistic", "95% CI": "bootstrap-ci", n: "minimum-n", uniform: "baseline", positional: "baseline",
  pretrained: "baseline", importance: "importance", "fine-tune JS": "fine-tune-change", labels: "head-label", "typical examples": "typical-examples" };
// labels with a concept of their own on /concepts
const LABEL_CONCEPTS = new Set(["no-op", "opposite-aspect"]);

function headingCell(name) {
  const th = el("th", null, name);
  if (COLUMN_CONCEPTS[name]) th.append(" ", conceptLink(COLUMN_CONCEPTS[name]));
  return th;
}

/** A head's labels as tags, each followed by its "?" where it has a concept of its own. */
function labelTags(labels) {
  return labels.flatMap((l) => (LABEL_CONCEPTS.has(l) ? [el("span", "tag", l), conceptLink(l), " "] : [el("span", "tag", l)]));
}

/** Fill #ranked-table for view.stat; onPick(layer, head) when a row (not a link) is clicked. */
export function drawTable(onPick) {
  const stat = view.stat;
  const header = el("tr");
  for (const c of COLUMNS) header.append(headingCell(c));
  const ranked = rankedHeads(stat), small = ranked.filter((r) => r.small).length;
  const body = ranked.map(({ h, v, small: greyed }, rank) => {
    const e = entry(h, stat), b = (e && e.baselines) || {};
    const tr = el("tr");
    tr.dataset.layer = h.layer; tr.dataset.head = h.head;
    if (h.layer === view.layer && h.head === view.head) tr.className = "selected";
    if (greyed) { tr.classList.add("small-n"); tr.title = `not ranked: n = ${e.n}, below the minimum n of ${minN()}`; }
    const ci = e && e.ci ? `[${fmt(e.ci[0])}, ${fmt(e.ci[1])}]` : "–";
    const cells = [greyed ? "–" : String(rank + 1), headName(h.layer, h.head), fmt(v), ci, e && e.n != null ? String(e.n) : "–", fmt(b.uniform),
                   b.positional != null ? `${fmt(b.positional)} (${b.positional_rule})` : "–", fmt(b.pretrained), fmt(importanceOf(h)),
                   h.finetune_change ? fmt(h.finetune_change.js, 4) : "–"];
    for (const [i, c] of cells.entries()) {
      const td = el("td", i >= 2 && i <= 9 ? "num" : null, c);
      if (c === MISSING) td.title = MISSING_TITLE;
      tr.append(td);
    }
    const labels = el("td");
    labels.append(...labelTags(h.labels));
    tr.append(labels, typicalCell(h, stat));
    tr.addEventListener("click", (ev) => { if (ev.target.tagName !== "A") onPick(h.layer, h.head); });
    return tr;
  });
  $("ranked-table").replaceChildren(header, ...body);
  const note = $("ranked-note");
  note.hidden = !small;
  note.replaceChildren(...(small ? [`greyed, not ranked: ${small} of ${ranked.length} heads rest on fewer than ${minN()} examples `
    + `(the minimum n, HEADSCOPE_MIN_N) for ${stat}, too few for their intervals to rank on `, conceptLink("minimum-n")] : []));
}

export function markSelectedRow() {
  for (const tr of $("ranked-table").querySelectorAll("tr[data-layer]")) {
    tr.classList.toggle("selected", +tr.dataset.layer === view.layer && +tr.dataset.head === view.head);
  }
}

/** The selected head's panel (#head-detail). */
export function drawHead() {
  const h = headAt(view.layer, view.head);
  if (!h) return;
  $("head-title").textContent = `Head ${h.layer}.${h.head} (layer ${h.layer}, head ${h.head})`;
  $("head-labels").replaceChildren(...(h.labels.length ? labelTags(h.labels) : [el("span", "muted", "no label")]), " ", conceptLink("head-label"));
  const dl = $("head-facts");
  dl.replaceChildren();
  const e = entry(h, view.stat);
  const score = e ? `${fmt(e.score)}` + (e.ci ? `  95% CI [${fmt(e.ci[0])}, ${fmt(e.ci[1])}] · n = ${e.n ?? "–"}` : "") : "–";
  fact(dl, view.stat, e && e.ci ? [score, " ", conceptLink("bootstrap-ci")] : score);
  if (e && e.n != null && e.n < minN()) {
    fact(dl, "not ranked", `n = ${e.n}, below the minimum n of ${minN()}: too few examples for the interval to rank on`, conceptLink("minimum-n"));
  }
  if (e && e.baselines) {
    const b = e.baselines;
    fact(dl, "baselines", `uniform ${fmt(b.uniform)} · positional ${fmt(b.positional)} (${b.positional_rule}) · pretrained ${fmt(b.pretrained)}`, conceptLink("baseline"));
  }
  for (const [label, stats] of Object.entries(h.evidence || {})) fact(dl, `${label} because`, stats.join(", "));
  // Above its baselines but no label: which rule, which number, how many examples (labels.no_label_reason).
  for (const s of Object.values(h.statistics || {})) if (s.no_label) fact(dl, "no label because", s.no_label, conceptLink("head-label"));
  const rule = shown.result.rule;
  if (rule) fact(dl, "labelling rule", `${rule.test}; best = ${rule.best}; absolute margin ${rule.absolute_margin}, relative margin ${rule.relative_margin}; at least ${rule.min_examples} examples`, conceptLink("head-label"));
  if (h.finetune_change) {
    const ft = h.finetune_change;
    fact(dl, "fine-tune change", `JS ${fmt(ft.js, 4)} [${fmt(ft.ci[0], 4)}, ${fmt(ft.ci[1], 4)}] · n = ${ft.n}`, conceptLink("fine-tune-change"));
  }
  if (shown.result.importance) fact(dl, "importance", fmt(importanceOf(h)));
  fillTypicalList($("typical-list"), h, view.stat);
  $("finding-status").textContent = "";
}

/** #stat-support: how many examples back the statistic's label family, and where they come from. */
export function drawSupport() {
  const R = shown.result;
  const family = Object.entries(R.support || {}).find(([label]) => ((R.rule.labels || {})[label] || []).includes(view.stat));
  $("stat-support").textContent = family ? `${family[0]}: ${family[1].examples} examples, ${family[1].source}` : "";
}

export function drawPanels() {
  const R = shown.result, it = R.interpretability, dl = $("interpretability");
  dl.replaceChildren();
  fact(dl, "rate", `${fmt(it.rate)} (${it.examples} examples, top-${it.k}, gold: ${it.gold})`);
  fact(dl, "random", fmt(it.random));
  fact(dl, "pretrained", fmt(it.pretrained));
  if (it.best_head) fact(dl, "best single head", `${it.best_head.layer}.${it.best_head.head}: ${fmt(it.best_head.rate)}`);
  if (it.pretrained_best_head) fact(dl, "pretrained best head", `${it.pretrained_best_head.layer}.${it.pretrained_best_head.head}: ${fmt(it.pretrained_best_head.rate)}`);
  const adl = $("ablation");
  adl.replaceChildren();
  // Older results have only `ablation`; newer ones list every ablated label under `ablations`.
  const ablations = Object.values(R.ablations || (R.ablation ? { [R.ablation.label]: R.ablation } : {}));
  for (const ab of ablations) {
    fact(adl, `${ab.label} heads masked`, `${ab.heads.length}: ${ab.heads.map(([l, h]) => `${l}.${h}`).join(" ")}`);
    fact(adl, "accuracy", `${fmt(ab.accuracy)} → ${fmt(ab.masked)} (drop ${fmt(ab.drop)})`);
    fact(adl, "random heads", `${fmt(ab.random.mean)} (drop ${fmt(ab.random_drop)}, ${ab.draws} draws)`);
    fact(adl, "examples", String(ab.examples));
  }
  if (!ablations.length) fact(adl, "not computed", (R.not_computed && R.not_computed.ablation) || "–");
  if (R.importance) fact(adl, "importance", `${R.importance.examples} examples, ${R.importance.normalised}`);
  const ft = R.finetune_change, fdl = $("finetune");
  fdl.replaceChildren();
  if (ft) {
    const ranked = shown.byHead.filter((h) => h.finetune_change && h.finetune_change.js != null)
      .sort((a, b) => b.finetune_change.js - a.finetune_change.js);
    const mean = ranked.reduce((s, h) => s + h.finetune_change.js, 0) / Math.max(1, ranked.length);
    fact(fdl, "mean JS", fmt(mean, 4));
    fact(fdl, "most changed", ranked.slice(0, 5).map((h) => `${h.layer}.${h.head} (${fmt(h.finetune_change.js, 3)})`).join(" "));
    fact(fdl, "examples", String(ft.examples));
  } else {
    fact(fdl, "not computed", "pretrained baseline off");
  }
}
