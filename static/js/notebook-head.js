// Entry point of a notebook head view (headscope/views.py inlines it with its imports): the finding
// page's snapshot view drawn from the embedded inspection. Nothing here may touch the network: the
// document sits in a notebook cell's iframe or opens from disk.

import { mountSnapshotView } from "./findings-view.js";

const finding = JSON.parse(document.getElementById("view-data").textContent);
const view = mountSnapshotView(document.getElementById("head-view"), finding);
window.headscope = { finding, view };
document.body.dataset.ready = "1";
