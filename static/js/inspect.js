// Controller of the /inspect page: reads the view state from the URL, talks to
// POST /api/inspect, and drives the head view (canvas) and the model view
// (lazy-loaded module). Every state change is mirrored into the URL.

import { bindHeadToggles, headToggleButtons, nameHeadToggles } from "./head-toggles.js";
import { getModels, inspect } from "./api.js";
import { generations } from "./request.js";
import { readState, writeState } from "./state.js";
import { layerBytes, hasLayer, headColors, tokenMasks, pruneEdges } from "./attention.js";
import { HeadView } from "./headview.js";
import * as iv from "./intervene.js";
import * as errs from "./inspect-errors.js";
import { $, conceptLink, showError, fillConceptLinks } from "./dom.js";
import { showUntrained, trainedOn } from "./model-provenance.js";
import { fillAttributionChoices, fillTaskExample, fitFlow, markTokens } from "./inspect-fit.js";

const state = readState();
const startedWithText = !!state.text; // a shared URL: its input; otherwise the task's example
let models = [], limits = {};  // GET /api/models: the checkpoints, and the server's input limits
let current = null;                   // response shown now
const refreshes = generations();      // late answers of older requests are dropped
const cache = new Map();              // input key -> response; attention layers are merged in as they arrive
const pub = (window.headscope = { state, response: null, edgesDrawn: 0 });

const hv = new HeadView({
  left: $("tokens-left"), right: $("tokens-right"), canvas: $("headview-canvas"),
  legend: $("span-legend"), onPin: togglePin,
});

// The knock-out map loads on its button's first click (knockout-map.js).
let knockout = null;
const knockoutModule = () => (knockout ||= import("./knockout-map.js"));
// The faithfulness map too (faithfulness-panel.js): its erasures run only when asked.
let faithfulness = null;
const faithfulnessModule = () => (faithfulness ||= import("./faithfulness-panel.js"));

// Attribution (strips, agreement map) loads only once it is asked for: attribution-panel.js.
let attrModule = null;
const attribution = () => (attrModule ||= import("./attribution-panel.js"));

const modelInfo = (id) => models.find((m) => m.id === id);
const task = () => (modelInfo(state.model) || current || { task: "absa" }).task;
const range = (n) => Array.from({ length: n }, (_, i) => i);
const allLayers = (r) => !!r && range(r.num_layers).every((l) => hasLayer(r, l));

function setBusy(on) {
  $("run-button").disabled = on;
  document.body.dataset.busy = on ? "1" : "";
}

/** Show the aspect field for ABSA models, the entity-marker hint for RE. */
function applyTask() {
  const re = task() === "re", m = modelInfo(state.model);
  $("aspect-row").hidden = re;
  $("re-hint").hidden = !re;
  $("text-label").textContent = re ? "Sentence" : "Review";  // the field named as the task names its input
  showUntrained($("model-untrained"), m);
  $("prediction-untrained").hidden = !(m && m.untrained);
  fitPairFilter();
  $("model-info").textContent = m ? `${m.task} · ${m.format} · ${m.num_layers} layers × ${m.num_heads} heads` : "";
  $("model-trained").textContent = trainedOn(m);
  // its measured accuracy and F1 are defined one "?" away, as on /models
  if (m && m.metrics && (m.metrics.test || m.metrics.dev)) $("model-trained").append(" ", conceptLink("accuracy-and-f1-per-task"));
  fillTaskExample(re);
  fillAttributionChoices(m, re, state);
}

/** Put the state into the controls (after reading the URL or a thumbnail click). */
function syncControls() {
  fitPairFilter();
  $("hide-special").checked = state.hide_special;
  $("mass-slider").value = state.mass;
  $("mass-value").textContent = state.mass + "%";
  $("word-mode").checked = state.word;
  $("attention-kind").value = state.attn;
  $("attention-kind-note").hidden = state.attn !== "norm";
  for (const box of document.querySelectorAll("#attribution-controls input[name=attr]")) box.checked = state.attr.includes(box.value);
  $("ig-steps").value = state.ig_steps;
  if ($("layer-select").options.length) $("layer-select").value = state.layer;
  for (const b of document.querySelectorAll(".head-toggle")) {
    b.classList.toggle("off", !!state.heads && !state.heads.includes(+b.dataset.head));
  }
  nameHeadToggles(document.querySelectorAll("#head-swatches .head-toggle"), state.layer);
  iv.syncControls(state, task());
  $("tab-head").setAttribute("aria-selected", state.view === "head");
  $("tab-model").setAttribute("aria-selected", state.view === "model");
  $("headview-panel").hidden = state.view !== "head";
  $("modelview-panel").hidden = state.view !== "model";
}

/** A→B / B→A pairs exist only between two segments: one-segment input (RE) offers no pair filter. */
function fitPairFilter() {
  const shown = current && current.model === state.model ? current : null;
  const twoSegments = shown ? Object.keys(shown.segments || {}).length > 1 : task() !== "re";
  $("pair-filter-label").hidden = !twoSegments;
  if (!twoSegments) state.filter = "all";
  $("pair-filter").value = state.filter;
}

function fillSelect(sel, n, prefix, value) {
  sel.replaceChildren(...range(n).map((i) => new Option(prefix + i, i)));
  sel.value = value;
}

/** The request body of the current input (all layers unless `layers` is set on it). */
function inspectBody() {
  const intervene = iv.interventionFields(state);
  const body = { model: state.model, text: state.text, attention: "compact", word_level: state.word };
  if (task() !== "re") body.aspect = state.aspect;
  if (intervene) body.intervene = intervene;
  if (state.attn === "norm") body.attention_kind = "norm";
  return body;
}

/** Fetch (or reuse) the response for the current input, with at least `layers`
 *  (null = all layers). Missing layers are requested and merged into the cache. */
async function getResponse(layers, thumbnails = 0) {
  const absa = task() !== "re", intervene = iv.interventionFields(state);
  const key = JSON.stringify([state.model, state.text, absa ? state.aspect : "", state.word, intervene, state.attn]);
  const cached = cache.get(key);
  const thumbsThere = !thumbnails || (cached && cached.thumbnails && cached.thumbnails.asked === thumbnails);
  if (cached && thumbsThere && (layers ? layers.every((l) => hasLayer(cached, l)) : allLayers(cached))) return cached;
  const body = inspectBody();
  body.layers = layers || "all";  // with no layers the server sends a long input's leading layers only
  if (thumbnails && !thumbsThere) body.thumbnails = thumbnails;
  const fresh = await inspect(body);
  if (fresh.thumbnails) fresh.thumbnails.asked = thumbnails;
  if (cached) {
    Object.assign(cached.attention.layers, fresh.attention.layers);
    if (fresh.thumbnails) cached.thumbnails = fresh.thumbnails;
    return cached;
  }
  if (cache.size > 8) cache.delete(cache.keys().next().value);
  cache.set(key, fresh);
  return fresh;
}

/** Make sure the data the current view needs is there, then draw it. */
async function refresh() {
  const my = refreshes.start();
  const m = modelInfo(state.model);
  if (m) state.layer = Math.min(state.layer, m.num_layers - 1);
  writeState(state);
  syncControls();
  if (!state.text) return;
  // a factor that is not a number: said beside the control, and nothing is sent
  if (!iv.checkControls(state) && state.iv.length) return setBusy(false);
  if (knockout) (await knockout).inputChanged(inputKey());
  if (!refreshes.isNewest(my)) return;
  setBusy(true);
  errs.clearInputErrors();
  try {
    // head view: only the shown layer (page weight); model view: every head's max-pooled thumbnail (a few
    // kB a head, whatever the input's length) first, so that the grid shows and answers clicks while the
    // heatmap's full layer (H x T x T bytes, ~3.6 MB of base64 at 475 tokens) is on its way; never every layer
    const thumbs = state.view === "model" ? (await import("./modelview.js")).thumbSize() : 0;
    // an intervened inspection is not kept in the server's cache: its heatmap's layer comes with the thumbnails
    const withHeat = iv.interventionFields(state) ? [state.hm_layer ?? state.layer] : [];
    const resp = await getResponse(thumbs ? withHeat : [state.layer], thumbs);
    if (refreshes.isNewest(my)) errs.inspectionShown();
    if (state.attr.length || resp.attribution) {  // a refused method: said at its panel, unticked, the rest drawn
      const panel = await attribution();
      await panel.ensureAttribution(resp, state, task()).then(errs.attributionShown, (e) => {
        if (!errs.attributionFailed(e, state)) return;
        return panel.ensureAttribution(resp, state, task()).catch((again) => showError("attribution-controls", again.message));
      });
    }
    if (!refreshes.isNewest(my)) return;
    if (resp !== current) showResponse(resp);
    await render();
    const heatLayer = state.hm_layer;  // set by the model view (within the model's layers)
    if (thumbs && !hasLayer(resp, heatLayer) && refreshes.isNewest(my)) {
      await getResponse([heatLayer], thumbs);  // the same input: the server answers from its cache
      if (refreshes.isNewest(my) && resp === current) await render();
    }
  } catch (e) {
    if (refreshes.isNewest(my)) errs.inspectionFailed(e);  // beside its field; the previous input's views stale
  } finally {
    if (refreshes.isNewest(my)) setBusy(false);
  }
}

/** New response: prediction, truncation notice, layer and head controls. */
function showResponse(resp) {
  current = pub.response = resp;
  fitPairFilter();
  markTokens(resp, state);
  fitFlow(resp, state, limits);
  const probs = resp.prediction.probabilities || {};
  $("prediction").hidden = false;
  $("prediction-label").textContent = resp.prediction.label;
  iv.showOutcome($("intervention-outcome"), resp.intervention);
  $("prob-bars").replaceChildren(...Object.entries(probs).map(([label, p]) => {
    const row = document.createElement("div"), name = document.createElement("span");
    const bar = document.createElement("span"), fill = document.createElement("i"), val = document.createElement("span");
    row.className = "bar-row" + (label === resp.prediction.label ? " top" : "");
    name.textContent = label;
    bar.className = "bar";
    fill.style.width = (100 * p).toFixed(1) + "%";
    bar.append(fill);
    val.textContent = (100 * p).toFixed(1) + "%";
    row.append(name, bar, val);
    return row;
  }));
  const tr = resp.truncated;
  $("truncation-notice").hidden = !tr;
  $("truncation-notice").textContent = tr ? tr.message || "The input was truncated." : "";

  const H = resp.num_heads;
  state.layer = Math.min(state.layer, resp.num_layers - 1);
  state.heads = state.heads ? state.heads.filter((h) => h >= 0 && h < H) : range(H);
  if (state.token != null && !(state.token >= 0 && state.token < resp.tokens.length)) state.token = null;
  fillSelect($("layer-select"), resp.num_layers, "", state.layer);
  const colors = headColors(H);
  $("head-swatches").replaceChildren(...headToggleButtons(H, colors));
  hvTokens = null;
  syncControls();
}

async function render() {
  if (!current) return;
  const drawn = state.view === "head" ? renderHead() : await renderModel();
  if (attrModule) (await attribution()).drawAttribution(current, state, { pin: togglePin, pick: openHead, changed: () => writeState(state) });
  writeState(state);
  if (drawn) document.body.dataset.ready = "1";
}

// ---- head view ----
let hvTokens = null, pruneKey = null; // what the token columns / the edge set were built for

function renderHead() {
  const resp = current;
  if (!hasLayer(resp, state.layer)) return false;
  $("headview-empty").hidden = true;
  if (state.token != null && state.hide_special && resp.tokens[state.token].special) state.token = null;
  if (!hvTokens || hvTokens[0] !== resp || hvTokens[1] !== state.hide_special) {
    hv.setTokens(resp, state.hide_special);
    hvTokens = [resp, state.hide_special];
    pruneKey = null;
  }
  hv.setPinned(state.token == null ? null : { side: state.side, index: state.token });
  const key = [state.layer, state.heads, state.filter, state.mass].join("|");
  if (key !== pruneKey) {
    const masks = tokenMasks(resp.tokens, state.filter, state.hide_special);
    const edges = pruneEdges(layerBytes(resp, state.layer), resp.tokens.length, state.heads, masks, state.mass);
    hv.setEdges(edges, headColors(resp.num_heads));
    pruneKey = key;
  }
  pub.edgesDrawn = hv.draw();
  $("edge-count").textContent = hv.countText();
  return true;
}

function togglePin(side, index) {
  const same = state.token === index && state.side === side;
  state.token = same ? null : index;
  state.side = side;
  hv.setPinned(same ? null : { side, index });
  pub.edgesDrawn = hv.draw();
  writeState(state);
}

// ---- model view: its module (and plotly) load only when the tab is used ----
async function renderModel() {
  const mv = await import("./modelview.js");
  const drawn = mv.showModelView(current, state, modelHooks);
  iv.markModelView(state);
  return drawn;
}

const modelHooks = {
  pick: (layer, head) => pickHead(layer, head), pickLayer: (layer) => pickLayer(layer), changed: () => writeState(state),
  needLayer: () => refresh(), // another layer for the heatmap: fetched (once) and drawn
};

/** A thumbnail click: while picking, switch that head off (or on again), else open it. */
function pickHead(layer, head) {
  if (!iv.picking()) return openHead(layer, head);
  iv.togglePicked(state, layer, head);
  refresh();
}

/** A layer's row label while picking: all its heads off (or all on again). */
function pickLayer(layer) {
  if (!iv.picking() || !current) return;
  iv.toggleLayerPicked(state, layer, current.num_heads);
  refresh();
}

/** A thumbnail, agreement-map or faithfulness-map click: open that head in the head view. */
function openHead(layer, head) {
  Object.assign(state, { view: "head", layer, heads: [head], hm_layer: layer, hm_head: head });
  refresh();
}

/** The knock-out map's per-layer row: open that layer with all its heads. */
function openLayer(layer) {
  Object.assign(state, { view: "head", layer, heads: current ? range(current.num_heads) : null });
  refresh();
}

// ---- knock-out map: of the plain model, for the input shown (not the word mode or intervention) ----
const inputKey = () => JSON.stringify([state.model, state.text, task() === "re" ? "" : state.aspect]);

function knockoutBody(mode) {
  const body = { model: state.model, text: state.text, mode };
  if (task() !== "re") body.aspect = state.aspect;
  return body;
}

// ---- events ----
$("inspect-form").addEventListener("submit", (e) => {
  e.preventDefault();
  state.model = $("model-select").value;
  state.text = $("text-input").value;
  state.aspect = task() === "re" ? "" : $("aspect-input").value.trim();
  if (!state.text.trim()) return showError("text-input", "Please enter a text to inspect.");
  state.token = null; // new input: token indices change
  state.marks = {}; state.pin = ""; // and the marks belonged to the example that came in the URL
  refresh();
});
$("text-input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("run-button").click(); }
});
$("aspect-input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $("run-button").click(); }
});
$("model-select").addEventListener("change", (e) => {
  // Another model may have other layer/head counts: start from all heads.
  Object.assign(state, { model: e.target.value, heads: null, token: null, hm_layer: null, hm_head: null, attr_label: "" });
  applyTask();
  writeState(state);
});
$("tab-head").addEventListener("click", () => { state.view = "head"; refresh(); });
$("tab-model").addEventListener("click", () => { state.view = "model"; refresh(); });
$("layer-select").addEventListener("change", (e) => { state.layer = +e.target.value; refresh(); });
$("word-mode").addEventListener("change", (e) => { state.word = e.target.checked; state.token = null; refresh(); });
$("attention-kind").addEventListener("change", (e) => { state.attn = e.target.value; refresh(); });
errs.trackTicks($("attribution-controls"));
$("attribution-controls").addEventListener("change", async () => {
  (await attribution()).readControls(state);
  refresh();
});

// Purely client-side changes: no request, just prune and draw again. Discrete
// controls redraw at once (tests can read #edge-count right after); the slider's
// stream of input events is coalesced to one redraw per frame.
let raf = 0;
function redraw(coalesce) {
  syncControls();
  const go = () => { raf = 0; if (current && state.view === "head") renderHead(); writeState(state); };
  if (!coalesce) go();
  else if (!raf) raf = requestAnimationFrame(go);
}
$("pair-filter").addEventListener("change", (e) => { state.filter = e.target.value; redraw(); });
$("hide-special").addEventListener("change", (e) => { state.hide_special = e.target.checked; redraw(); });
$("mass-slider").addEventListener("input", (e) => { state.mass = +e.target.value; redraw(true); });
$("heads-all").addEventListener("click", () => { state.heads = range(current ? current.num_heads : 0); redraw(); });
$("heads-none").addEventListener("click", () => { state.heads = []; redraw(); });
iv.bindControls(state, refresh);
$("knockout-button").addEventListener("click", async () => {
  (await knockoutModule()).showKnockout({ state, body: knockoutBody, key: inputKey(), open: openHead, openLayer });
});
$("faith-button").addEventListener("click", async () => (await faithfulnessModule()).showFaithfulness({ open: openHead }));
// no head list (a model picked again over the same answer) is all heads: a click then turns one off
bindHeadToggles($("head-swatches"), () => state.heads || range(current ? current.num_heads : 0), (heads) => { state.heads = heads; redraw(); });
// Save as finding / PNG / SVG: their module loads on the first click (page weight);
// it gets the state and the response shown now.
// a model-view finding keeps every layer, which the model view itself no longer fetches
const findingCtx = { state, response: () => current, allLayers: () => getResponse(null), busy: () => document.body.dataset.busy === "1", headView: hv, onError: (e) => showError("error-box", e.message || String(e)) };
for (const id of ["save-finding-head", "save-finding-model", "download-png", "download-svg"]) {
  $(id).addEventListener("click", () => import("./findings-inspect.js").then((m) => m.act(id, findingCtx), findingCtx.onError));
}

// ---- start ----
async function init() {
  fillConceptLinks();
  syncControls();
  $("text-input").value = state.text;
  $("aspect-input").value = state.aspect;
  // what the first answer waits for, fetched side by side: the models, the references, the model view's modules
  const references = iv.loadReferences();
  if (state.view === "model") import("./modelview.js").catch(() => {});  // a failure is shown when it is used
  try {
    const data = await getModels();
    models = data.models || [];
    limits = data.limits || {};
    if (!state.model) state.model = (data.defaults && data.defaults.absa) || (models[0] && models[0].id) || "";
  } catch (e) {
    showError("error-box", e.message);
  }
  const opts = models.map((m) => new Option(`${m.id} (${m.task}, ${m.format})`, m.id));
  // An unknown id from a shared URL stays selectable so the server's 404 explains it.
  if (state.model && !modelInfo(state.model)) opts.push(new Option(state.model + " (unknown)", state.model));
  $("model-select").replaceChildren(...opts);
  $("model-select").value = state.model;
  applyTask();
  await references;
  syncControls();
  writeState(state);
  // the first screen shows an answer: a shared URL's input, or else the example filled in for the task
  if (!startedWithText) {
    state.text = $("text-input").value;
    state.aspect = task() === "re" ? "" : $("aspect-input").value.trim();
  }
  if (state.text.trim()) await refresh();
}
init();
