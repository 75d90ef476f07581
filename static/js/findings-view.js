// A head view drawn from a finding's snapshot (no server, no checkpoint): the
// finding page, the public page and the exported HTML file all use this. The
// snapshot is the compact /api/inspect response the finding stored, so the same
// decoding, pruning and painter as the live page apply.
//
// It must stay free of fetch/imports of page controllers: export.py inlines
// this module and its imports into a file that opens from disk.

import { layerBytes, headColors, tokenMasks, pruneEdges } from "./attention.js";
import { HeadView } from "./headview.js";
import { stateFromView } from "./findings-state.js";
import { bindImageButtons, captionLines } from "./export-image.js";
import { drawStrips } from "./attribution-strips.js";
import { bindHeadToggles, headToggleButtons, nameHeadToggles } from "./head-toggles.js";

const range = (n) => Array.from({ length: n }, (_, i) => i);

const make = (tag, props, ...children) => {
  const el = Object.assign(document.createElement(tag), props || {});
  el.append(...children);
  return el;
};

/** Layers present in a snapshot, ascending. */
export const snapshotLayers = (snap) =>
  Object.keys((snap && snap.attention && snap.attention.layers) || {}).map(Number).filter(Number.isInteger).sort((a, b) => a - b);

/**
 * Build the view inside `root` for `finding` ({title, view, snapshot, ...}).
 * Returns {hv, state, draw} or null when the snapshot has no attention.
 */
export function mountSnapshotView(root, finding) {
  const snap = finding.snapshot, layers = snapshotLayers(snap);
  if (!snap || !layers.length || !Array.isArray(snap.tokens)) {
    root.replaceChildren(make("p", { className: "muted" }, "This finding has no attention snapshot to draw."));
    return null;
  }
  const H = snap.num_heads, colors = headColors(H);
  const state = stateFromView(finding.view, H);
  if (!layers.includes(state.layer)) state.layer = layers[0];

  const layerSel = make("select", { className: "sv-layer" }, ...layers.map((l) => new Option(String(l), l)));
  layerSel.value = state.layer;
  const swatches = make("span", { className: "sv-heads" }, ...headToggleButtons(H, colors));
  const allBtn = make("button", { type: "button", className: "link" }, "all");
  const noneBtn = make("button", { type: "button", className: "link" }, "none");
  const pngBtn = make("button", { type: "button", className: "secondary sv-png" }, "PNG");
  const svgBtn = make("button", { type: "button", className: "secondary sv-svg" }, "SVG");
  const count = make("span", { className: "muted sv-count", ariaLive: "polite" });
  const legend = make("div", { className: "legend" });
  const left = make("div", { className: "tokcol left" }), right = make("div", { className: "tokcol right" });
  const canvas = make("canvas", { className: "hv-canvas" });
  const strips = make("div", { className: "attr-strips" }); // the attribution shown when the finding was saved
  canvas.setAttribute("aria-label", "attention lines: query tokens on the left, key tokens on the right");
  const settings = `pairs ${state.filter} · mass ${state.mass}%` + (state.hide_special ? " · [CLS]/[SEP] hidden" : "") +
    (snap.level === "word" ? " · words" : "");
  root.replaceChildren(
    make("div", { className: "toolbar" },
      make("label", {}, "Layer ", layerSel),
      make("span", { className: "heads" }, "Heads ", swatches, allBtn, noneBtn),
      make("span", { className: "actions" }, pngBtn, svgBtn)),
    make("div", { className: "toolbar" }, make("span", { className: "muted" }, settings), count),
    legend,
    make("div", { className: "hv-scroll" }, make("div", { className: "hv" }, left, canvas, right)),
    strips,
  );

  const hv = new HeadView({ left, right, canvas, legend, onPin: (side, index) => {
    const same = state.token === index && state.side === side;
    state.token = same ? null : index;
    state.side = side;
    hv.setPinned(same ? null : { side, index });
    hv.draw();
  } });
  hv.setTokens(snap, state.hide_special);
  const draw = () => {
    for (const b of swatches.children) b.classList.toggle("off", !state.heads.includes(+b.dataset.head));
    nameHeadToggles(swatches.children, state.layer);
    const masks = tokenMasks(snap.tokens, state.filter, state.hide_special);
    const edges = pruneEdges(layerBytes(snap, state.layer), snap.tokens.length, state.heads, masks, state.mass);
    hv.setEdges(edges, colors);
    hv.setPinned(state.token == null ? null : { side: state.side, index: state.token });
    root.dataset.edges = hv.draw();
    count.textContent = hv.countText();
  };
  layerSel.addEventListener("change", () => { state.layer = +layerSel.value; draw(); });
  bindHeadToggles(swatches, () => state.heads, (heads) => { state.heads = heads; draw(); });
  allBtn.addEventListener("click", () => { state.heads = range(H); draw(); });
  noneBtn.addEventListener("click", () => { state.heads = []; draw(); });
  const stem = () => `headscope-${String(finding.title || "finding").slice(0, 40)}-layer${state.layer}`.replace(/[^\w.-]+/g, "_");
  const caption = () => captionLines({ model: snap.model, finding: finding.title, layer: state.layer,
    heads: state.heads.join(", "), settings });
  bindImageButtons(pngBtn, svgBtn, () => hv, stem, (e) => { count.textContent = e.message; }, caption);
  drawStrips(strips, snap);
  draw();
  return { hv, state, draw };
}

/** Read the findings embedded in the page (<script type="application/json" id="finding-data">,
 *  a list) and mount a view into each `.snapshot-view[data-index]`. */
export function mountAll(doc = document) {
  const data = JSON.parse(doc.getElementById("finding-data").textContent);
  const views = [];
  for (const el of doc.querySelectorAll(".snapshot-view[data-index]")) {
    views.push(mountSnapshotView(el, data[+el.dataset.index]));
  }
  window.headscope = { findings: data, views };
  doc.body.dataset.ready = "1";
  return { data, views };
}
