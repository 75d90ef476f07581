// Controller of the /compare page: two inputs, or one input on two checkpoints (or on a checkpoint
// and its pretrained base), side by side at the same layer and heads. It asks POST /api/compare
// for both inspections, the token alignment and the per-head change (docs/reference/api.md), draws two head
// views with the head view's own painter (headview.js), underlines the tokens the sides do not
// share, and shows the change per head (compare-bars.js). State lives in the URL (compare-state.js);
// a URL without a layer opens at the layer and head whose attention moved most (openAtChange).

import { bindHeadToggles, headToggleButtons, toggled } from "./head-toggles.js";
import { getModels, request } from "./api.js";
import { layerBytes, hasLayer, headColors, tokenMasks, pruneEdges } from "./attention.js";
import { HeadView } from "./headview.js";
import { readState, writeState } from "./compare-state.js";
import { drawBars, drawGrid, GRID_UNIT } from "./compare-bars.js";
import { $, fmt, showError, clearError, markStale, clearStale, fillConceptLinks } from "./dom.js";
import { bindPatching, inputsChanged } from "./patching-map.js";
import { untrainedWarning } from "./model-provenance.js";
import { exportButtons, captionLines } from "./export-image.js";
import { headViewSVG } from "./svg-headview.js";
import { barsSVG, boxesSVG, tableSVG } from "./svg-figures.js";

const range = (n) => Array.from({ length: n }, (_, i) => i);
const SIDES = ["left", "right"];

const state = readState();
let models = [];
let current = null;  // the /api/compare answer shown now (layers merged in as they arrive)
let seq = 0;         // request generation: late answers of older requests are dropped
const pub = (window.headscope = { state, response: null, edgesDrawn: { left: 0, right: 0 }, lastFinding: null });

const views = Object.fromEntries(SIDES.map((side) => [side, new HeadView({
  left: $(`${side}-tokens-left`), right: $(`${side}-tokens-right`), canvas: $(`${side}-canvas`),
  legend: $(`${side}-legend`), onPin: (s, i) => togglePin(side, s, i),
})]));
const pinned = { left: null, right: null };

const modelInfo = (id) => models.find((m) => m.id === id);

function setBusy(on) {
  $("compare-button").disabled = on;
  document.body.dataset.busy = on ? "1" : "";
}

/** The aspect fields only for ABSA models; the entity hint for RE. */
function applyTask() {
  const left = modelInfo($("left-model").value), right = modelInfo($("right-model").value);
  document.querySelector(".left-aspect-row").hidden = !!left && left.task !== "absa";
  document.querySelector(".right-aspect-row").hidden = !!right && right.task !== "absa";
  $("re-hint").hidden = ![left, right].some((m) => m && m.task === "re");
  // an untrained checkpoint's predictions are marked as such (GET /api/models' `untrained`)
  const warnings = [...new Set([left, right])].filter((m) => m && m.untrained).map((m) => `${m.id}: ${untrainedWarning(m)}`);
  $("compare-untrained").textContent = warnings.join(" ");
  $("compare-untrained").hidden = !warnings.length;
}

function fillForm() {
  const opts = () => models.map((m) => new Option(`${m.id} (${m.task}, ${m.format}${m.untrained ? ", untrained" : ""})`, m.id));
  $("left-model").replaceChildren(...opts());
  $("right-model").replaceChildren(...opts());
  for (const [sel, id] of [[$("left-model"), state.model], [$("right-model"), state.right_model || state.model]]) {
    if (id && !modelInfo(id)) sel.append(new Option(id + " (unknown)", id)); // the server's 404 explains it
    if (id) sel.value = id;
  }
  $("left-text").value = state.text;
  $("right-text").value = state.right_text || state.text;
  $("left-aspect").value = state.aspect;
  $("right-aspect").value = state.right_aspect || state.aspect;
  $("left-pretrained").checked = state.left_pretrained;
  $("right-pretrained").checked = state.right_pretrained;
  $("mass-slider").value = state.mass;
  $("mass-value").textContent = state.mass + "%";
  $("grid-query").value = state.query;
  applyTask();
}

function readForm() {
  Object.assign(state, {
    model: $("left-model").value, text: $("left-text").value, aspect: $("left-aspect").value.trim(),
    left_pretrained: $("left-pretrained").checked,
    right_model: $("right-model").value, right_text: $("right-text").value, right_aspect: $("right-aspect").value.trim(),
    right_pretrained: $("right-pretrained").checked,
  });
}

function sideBody(model, text, aspect, pretrained) {
  const body = { model, text, pretrained };
  const m = modelInfo(model);
  if (aspect && (!m || m.task === "absa")) body.aspect = aspect;
  return body;
}

const inputKey = () => JSON.stringify([state.model, state.text, state.aspect, state.left_pretrained,
  state.right_model, state.right_text, state.right_aspect, state.right_pretrained]);
let shownKey = null;

/** The answer for the current inputs with `layer` in it: asked for when missing (the server keeps
 *  recent inspections, so another layer costs no forward pass). */
async function getResponse(layer) {
  const key = inputKey();
  if (current && shownKey === key && SIDES.every((s) => hasLayer(current[s], layer))) return current;
  const body = { ...sidesBody(), layers: [layer] };
  const fresh = await request("/api/compare", { method: "POST", body });
  if (current && shownKey === key) {
    for (const s of SIDES) Object.assign(current[s].attention.layers, fresh[s].attention.layers);
    return current;
  }
  shownKey = key;
  return fresh;
}

async function refresh() {
  const my = ++seq;
  writeState(state);
  inputsChanged(inputKey());
  if (!state.text.trim()) return;
  setBusy(true);
  clearError("error-box");
  try {
    const first = await getResponse(state.layer ?? 0);
    if (my !== seq) return;
    const opened = state.layer == null ? openAtChange(first) : null;
    if (first !== current) showResponse(first);
    if (!hasLayer(current.left, state.layer)) await getResponse(state.layer);  // merged into current
    if (my !== seq) return;
    clearStale("compare-result");
    showOpenedAt(opened);
    render();
  } catch (e) {
    if (my !== seq) return;
    showError("error-box", e.message);
    if (current) markStale("compare-result", "stale: this compares the previous inputs, not the ones above");
  } finally {
    if (my === seq) setBusy(false);
  }
}

/** No layer asked for: the layer and head whose attention moved most (the answer's `top`, in the grid's
 *  query set, else the other), that head alone shown unless the URL named heads; null when nothing moved. */
function openAtChange(resp) {
  const tops = resp.top || {}, best = [state.query, "focus", "cls"].map((q) => [q, (tops[q] || [])[0]])
    .find(([, t]) => t && t.change > 0);
  state.layer = best ? best[1].layer : 0;
  if (!best) return null;
  if (!state.heads) state.heads = [best[1].head];
  return { query: best[0], ...best[1] };
}

let openedAt = null;  // where openAtChange opened the page: its note shows while that layer does

/** Say where the page opened and why (render hides it at another layer; a new answer drops it). */
function showOpenedAt(opened) {
  const note = $("opened-at");
  if (!opened) return;
  openedAt = opened;
  const names = { focus: "the focus queries", cls: "[CLS]" };
  note.textContent = `Opened at head ${opened.layer}.${opened.head} (layer ${opened.layer}, head ${opened.head}): the head whose attention moved most ` +
    `(JS divergence ${fmt(opened.change)} for ${names[opened.query] || opened.query}). Pick any layer or head to look elsewhere.`;
}

/** A new answer: predictions, layer and head controls, the all-layers grid. */
function showResponse(resp) {
  current = pub.response = resp;
  openedAt = null;
  const L = resp.left, H = L.num_heads;
  state.layer = Math.min(state.layer, Math.min(L.num_layers, resp.right.num_layers) - 1);
  state.heads = state.heads ? state.heads.filter((h) => h >= 0 && h < H) : range(H);
  for (const side of SIDES) {
    const r = resp[side];
    $(`${side}-title`).textContent = `${r.model}${r.pretrained ? " (pretrained base)" : ""} · ${r.task}`;
    const p = r.prediction, prob = (p.probabilities || {})[p.label];
    $(`${side}-prediction`).replaceChildren("Prediction: ", Object.assign(document.createElement("strong"), { textContent: p.label }),
      prob != null ? ` (${(100 * prob).toFixed(1)}%)` : "");
    pinned[side] = null;
  }
  $("layer-select").replaceChildren(...range(Math.min(L.num_layers, resp.right.num_layers)).map((l) => new Option(String(l), l)));
  $("layer-select").value = state.layer; // new options must not show layer 0 while the state's layer is fetched
  const colors = headColors(H);
  $("head-swatches").replaceChildren(...headToggleButtons(H, colors));
  $("change-note").hidden = !resp.change_note;
  $("change-note").textContent = resp.change_note || "";
  drawnTokens = null;
  $("compare-result").hidden = false;
}

let drawnTokens = null, pruneKey = null; // what the token columns / edge sets were built for

/** Both head views, the bars and the grid, for the state shown now. */
function render() {
  const resp = current;
  if (!resp || !SIDES.every((s) => hasLayer(resp[s], state.layer))) return;
  const colors = headColors(resp.left.num_heads);
  $("layer-select").value = state.layer;
  for (const b of document.querySelectorAll(".head-toggle")) b.classList.toggle("off", !state.heads.includes(+b.dataset.head));
  if (drawnTokens !== resp) {
    for (const side of SIDES) {
      views[side].setTokens(resp[side], false);
      markEdited(side, resp);
    }
    drawnTokens = resp;
    pruneKey = null;
  }
  const key = [state.layer, state.heads, state.mass].join("|");
  if (key !== pruneKey) {
    for (const side of SIDES) {
      const r = resp[side], masks = tokenMasks(r.tokens, "all", false);
      views[side].setEdges(pruneEdges(layerBytes(r, state.layer), r.tokens.length, state.heads, masks, state.mass), colors);
    }
    pruneKey = key;
  }
  for (const side of SIDES) {
    views[side].setPinned(pinned[side]);
    pub.edgesDrawn[side] = views[side].draw();
    $(`${side}-edge-count`).textContent = views[side].countText();
  }
  $("bars-layer").textContent = state.layer;
  $("opened-at").hidden = !openedAt || openedAt.layer !== state.layer;
  drawBars($("change-bars"), resp.change, state.layer, { selected: state.heads, colors, onToggle: toggleHead });
  drawGrid($("change-grid"), resp.change && resp.change[state.query], { layer: state.layer, onPick: openHead });
  writeState(state);
  document.body.dataset.ready = "1";
}

/** Underline the tokens the other side does not share, in both columns, and say so in the legend. */
function markEdited(side, resp) {
  const edited = new Set(resp.alignment.edited[side]), hv = views[side];
  for (const col of ["left", "right"]) {
    hv.spans[col].forEach((el, i) => { if (el) el.classList.toggle("edited", edited.has(i)); });
  }
  if (edited.size) {
    const item = document.createElement("span"), sw = document.createElement("i");
    sw.className = "edited";
    item.className = "edited-legend";
    item.append(sw, document.createTextNode(`not in the other side (${edited.size})`));
    $(`${side}-legend`).append(item);
  }
}

function togglePin(side, col, index) {
  const p = pinned[side], same = p && p.side === col && p.index === index;
  pinned[side] = same ? null : { side: col, index };
  views[side].setPinned(pinned[side]);
  pub.edgesDrawn[side] = views[side].draw();
}

function toggleHead(h) {
  state.heads = toggled(state.heads, h);
  render();
}

function openHead(layer, head) {
  state.layer = layer;
  state.heads = [head];
  refresh();
}

// ---- events ----
$("compare-form").addEventListener("submit", (e) => {
  e.preventDefault();
  readForm();
  if (!state.text.trim()) return showError("error-box", "Please enter the left text.");
  if (sameRunBothSides()) {  // every head would change by 0
    return showError("error-box", "Both sides would be the same run: enter another right text (the variant), or " +
      "pick another model or the pretrained base on the right to compare two models on one text.");
  }
  refresh();
});

/** Whether the right side runs what the left does: the same text (an empty right text is the left's), model, base
 *  flag and aspect. */
function sameRunBothSides() {
  const rightText = state.right_text.trim() ? state.right_text : state.text;
  return rightText === state.text && (state.right_model || state.model) === state.model &&
    state.right_pretrained === state.left_pretrained && (state.right_aspect || state.aspect) === state.aspect;
}
for (const id of ["left-model", "right-model"]) {
  $(id).addEventListener("change", () => {
    if (id === "left-model" && !$("right-model").dataset.touched) $("right-model").value = $("left-model").value;
    if (id === "right-model") $("right-model").dataset.touched = "1";
    applyTask();
  });
}
$("layer-select").addEventListener("change", (e) => { state.layer = +e.target.value; refresh(); });
$("heads-all").addEventListener("click", () => { state.heads = range(current ? current.left.num_heads : 0); render(); });
$("heads-none").addEventListener("click", () => { state.heads = []; render(); });
bindHeadToggles($("head-swatches"), () => state.heads, (heads) => { state.heads = heads; render(); });
let raf = 0;
$("mass-slider").addEventListener("input", (e) => {
  state.mass = +e.target.value;
  $("mass-value").textContent = state.mass + "%";
  if (!raf) raf = requestAnimationFrame(() => { raf = 0; render(); });
});
$("grid-query").addEventListener("change", (e) => { state.query = e.target.value; render(); });
$("save-finding").addEventListener("click", async () => {
  if (!current || document.body.dataset.busy === "1") return showError("error-box", "Compare two inputs (and wait for them) before saving a finding.");
  try {
    const { saveCompareFinding } = await import("./compare-finding.js");
    await saveCompareFinding(state, current, $("finding-saved"));
  } catch (e) { showError("error-box", e.message); }
});

/** The two sides of the inputs shown (the last compared), as POST /api/compare takes them. */
function sidesBody() {
  return {
    left: sideBody(state.model, state.text, state.aspect, state.left_pretrained),
    right: sideBody(state.right_model || state.model, state.right_text || state.text,
                    state.right_aspect || state.aspect, state.right_pretrained),
  };
}
bindPatching({ body: sidesBody, key: inputKey, open: openHead });

// ---- downloads: each view as a PNG (2x) or SVG with a caption (models, inputs, layer, heads, unit) ----
const QUERY_WORDS = { focus: "focus queries (aspect / entities)", cls: "[CLS]" };
const sideWords = (side) => {
  const r = current[side];
  return `${r.model}${r.pretrained ? " (pretrained base)" : ""}`;
};
const inputOf = (side) => {
  const b = sidesBody()[side];
  return b.text + (b.aspect ? `  | aspect: ${b.aspect}` : "");
};
const bothModels = () => `${sideWords("left")} (left) vs ${sideWords("right")} (right)`;
const bothInputs = () => `${inputOf("left")}  →  ${inputOf("right")}`;
const shownHeads = () => (state.heads.length === current.left.num_heads ? "all" : state.heads.map((h) => `${state.layer}.${h}`).join(", ") || "none");
const exportError = (e) => showError("error-box", e.message);
const stemOf = (what) => `headscope-compare-${current.left.model}-${what}`;
exportButtons($("change-bars"), {
  id: "change-bars-export", name: () => stemOf(`layer${state.layer}-change`), onError: exportError,
  caption: () => captionLines({ model: bothModels(), input: bothInputs(), layer: state.layer, heads: shownHeads(),
    unit: "Jensen–Shannon divergence of the query tokens' attention over the shared tokens (0 = same, 1 = disjoint)" }),
  svg: () => barsSVG($("change-bars")),
});
exportButtons($("change-grid"), {
  id: "change-grid-export", name: () => stemOf(`all-layers-${state.query}-change`), onError: exportError,
  caption: () => captionLines({ model: bothModels(), input: bothInputs(), view: "layers × heads",
    query: QUERY_WORDS[state.query] || state.query, unit: GRID_UNIT }),
  svg: () => tableSVG($("change-grid")),
});
const DIRECTION_WORDS = { denoise: "denoise: the right (corrupted) run, one head from the left (clean) run",
  noise: "noise: the left (clean) run, one head from the right (corrupted) run" };
exportButtons($("patch-heads"), {
  id: "patch-heads-export", name: () => stemOf(`patching-${$("patching").dataset.direction}`), onError: exportError,
  caption: () => captionLines({ model: bothModels(), input: bothInputs(), view: "activation patching, layers × heads",
    direction: DIRECTION_WORDS[$("patching").dataset.direction] || $("patching").dataset.direction,
    unit: "restored fraction of the logit difference (1 = the clean run's, 0 = the corrupted run's)" }),
  svg: () => boxesSVG($("patch-heads")),
});
exportButtons($("patch-residual"), {
  id: "patch-residual-export", name: () => stemOf(`patching-residual-${$("patching").dataset.direction}`), onError: exportError,
  caption: () => captionLines({ model: bothModels(), input: bothInputs(), view: "activation patching, residual stream × aligned tokens",
    direction: (DIRECTION_WORDS[$("patching").dataset.direction] || $("patching").dataset.direction).replace("one head", "one residual point"),
    unit: "restored fraction of the logit difference (1 = the clean run's, 0 = the corrupted run's)" }),
  svg: () => boxesSVG($("patch-residual")),
});
for (const side of SIDES) {
  exportButtons($(`${side}-panel`).querySelector(".hv-scroll"), {
    id: `${side}-headview-export`, name: () => stemOf(`${side}-layer${state.layer}`), onError: exportError,
    caption: () => captionLines({ model: sideWords(side), input: inputOf(side), side, layer: state.layer, heads: shownHeads(),
      mass: `${state.mass}% of each query's attention drawn` }),
    svg: () => headViewSVG(views[side], `${side}: ${sideWords(side)}, layer ${state.layer}`),
  });
}

async function init() {
  fillConceptLinks(); // the template's "?" links to /concepts
  try {
    const data = await getModels();
    models = data.models || [];
    if (!state.model) state.model = (data.defaults && data.defaults.absa) || (models[0] && models[0].id) || "";
  } catch (e) {
    showError("error-box", e.message);
  }
  if (state.right_model && state.right_model !== state.model) $("right-model").dataset.touched = "1";
  fillForm();
  writeState(state);
  if (state.text) await refresh();
  else document.body.dataset.ready = "1";
}
init();
