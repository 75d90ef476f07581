// Where the /inspect page says what went wrong: beside the control that caused it, never above a result
// it no longer describes. A refused inspection is shown by the field its 422 names (the text, the aspect,
// the model), and the prediction and views of the previous input are marked stale until one succeeds;
// a refused attribution method is said at the attribution panel and its box unticked, the others stay.
// inspect.js calls these.

import { $, clearError, clearStale, markStale, showError } from "./dom.js";

const METHODS = ["ig", "grad_x_input", "rollout", "flow"];
// The control beside which a field's error shows (the element the error line follows).
const FIELD_CONTROLS = { text: () => $("text-input"), aspect: () => $("aspect-row").parentElement, model: () => $("model-select").parentElement };
const SHOWN = ["prediction", "headview-panel", "modelview-panel"];
let lastTicked = null;  // the attribution box ticked last: the one a refusal most likely is about

/** The request field a refusal names (its 422's loc: ["body", "text"] -> "text"), else null. */
export function fieldOf(e) {
  const detail = e && e.payload && e.payload.detail;
  if (!Array.isArray(detail)) return null;
  for (const item of detail) {
    const loc = (item && item.loc) || [];
    if (loc[0] === "body" && typeof loc[1] === "string") return loc[1];
  }
  return null;
}

/** Hide every error line of the input's controls (a new request is on its way). */
export function clearInputErrors() {
  clearError("error-box");
  for (const control of Object.values(FIELD_CONTROLS)) clearError(control());
}

/** An inspection was refused or failed: the message beside its field (else at the top), and what is
 *  shown of the previous input marked stale. */
export function inspectionFailed(e) {
  const field = fieldOf(e), control = FIELD_CONTROLS[field];
  showError(control ? control() : "error-box", e.message);
  for (const id of SHOWN) if (!$(id).hidden) markStale(id, "stale: this shows the previous input, not the one above");
}

/** An inspection succeeded: what is shown is current again. */
export function inspectionShown() {
  for (const id of SHOWN) clearStale(id);
}

/** Remember the attribution box ticked last (bound once on the controls). */
export function trackTicks(controls) {
  controls.addEventListener("change", (e) => {
    const box = e.target;
    if (box.name === "attr") lastTicked = box.checked ? box.value : null;
  });
  // a refused step count is corrected in place: its message goes as the value changes
  controls.addEventListener("input", (e) => { if (e.target.id === "ig-steps") clearError("attribution-controls"); });
}

/** The methods a refusal is about: the box ticked last, else the first method its message names, else all. */
function refusedMethods(e, chosen) {
  if (lastTicked && chosen.includes(lastTicked)) return [lastTicked];
  const named = METHODS.map((m) => [m, e.message.search(new RegExp(`\\b${m}\\b`))]).filter(([m, at]) => at >= 0 && chosen.includes(m));
  named.sort((a, b) => a[1] - b[1]);
  return named.length ? [named[0][0]] : [...chosen];
}

/** An attribution was refused: at the attribution panel, the message and which boxes were unticked;
 *  the refused methods leave the state (and the URL) so the others can be drawn. Whether any was unticked
 *  (a refused step count unticks none: it is a value to correct, and nothing else could be drawn meanwhile). */
export function attributionFailed(e, state) {
  if (fieldOf(e) === "ig_steps") {
    showError("attribution-controls", `${e.message}\n(correct the IG steps; every method stays ticked)`);
    return false;
  }
  const refused = refusedMethods(e, state.attr);
  state.attr = state.attr.filter((m) => !refused.includes(m));
  for (const box of document.querySelectorAll("#attribution-controls input[name=attr]")) box.checked = state.attr.includes(box.value);
  lastTicked = null;
  showError("attribution-controls", `${e.message}\n(${refused.join(", ")} unticked)`);
  return true;
}

/** An attribution was drawn (or none is asked for): no error at the panel. */
export function attributionShown() {
  clearError("attribution-controls");
}
