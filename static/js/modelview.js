// Model view: a layers x heads grid of tiny attention-matrix images, plus a
// plotly heatmap of one head. Imported lazily (only when the tab is opened),
// and plotly itself (~4.6 MB) is only fetched when the heatmap is drawn.

import { layerBytes } from "./attention.js";
import { loadPlotly } from "./plotly-loader.js";
import { $ } from "./dom.js";

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

/** Build the grid; onPick(layer, head) fires on a thumbnail click, onLayer(layer) on a row label's. */
function renderGrid(grid, resp, onPick, onLayer) {
  const L = resp.num_layers, H = resp.num_heads, T = resp.tokens.length;
  const size = Math.round(THUMB * (window.devicePixelRatio || 1)); // one canvas pixel per device pixel at most
  grid.style.setProperty("--heads", H);
  const frag = document.createDocumentFragment();
  frag.append(cell("span", "corner"));
  for (let h = 0; h < H; h++) frag.append(cell("span", "hlabel", "H" + h));
  for (let l = 0; l < L; l++) {
    const label = cell("span", "llabel", "L" + l);
    label.dataset.layer = l;
    frag.append(label);
    const bytes = layerBytes(resp, l);
    for (let h = 0; h < H; h++) {
      const c = cell("canvas", "thumb");
      c.dataset.layer = l;
      c.dataset.head = h;
      c.title = `Layer ${l} · Head ${h}`;
      if (bytes) paintThumb(c, bytes, h, T, size);
      frag.append(c);
    }
  }
  grid.replaceChildren(frag);
  grid.onclick = (e) => {
    const t = e.target.closest(".thumb"), row = e.target.closest(".llabel");
    if (t) onPick(+t.dataset.layer, +t.dataset.head);
    else if (row) onLayer(+row.dataset.layer);
  };
}

// Plotly parses a small HTML subset in labels; escape so tokens like "<b>" or
// "<script>" show literally (plotly decodes the entities back to text).
const MAX_TICKS = 64;
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** One head as a plotly heatmap with token labels on both axes (rows = queries). */
async function renderHeatmap(div, resp, layer, head) {
  const bytes = layerBytes(resp, layer);
  if (!bytes) return;
  const Plotly = await loadPlotly();
  const T = resp.tokens.length, scale = resp.attention.scale || 255, base = head * T * T;
  const labels = resp.tokens.map((t) => esc(t.text));
  const idx = labels.map((_, i) => i);
  const z = [], text = [];
  for (let q = 0; q < T; q++) {
    z.push(Array.from(bytes.subarray(base + q * T, base + (q + 1) * T), (v) => v / scale));
    text.push(labels.map((k) => `${labels[q]} → ${k}`));
  }
  const size = Math.min(900, Math.max(420, 14 * T + 160));
  // at most MAX_TICKS token labels per axis: beyond, every n-th token is labelled (the hover names
  // every cell); 256 overlapping labels were unreadable and took plotly a second to lay out
  const step = Math.ceil(T / MAX_TICKS), ticks = idx.filter((i) => i % step === 0);
  const axis = { tickvals: ticks, ticktext: ticks.map((i) => labels[i]), tickfont: { size: T > 80 ? 7 : 10 }, showgrid: false };
  await Plotly.newPlot(div, [{
    type: "heatmap", z, x: idx, y: idx, text, zmin: 0, zmax: 1,
    colorscale: [[0, "#ffffff"], [1, "#08306b"]],
    hovertemplate: "%{text}<br>%{z:.3f}<extra></extra>",
  }], {
    // norm-based attention arrives divided by its row sums: drawn on the weights' 0..1 scale
    title: { text: `Layer ${layer} · Head ${head}${resp.attention_kind === "norm" ? " · norm-based, per row" : ""}`, font: { size: 13 } },
    width: size, height: size, margin: { l: 90, r: 20, t: 40, b: 90 },
    xaxis: { ...axis, title: { text: "key (attended)" }, side: "bottom", tickangle: -60 },
    yaxis: { ...axis, title: { text: "query (attending)" }, autorange: "reversed" },
  }, { displaylogo: false, responsive: false });
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
    showModelView(shown, st, hooks);
    hooks.changed();
  });
}

/** Draw the grid (once per response) and the heatmap of state.hm_layer/hm_head.
 *  hooks: {pick(layer, head), pickLayer(layer) (optional), changed()}. */
export function showModelView(resp, state, h) {
  shown = resp; st = state; hooks = h;
  if (state.hm_layer == null || state.hm_layer >= resp.num_layers) state.hm_layer = state.layer;
  if (state.hm_head == null || state.hm_head >= resp.num_heads) state.hm_head = (state.heads && state.heads[0]) ?? 0;
  if (gridFor !== resp) {
    renderGrid($("modelview-grid"), resp, (l, hd) => hooks.pick(l, hd), (l) => hooks.pickLayer && hooks.pickLayer(l));
    fillSelect($("hm-layer"), resp.num_layers, "L");
    fillSelect($("hm-head"), resp.num_heads, "H");
    gridFor = resp;
    heatKey = null;
  }
  $("hm-layer").value = state.hm_layer;
  $("hm-head").value = state.hm_head;
  for (const t of $("modelview-grid").querySelectorAll(".thumb")) {
    t.classList.toggle("selected", +t.dataset.layer === state.hm_layer && +t.dataset.head === state.hm_head);
  }
  const key = state.hm_layer + "|" + state.hm_head;
  if (heatKey !== key) {
    heatKey = key;
    renderHeatmap($("heatmap"), resp, state.hm_layer, state.hm_head).catch((e) => {
      heatKey = null;
      $("heatmap").textContent = "Heatmap unavailable: " + e.message;
    });
  }
}
