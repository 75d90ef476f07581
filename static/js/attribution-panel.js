// The inspect page's attribution: fetches the "attribution" of the input shown (POST /api/inspect
// with attention "none", so the attention already on the page is not sent again), draws the
// token strips under the head view and the agreement map in the model view. inspect.js imports
// this module only once attribution is asked for (page weight of the plain head view).

import { inspect } from "./api.js";
import { drawStrips } from "./attribution-strips.js";
import { drawAgreementMap } from "./attribution-map.js";
import { $ } from "./dom.js";

const IG_DEFAULT_STEPS = 32;
const stash = new Map(); // request key -> attribution, so switching methods off and on again costs nothing
const shownKey = new WeakMap(); // response -> key of the attribution it carries (kept off the response: snapshots copy it)

/** The attribution fields of a request for the state, or null when no method is chosen. */
export function attributionFields(state) {
  if (!state.attr.length) return null;
  const fields = { attribution: [...state.attr] };
  if (state.attr.includes("ig") && state.ig_steps !== IG_DEFAULT_STEPS) fields.ig_steps = state.ig_steps;
  if (state.attr_label) fields.attribution_label = state.attr_label;
  if (state.attr_query && state.attr_query !== "readout") fields.attribution_query = state.attr_query;
  return fields;
}

/** Put `resp.attribution` in line with the state: fetched (or taken from the stash) when methods are
 *  chosen, removed when none is, so that a finding saved now keeps only what is shown. */
export async function ensureAttribution(resp, state, task) {
  const fields = attributionFields(state);
  if (!fields) {
    delete resp.attribution;
    shownKey.delete(resp);
    return;
  }
  const base = { model: state.model, text: state.text, word_level: state.word };
  if (task !== "re") base.aspect = state.aspect;
  const key = JSON.stringify([base, fields]);
  if (shownKey.get(resp) === key) return;
  if (!stash.has(key)) {
    const fresh = await inspect({ ...base, ...fields, attention: "none" });
    if (stash.size > 16) stash.delete(stash.keys().next().value);
    stash.set(key, fresh.attribution);
  }
  resp.attribution = stash.get(key);
  shownKey.set(resp, key);
}

/** Read the attribution controls into the state. */
export function readControls(state) {
  state.attr = [...document.querySelectorAll("#attribution-controls input[name=attr]:checked")].map((b) => b.value);
  const steps = parseInt($("ig-steps").value, 10);
  state.ig_steps = Number.isFinite(steps) ? steps : IG_DEFAULT_STEPS;
  state.attr_label = $("attr-label").value;
  state.attr_query = $("attr-query").value;
}

/** Draw the strips (head view) or the agreement map (model view) of the response shown. */
export function drawAttribution(resp, state, { pin, pick, changed }) {
  const shown = drawStrips($("attribution-strips"), resp, { onToken: (index) => pin("left", index) });
  if (state.view === "model") drawAgreementMap($("agreement-map"), resp, state, { onPick: pick, changed });
  window.headscope.attributionRows = shown;
  return shown;
}
