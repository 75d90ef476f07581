// Switching heads off on /inspect (POST /api/inspect's "intervene"): the heads picked in the model
// view, how they are switched off (zero, mean over a reference set, scale by a factor), the chips that
// list them, and the prediction before → after. The state lives in the page's state object (and so in
// the URL: iv, iv_mode, iv_factor, iv_ref); inspect.js re-runs the inspection on every change.

import { request } from "./api.js";
import { $, $$, el, fmt, headName, showError, clearError } from "./dom.js";

export const MODES = ["zero", "mean", "scale"];
const CONTROL = "intervene-controls"; // the error line of the control group follows it

const byPosition = (a, b) => a[0] - b[0] || a[1] - b[1];

/** "3.4,5.1" -> [[3, 4], [5, 1]]: sorted, each head once; malformed names are dropped. */
export function parseHeads(text) {
  const seen = new Map();
  for (const name of String(text).split(",")) {
    const m = /^\s*(\d+)\.(\d+)\s*$/.exec(name);
    if (m) seen.set(`${+m[1]}.${+m[2]}`, [+m[1], +m[2]]);
  }
  return [...seen.values()].sort(byPosition);
}

export const formatHeads = (heads) => heads.map(([l, h]) => headName(l, h)).join(",");

/** The factor as a number, or null when the text is not one (empty, "abc", "1e999"). */
export function factorValue(text) {
  const t = String(text ?? "").trim();
  const n = Number(t);
  return t !== "" && Number.isFinite(n) ? n : null;
}

/** Why the state's intervention cannot be sent ("" when it can). */
export function interventionProblem(state) {
  if (state.iv_mode === "scale" && factorValue(state.iv_factor) === null) {
    return `Factor “${state.iv_factor}” is not a number: scale needs one, e.g. 0.5 (0 switches the heads off, 1 leaves them).`;
  }
  return "";
}

/** The request's "intervene" field, or null when no head is picked (the plain forward). */
export function interventionFields(state) {
  if (!state.iv.length) return null;
  const fields = { heads: state.iv.map(([l, h]) => [l, h]), mode: state.iv_mode };
  if (state.iv_mode === "scale") fields.factor = factorValue(state.iv_factor); // the API refuses a factor elsewhere
  if (state.iv_mode === "mean" && state.iv_ref !== "demo") fields.reference = state.iv_ref; // demo: the default
  return fields;
}

export const isPicked = (state, layer, head) => state.iv.some(([l, h]) => l === layer && h === head);

/** Pick the head, or put it back. */
export function togglePicked(state, layer, head) {
  state.iv = isPicked(state, layer, head)
    ? state.iv.filter(([l, h]) => l !== layer || h !== head)
    : [...state.iv, [layer, head]].sort(byPosition);
}

/** A layer's row label: pick all its heads, or, when all are picked already, put them all back. */
export function toggleLayerPicked(state, layer, numHeads) {
  const all = Array.from({ length: numHeads }, (_, h) => h).every((h) => isPicked(state, layer, h));
  const others = state.iv.filter(([l]) => l !== layer);
  state.iv = all ? others : [...others, ...Array.from({ length: numHeads }, (_, h) => [layer, h])].sort(byPosition);
}

/** Whether model-view clicks pick heads (else they open the head, as always). */
export const picking = () => $("iv-pick").checked;

/** Wire the control group. changed(): the state changed, run again; a bad factor stops there. */
export function bindControls(state, changed) {
  $("iv-mode").addEventListener("change", (e) => { state.iv_mode = e.target.value; changed(); });
  $("iv-factor").addEventListener("change", (e) => { state.iv_factor = e.target.value.trim(); changed(); });
  $("iv-reference").addEventListener("change", (e) => { state.iv_ref = e.target.value; changed(); });
  $("iv-pick").addEventListener("change", () => syncControls(state));
  $("iv-clear").addEventListener("click", () => { state.iv = []; changed(); });
  $("iv-chips").addEventListener("click", (e) => {
    const chip = e.target.closest(".iv-chip");
    if (!chip) return;
    togglePicked(state, +chip.dataset.layer, +chip.dataset.head);
    changed();
  });
}

let references = []; // GET /api/inspect/references: what mean may average over

/** Fetch the reference sets once; resolves when the list is there (an error leaves "demo" alone). */
export async function loadReferences() {
  try {
    references = (await request("/api/inspect/references")).references || [];
  } catch {
    references = [];
  }
}

/** The reference select's options for a model's task: the task's demo, then the datasets of that task. */
function syncReferences(state, task) {
  const names = references.filter((r) => r.task === null || r.task === task).map((r) => r.name);
  if (!names.includes("demo")) names.unshift("demo");
  if (!names.includes(state.iv_ref)) names.push(state.iv_ref); // a shared URL's name: the server explains a 422
  const sel = $("iv-reference");
  if (sel.options.length !== names.length || [...sel.options].some((o, i) => o.value !== names[i])) {
    sel.replaceChildren(...names.map((n) => new Option(n === "demo" ? "demo (the model's task)" : n, n)));
  }
  sel.value = state.iv_ref;
}

/** Put the state into the controls, the chips and the model view's marks (task: the model's, for the references). */
export function syncControls(state, task = "absa") {
  $("iv-mode").value = state.iv_mode;
  $("iv-factor-label").hidden = state.iv_mode !== "scale";
  $("iv-reference-label").hidden = state.iv_mode !== "mean";
  syncReferences(state, task);
  if (document.activeElement !== $("iv-factor")) $("iv-factor").value = state.iv_factor;
  $("iv-clear").disabled = !state.iv.length;
  $("iv-chips").replaceChildren(...state.iv.map(([l, h]) => {
    const chip = el("button", "iv-chip", headName(l, h));
    Object.assign(chip, { type: "button", title: `head ${headName(l, h)} is switched off (click: switch it on again)` });
    Object.assign(chip.dataset, { layer: l, head: h });
    return chip;
  }));
  $("iv-empty").hidden = state.iv.length > 0;
  markModelView(state);
}

/** Cross out the picked heads' thumbnails; the grid shows when clicks pick heads. */
export function markModelView(state) {
  const grid = $("modelview-grid");
  grid.classList.toggle("picking", picking());
  for (const t of $$(".thumb", grid)) t.classList.toggle("switched-off", isPicked(state, +t.dataset.layer, +t.dataset.head));
}

/** Show the factor's problem beside the control group; true when the intervention can be sent. */
export function checkControls(state) {
  const problem = interventionProblem(state);
  if (problem) showError(CONTROL, problem);
  else clearError(CONTROL);
  return !problem;
}

// a change that rounds to 0.00 reads 0.00, not −0.00 (and is not marked as a drop)
const rounded = (v) => Math.round(v * 100) / 100;
const signed = (v) => (rounded(v) === 0 ? "" : v < 0 ? "−" : "+") + fmt(Math.abs(rounded(v)), 2);

/** The prediction box's before → after per label ("positive 0.91 → 0.42 (Δ −0.49)"); hidden without one. */
export function showOutcome(root, intervention) {
  root.hidden = !intervention;
  if (!intervention) return root.replaceChildren();
  const { before, after, delta } = intervention;
  const how = intervention.mode === "scale" ? `scaled by ${intervention.factor}`
    : intervention.mode === "mean" ? `mean-ablated over ${intervention.reference || "demo"}` : "zeroed";
  const head = el("div", "iv-summary");
  head.append(`Heads ${formatHeads(intervention.heads).replace(/,/g, ", ")} ${how}: `, el("strong", null, before.label), " → ",
    el("strong", null, after.label));
  const rows = Object.entries(after.probabilities).map(([label, p]) => {
    const row = el("div", "iv-row", `${label} ${fmt(before.probabilities[label], 2)} → ${fmt(p, 2)} (Δ ${signed(delta[label])})`);
    row.dataset.label = label;
    row.dataset.delta = delta[label];
    row.classList.toggle("drop", rounded(delta[label]) < 0);
    return row;
  });
  root.replaceChildren(head, ...rows);
}
