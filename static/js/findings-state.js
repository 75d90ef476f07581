// The inspect page's URL state (state.js) as a finding's `view` and `input`
// (docs/reference/findings-api.md). The way back, finding -> /inspect URL, is done by the
// server for the /f/<id> permalink (app/web/findings_pages.py: inspect_query).

const range = (n) => Array.from({ length: n }, (_, i) => i);

/** view for a finding saved from the head view ("head") or the model view ("model").
 *  `heads: null` in the URL means all heads; a finding names them explicitly. */
export function viewFromState(state, kind, numHeads) {
  const fromModel = kind === "model";
  // the model view shows one head's heatmap: saved as a [layer, head] pair (docs/reference/findings-api.md)
  const layer = fromModel ? (state.hm_layer ?? state.layer) : state.layer;
  const heads = fromModel ? [[layer, state.hm_head ?? 0]] : [...(state.heads ?? range(numHeads))];
  return {
    kind,
    layer,
    heads,
    filters: { pair: state.filter, hide_special: !!state.hide_special },
    threshold: state.mass / 100, // share of each query row's attention mass kept (the Mass slider)
    word_mode: !!state.word,
    token: state.token == null ? null : state.token,
    token_side: state.token == null ? null : state.side,
  };
}

/** input of a finding: what /api/inspect was given (RE: the text with its <e1>/<e2> tags) and, when
 *  heads were switched off, the answer's intervention (heads, mode, factor, before, after). */
export function inputFromState(state, task, resp) {
  const input = { text: state.text };
  if (task !== "re" && state.aspect) input.aspect = state.aspect;
  const iv = resp && resp.intervention;
  if (iv && iv.heads && iv.heads.length) {
    const { heads, mode, factor, before, after } = iv;
    input.intervention = { heads, mode, before, after };
    if (mode === "scale") input.intervention.factor = factor;
  }
  return input;
}

/** Head indices of view.layer: plain indices, or the heads of [layer, head] pairs in that layer. */
function headsOf(v, numHeads) {
  if (!Array.isArray(v.heads)) return range(numHeads);
  const hs = v.heads.map((h) => (Array.isArray(h) ? (h[0] === v.layer ? h[1] : null) : h));
  return hs.filter((h) => Number.isInteger(h) && h >= 0 && h < numHeads);
}

/** The finding's view state as a state.js-like object, for drawing a snapshot. */
export function stateFromView(view, numHeads) {
  let v = view || {};
  const f = v.filters || {};
  // a view naming [layer, head] pairs but no layer (summary pages) opens on its first pair's layer,
  // as the permalink does (findings_pages.py inspect_query)
  const firstPair = Array.isArray(v.heads) ? v.heads.find((h) => Array.isArray(h)) : null;
  if (!Number.isInteger(v.layer) && firstPair) v = { ...v, layer: firstPair[0] };
  const t = v.threshold;
  return {
    layer: Number.isInteger(v.layer) ? v.layer : 0,
    heads: headsOf(v, numHeads),
    filter: ["all", "ab", "ba", "aa", "bb"].includes(f.pair) ? f.pair : "all",
    hide_special: !!f.hide_special,
    // threshold is a 0..1 share; older/hand-written findings may give a percentage
    mass: typeof t === "number" ? Math.min(100, Math.max(1, Math.round(t <= 1 ? t * 100 : t))) : 70,
    token: Number.isInteger(v.token) ? v.token : null,
    side: v.token_side === "right" ? "right" : "left",
  };
}
