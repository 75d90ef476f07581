// Model view: a layers x heads grid of tiny attention-matrix images, plus one head's token x token
// heatmap on a canvas (token-heatmap.js). Imported lazily (only when the tab is opened). The grid is
// painted from the server's max-pooled thumbnails (inspect.js asks for them and the heatmap's layer
// only, so a long input does not ship every layer's T x T bytes), or from full layers where a
// response has no thumbnails (a saved finding's snapshot).

import { layerBytes, thumbBytes } from "./attention.js";
import { drawTokenHeatmap, tokenHeatmapSVG } from "./token-heatmap.js";
import { scaleControl, scaleWords } from "./heatmap-scale.js";
import { exportButtons, captionLines } from "./export-image.js";
import { $, headName } from "./dom.js";

const THUMB = 42; // css px inside a .thumb's border (44px, border-box)
/** Paint one head's T x T matrix into a canvas of at most `size` px a side (CSS scales
 *  it to the thumbnail). Up to `size` tokens each cell is one pixel; beyond, each pixel
 *  is the strongest cell of its block (max-pooling), so that a sharp one-cell pattern
 *  (previous token, [SEP]) stays visible instead of falling between sampled rows. */
export function paintThumb(canvas, bytes, head, T, size = T) {
  const S = Math.max(1, Math.min(T, size)), base = head * T * T;
  canvas.width = canvas.height = S;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(S, S), px = img.data;
  const cellOf = new Uint16Array(T); // token -> pixel row/column
  for (let i = 0; i < T; i++) cellOf[i] = Math.floor((i * S) / T);
  const pooled = new Uint8Array(S * S);
  for (let q = 0; q < T; q++) {
    const row = cellOf[q] * S, from = base + q * T;
    for (let k = 0; k < T; k++) {
      const v = bytes[from + k], o = row + cellOf[k];
      if (v > pooled[o]) pooled[o] = v;
    }
  }
  for (let c = 0; c < S * S; c++) {
    // sqrt so that diffuse heads stay visible next to sharp ones; white -> navy
    const t = Math.sqrt(pooled[c] / 255);
    px[4 * c] = 255 - 247 * t;
    px[4 * c + 1] = 255 - 207 * t;
    px[4 * c + 2] = 255 - 148 * t;
    px[4 * c + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

const cell = (tag, cls, text) => {
  const el = document.createElement(tag);
  el.className = cls;
  if (text != null) el.textContent = text;
  return el;
};

let painted = new Set(); // layers of the grid shown whose thumbnails are painted

/** Build the grid's cells (unpainted); onPick(layer, head) fires on a thumbnail click, onLayer(layer) on a row label's. */
function renderGrid(grid, resp, onPick, onLayer) {
  const L = resp.num_layers, H = resp.num_heads;
  grid.style.setProperty("--heads", H);
  grid.dataset.complete = "0";
  const frag = document.createDocumentFragment();
  frag.append(cell("span", "corner"));
  for (let h = 0; h < H; h++) frag.append(cell("span", "hlabel", "H" + h));
  for (let l = 0; l < L; l++) {
    const label = cell("span", "llabel", "L" + l);
    label.dataset.layer = l;
    frag.append(label);
    for (let h = 0; h < H; h++) {
      const c = cell("canvas", "thumb");
      c.width = c.height = 1;
      c.dataset.layer = l;
      c.dataset.head = h;
      c.title = `head ${headName(l, h)}`;
      frag.append(c);
    }
  }
  grid.replaceChildren(frag);
  painted = new Set();
  grid.onclick = (e) => {
    const t = e.target.closest(".thumb"), row = e.target.closest(".llabel");
    if (t) onPick(+t.dataset.layer, +t.dataset.head);
    else if (row) onLayer(+row.dataset.layer);
  };
}

/** The thumbnails' side in canvas pixels: one per device pixel at most. */
export const thumbSize = () => Math.round(THUMB * (window.devicePixelRatio || 1));

/** Paint the rows of the layers that have arrived and are not painted yet: from the server's
 *  max-pooled thumbnails when the response has them (s x s a head), else from the full layer. */
function paintArrived(grid, resp) {
  const H = resp.num_heads, T = resp.tokens.length, size = thumbSize();
  const s = resp.thumbnails ? resp.thumbnails.shape[2] : 0;
  for (let l = 0; l < resp.num_layers; l++) {
    if (painted.has(l)) continue;
    const pooled = s ? thumbBytes(resp, l) : null, bytes = pooled || layerBytes(resp, l);
    if (!bytes) continue;
    for (let h = 0; h < H; h++) {
      const c = grid.querySelector(`.thumb[data-layer='${l}'][data-head='${h}']`);
      if (pooled) paintThumb(c, pooled, h, s, s);
      else paintThumb(c, bytes, h, T, size);
    }
    painted.add(l);
  }
  grid.dataset.complete = painted.size === resp.num_layers ? "1" : "0";
}

/** The grid as an <svg>: each thumbnail as an image, the layer and head labels as text. */
function gridSVG(resp) {
  const NS = "http://www.w3.org/2000/svg", L = resp.num_layers, H = resp.num_heads, step = 46, x0 = 34, y0 = 20;
  const width = x0 + H * step, height = y0 + L * step;
  const make = (name, attrs, text) => {
    const n = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (text != null) n.textContent = text;
    return n;
  };
  const svg = make("svg", { xmlns: NS, width, height, viewBox: `0 0 ${width} ${height}`, "font-family": "system-ui, sans-serif", "font-size": 11 });
  svg.append(make("rect", { width, height, fill: "#fff" }));
  for (let h = 0; h < H; h++) svg.append(make("text", { x: x0 + h * step + 22, y: 12, "text-anchor": "middle", fill: "#667085" }, "H" + h));
  for (let l = 0; l < L; l++) {
    svg.append(make("text", { x: x0 - 6, y: y0 + l * step + 22, "text-anchor": "end", "dominant-baseline": "central", fill: "#667085" }, "L" + l));
    for (let h = 0; h < H; h++) {
      const c = $("modelview-grid").querySelector(`.thumb[data-layer='${l}'][data-head='${h}']`);
      svg.append(make("image", { x: x0 + h * step, y: y0 + l * step, width: 44, height: 44, preserveAspectRatio: "none",
        style: "image-rendering:pixelated", href: c.toDataURL("image/png") }));
    }
  }
  return svg;
}

// Label strings as they arrive (plotly-free: a canvas writes them as text, no markup is parsed).
const kindWords = (resp) => (resp.attention_kind === "norm" ? "norm-based, per row" : "weights");

/** One head as a canvas heatmap with thinned token labels on both axes (rows = queries). */
function renderHeatmap(div, resp, layer, head, scale) {
  const bytes = layerBytes(resp, layer);
  if (!bytes) return false;
  const T = resp.tokens.length, q = resp.attention.scale || 255, base = head * T * T;
  const values = new Float32Array(T * T);
  for (let i = 0; i < T * T; i++) values[i] = bytes[base + i] / q;
  // norm-based attention arrives divided by its row sums: drawn on the weights' 0..1 scale
  const title = `head ${headName(layer, head)}${resp.attention_kind === "norm" ? " · norm-based, per row" : ""}`;
  drawTokenHeatmap(div, { values, labels: resp.tokens.map((t) => t.text), title, scale });
  div.dataset.drawn = `${layer}|${head}|${scale}`;
  return true;
}

let gridFor = null, heatKey = null, hooks = null, st = null, shown = null;

function fillSelect(sel, n, prefix) {
  sel.replaceChildren(...Array.from({ length: n }, (_, i) => new Option(prefix + i, i)));
}

// The heatmap's own layer/head selectors (listeners attached once, on import).
for (const id of ["hm-layer", "hm-head"]) {
  $(id).addEventListener("change", () => {
    st.hm_layer = +$("hm-layer").value;
    st.hm_head = +$("hm-head").value;
    hooks.changed();
    hooks.needLayer ? hooks.needLayer(st.hm_layer) : showModelView(shown, st, hooks);
  });
}
scaleControl($("heatmap"), "hm-scale", "linear", (scale) => {
  st.hm_scale = scale;
  showModelView(shown, st, hooks);
  hooks.changed();
});

const inputWords = () => st.text + (st.aspect ? `  | aspect: ${st.aspect}` : "");
exportButtons($("modelview-grid").parentNode, {
  id: "modelview-grid-export", name: () => `headscope-${shown.model}-model-view`,
  caption: () => captionLines({ model: shown.model, input: inputWords(), view: "every head (rows = queries)", attention: kindWords(shown) }),
  svg: () => gridSVG(shown),
});
exportButtons($("heatmap"), {
  id: "heatmap-export", name: () => `headscope-${shown.model}-layer${st.hm_layer}-head${st.hm_head}`,
  caption: () => captionLines({ model: shown.model, input: inputWords(), layer: st.hm_layer, head: st.hm_head,
    attention: kindWords(shown), colour: scaleWords(st.hm_scale) }),
  svg: () => tokenHeatmapSVG($("heatmap").drawing),
});

/** Draw the grid (built once per response, rows painted as their layers arrive) and the heatmap of
 *  state.hm_layer/hm_head. hooks: {pick(layer, head), pickLayer(layer) (optional), changed(),
 *  needLayer(layer) (optional: fetch that layer, then call showModelView again)}. Whether the heatmap is
 *  drawn (false while its layer is on its way: the grid shows first). */
export function showModelView(resp, state, h) {
  shown = resp; st = state; hooks = h;
  if (state.hm_layer == null || state.hm_layer >= resp.num_layers) state.hm_layer = state.layer;
  if (state.hm_head == null || state.hm_head >= resp.num_heads) state.hm_head = (state.heads && state.heads[0]) ?? 0;
  const grid = $("modelview-grid");
  if (gridFor !== resp) {
    renderGrid(grid, resp, (l, hd) => hooks.pick(l, hd), (l) => hooks.pickLayer && hooks.pickLayer(l));
    fillSelect($("hm-layer"), resp.num_layers, "L");
    fillSelect($("hm-head"), resp.num_heads, "H");
    gridFor = resp;
    heatKey = null;
    $("heatmap").replaceChildren();  // another input's heatmap goes; this one's is drawn when its layer arrives
  }
  measured("modelview:grid", () => paintArrived(grid, resp));
  $("hm-layer").value = state.hm_layer;
  $("hm-head").value = state.hm_head;
  $("hm-scale").value = state.hm_scale || "linear";
  for (const t of grid.querySelectorAll(".thumb.selected")) t.classList.remove("selected");
  const sel = grid.querySelector(`.thumb[data-layer='${state.hm_layer}'][data-head='${state.hm_head}']`);
  if (sel) sel.classList.add("selected");
  const key = `${state.hm_layer}|${state.hm_head}|${state.hm_scale}`;
  const draw = () => renderHeatmap($("heatmap"), resp, state.hm_layer, state.hm_head, state.hm_scale || "linear");
  if (heatKey !== key && measured("modelview:heatmap", draw)) heatKey = key;
  return heatKey === key;
}

/** fn's result, its duration recorded as a performance measure (bench/model_view_speed.py reads them). */
function measured(name, fn) {
  const from = performance.now(), out = fn();
  performance.measure(name, { start: from, end: performance.now() });
  return out;
}
