// Entry point of a notebook model view (headscope/views.py inlines it with its imports): the inspect
// page's layers x heads grid and one head's heatmap (plotly, inlined when the view has it), with the
// snapshot head view below. A thumbnail click shows that head in both; a layer label opens the layer.

import { mountSnapshotView } from "./findings-view.js";
import { showModelView } from "./modelview.js";

const finding = JSON.parse(document.getElementById("view-data").textContent);
const snap = finding.snapshot, headRoot = document.getElementById("head-view");
const state = { layer: 0, heads: [0], hm_layer: 0, hm_head: 0 };

function openHeads(layer, heads) {
  state.layer = layer;
  window.headscope.view = mountSnapshotView(headRoot, { ...finding, view: { kind: "head", layer, heads } });
}

const hooks = {
  pick(layer, head) {
    state.hm_layer = layer; state.hm_head = head; state.heads = [head];
    showModelView(snap, state, hooks);
    openHeads(layer, [head]);
  },
  pickLayer(layer) { openHeads(layer, Array.from({ length: snap.num_heads }, (_, h) => h)); },
  changed() { openHeads(state.hm_layer, [state.hm_head]); },
};

window.headscope = { finding, view: mountSnapshotView(headRoot, finding) };
showModelView(snap, state, hooks);
document.body.dataset.ready = "1";
