// The inspect page's finding and image buttons: "Save as finding" from the head
// view and from the model view, PNG/SVG downloads of the head view. Kept out of
// inspect.js (which imports it on the first click) so that the page controller
// only hands over its state.

import { createFinding } from "./findings-api.js";
import { openFindingForm } from "./findings-form.js";
import { viewFromState, inputFromState } from "./findings-state.js";
import { downloadPNG, downloadSVG, captionLines } from "./export-image.js";
import { $ } from "./dom.js";

/** The snapshot a finding keeps: the response the page already has (so the server does
 *  not run the model again), cut to the attention the view shows: the head view's layer,
 *  every layer for the model view. The page's cache may hold more layers than that. */
export function snapshotFor(resp, kind, layer) {
  const layers = resp.attention.layers;
  const kept = kind === "model" ? { ...layers } : { [String(layer)]: layers[String(layer)] };
  return { ...resp, attention: { ...resp.attention, layers: kept } };
}

/** The finding body (docs/reference/findings-api.md) for the view shown now. */
export function findingBody(values, kind, state, resp) {
  const view = viewFromState(state, kind, resp.num_heads);
  return {
    ...values,
    model: resp.model,
    input: inputFromState(state, resp.task, resp),
    view,
    snapshot: snapshotFor(resp, kind, view.layer),
  };
}

function showSaved(finding) {
  const box = $("finding-saved");
  const link = document.createElement("a"), perma = document.createElement("a");
  link.href = "/findings/" + encodeURIComponent(finding.id);
  link.textContent = finding.title;
  perma.href = "/f/" + encodeURIComponent(finding.id);
  perma.textContent = "permalink";
  box.replaceChildren("Saved finding ", link, " · ", perma);
  box.hidden = false;
}

const stem = (ctx) => {
  const s = ctx.state, r = ctx.response();
  return `headscope-${(r && r.model) || "view"}-layer${s.layer}`.replace(/[^\w.-]+/g, "_");
};

/** The head view download's caption: the model, the input and the view's settings. */
export function headViewCaption(state, resp) {
  return captionLines({
    model: resp && resp.model,
    input: state.text + (state.aspect ? `  | aspect: ${state.aspect}` : ""),
    layer: state.layer,
    heads: state.heads ? state.heads.join(", ") : "all",
    attention: resp && resp.attention_kind === "norm" ? "norm-based (per row)" : "weights",
    pairs: state.filter, mass: state.mass + "%", tokens: resp && resp.level === "word" ? "words" : "word pieces",
  });
}

async function save(kind, ctx) {
  if (!ctx.response() || ctx.busy()) return ctx.onError(new Error("Run an inspection (and wait for it) before saving a finding."));
  const resp = kind === "model" ? await ctx.allLayers() : ctx.response();
  await openFindingForm({ heading: kind === "model" ? "Save the model view as a finding" : "Save the head view as a finding" },
    async (values) => {
      const finding = await createFinding(findingBody(values, kind, ctx.state, resp));
      window.headscope.lastFinding = finding; // for scripts and tests
      showSaved(finding);
      return finding;
    });
}

/**
 * Run the action of one of the page's buttons (inspect.js imports this module on the
 * first click, so the head view's own page weight does not grow).
 * ctx: {state, response(): current response or null, allLayers(): the response with every layer (fetched
 *       when missing), busy(): a request is running,
 *       headView: the HeadView, onError(Error)}
 */
export async function act(buttonId, ctx) {
  try {
    if (buttonId === "save-finding-head") await save("head", ctx);
    else if (buttonId === "save-finding-model") await save("model", ctx);
    else if (buttonId === "download-png") await downloadPNG(ctx.headView, stem(ctx), headViewCaption(ctx.state, ctx.response()));
    else if (buttonId === "download-svg") await downloadSVG(ctx.headView, stem(ctx), headViewCaption(ctx.state, ctx.response()));
  } catch (e) {
    ctx.onError(e);
  }
}
