// The analysis result shown on /analysis and how to read it: per-head entries of a statistic
// (real ones, plus the virtual "finetune_js" and "importance"), value kinds (score, CI margin
// over the best baseline, pretrained baseline) and layers × heads grids.

export const VIRTUAL = { finetune_js: "fine-tune change (JS divergence)", importance: "head importance" };

/** The result shown now: `result` is the server's JSON, `byHead[layer * H + head]` its heads. */
export const shown = { result: null, byHead: [] };

export function setResult(result) {
  const H = result.model.num_heads;
  shown.result = result;
  shown.byHead = [];
  for (const h of result.heads) shown.byHead[h.layer * H + h.head] = h;
}

export const headAt = (layer, head) => shown.byHead[layer * shown.result.model.num_heads + head];

export function statNames(result) {
  const names = [...result.statistics];
  if (result.finetune_change) names.push("finetune_js");
  if (result.importance) names.push("importance");
  return names;
}

/** {score, ci, typical, n?, baselines?} of one head for a statistic, or null. */
export function entry(h, stat) {
  const R = shown.result;
  if (stat === "finetune_js") return h.finetune_change ? { score: h.finetune_change.js, ci: h.finetune_change.ci, n: h.finetune_change.n, typical: h.finetune_change.typical } : null;
  if (stat === "importance") return R.importance ? { score: R.importance.scores[h.layer][h.head], ci: null, typical: [] } : null;
  return h.statistics[stat] || null;
}

function bestBaseline(e) {
  const b = e && e.baselines;
  if (!b) return null;
  const vals = [b.uniform, b.positional, b.pretrained].filter((v) => v != null);
  return vals.length ? Math.max(...vals) : null;
}

/** kind: "score", "margin" (CI low − best baseline) or "pretrained" (the pretrained baseline). */
export function valueOf(h, stat, kind) {
  const e = entry(h, stat);
  if (!e) return null;
  if (kind === "margin" && e.ci) { const b = bestBaseline(e); return e.ci[0] == null || b == null ? null : e.ci[0] - b; }
  if (kind === "pretrained") return e.baselines ? e.baselines.pretrained : null;
  return e.score;
}

export function grid(stat, kind) {
  const R = shown.result, L = R.model.num_layers, H = R.model.num_heads;
  return Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => valueOf(shown.byHead[l * H + h], stat, kind)));
}

/** The server's minimum n (HEADSCOPE_MIN_N, docs/concepts.md#minimum-n): below it a statistic is greyed, not ranked. */
export const minN = () => shown.result.min_n || 1;

/** Whether the head's statistic rests on fewer examples than the minimum n (its interval too few to rank on). */
export function belowMinN(h, stat) {
  const e = entry(h, stat);
  return !!e && e.n != null && e.n < minN();
}

/** Every head, best score first (heads without a value last); heads below the minimum n after all ranked ones. */
export const rankedHeads = (stat) => shown.byHead.map((h) => ({ h, v: valueOf(h, stat, "score"), small: belowMinN(h, stat) }))
  .sort((a, b) => (a.small - b.small) || (b.v ?? -Infinity) - (a.v ?? -Infinity));

export const importanceOf = (h) => (shown.result.importance ? shown.result.importance.scores[h.layer][h.head] : null);
