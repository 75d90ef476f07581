// The /analysis result as text: the ranked table of heads, the selected head's panel (facts,
// labels, typical examples), the statistic's support line, and the interpretability,
// ablation and fine-tune panels.

import { shown, entry, valueOf, rankedHeads, headAt, importanceOf } from "./analysis-result.js";
import { typicalCell, fillTypicalList } from "./typical-examples.js";
import { $, el, fmt, fact } from "./dom.js";
import { view } from "./summary-state.js";

const COLUMNS = ["#", "head", "score", "95% CI", "uniform", "positional", "pretrained", "importance", "fine-tune JS", "labels", "typical examples"];

/** Fill #ranked-table for view.stat; onPick(layer, head) when a row (not a link) is clicked. */
export function drawTable(onPick) {
  const stat = view.stat;
  const header = el("tr");
  for (const c of COLUMNS) header.append(el("th", null, c));
  const body = rankedHeads(stat).map(({ h, v }, rank) => {
    const e = entry(h, stat), b = (e && e.baselines) || {};
    const tr = el("tr");
    tr.dataset.layer = h.layer; tr.dataset.head = h.head;
    if (h.layer === view.layer && h.head === view.head) tr.className = "selected";
    const ci = e && e.ci ? `[${fmt(e.ci[0])}, ${fmt(e.ci[1])}]` : "–";
    const cells = [String(rank + 1), `${h.layer}.${h.head}`, fmt(v), ci, fmt(b.uniform),
                   b.positional != null ? `${fmt(b.positional)} (${b.positional_rule})` : "–", fmt(b.pretrained), fmt(importanceOf(h)),
                   h.finetune_change ? fmt(h.finetune_change.js, 4) : "–"];
    cells.forEach((c, i) => tr.append(el("td", i >= 2 && i <= 8 ? "num" : null, c)));
    const labels = el("td");
    for (const l of h.labels) labels.append(el("span", "tag", l));
    tr.append(labels, typicalCell(h, stat));
    tr.addEventListener("click", (ev) => { if (ev.target.tagName !== "A") onPick(h.layer, h.head); });
    return tr;
  });
  $("ranked-table").replaceChildren(header, ...body);
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
  $("head-title").textContent = `Layer ${h.layer}, head ${h.head}`;
  $("head-labels").replaceChildren(...(h.labels.length ? h.labels.map((l) => el("span", "tag", l)) : [el("span", "muted", "no label")]));
  const dl = $("head-facts");
  dl.replaceChildren();
  const e = entry(h, view.stat);
  fact(dl, view.stat, e ? `${fmt(e.score)}` + (e.ci ? `  95% CI [${fmt(e.ci[0])}, ${fmt(e.ci[1])}] · n = ${e.n ?? "–"}` : "") : "–");
  if (e && e.baselines) {
    const b = e.baselines;
    fact(dl, "baselines", `uniform ${fmt(b.uniform)} · positional ${fmt(b.positional)} (${b.positional_rule}) · pretrained ${fmt(b.pretrained)}`);
  }
  for (const [label, stats] of Object.entries(h.evidence || {})) fact(dl, `${label} because`, stats.join(", "));
  if (h.finetune_change) fact(dl, "fine-tune change", `JS ${fmt(h.finetune_change.js, 4)} [${fmt(h.finetune_change.ci[0], 4)}, ${fmt(h.finetune_change.ci[1], 4)}]`);
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
