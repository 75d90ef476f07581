// What /inspect fits to the task, the model and the answer shown: the task's example input, the attribution
// choices of the model, the URL's marks and pinned token on the answer's tokens, and the attention-flow box.
// Small functions over the page's state (inspect.js owns it and passes it in).

import { $ } from "./dom.js";
import { markName } from "./state.js";

export const EXAMPLES = {
  absa: { text: "The pasta was great but the waiter was rude.", aspect: "service" },
  re: { text: "The <e1>fire</e1> was caused by a discarded <e2>cigarette</e2>.", aspect: "" },
};

/** The task's example in the input fields when they are empty or hold the other task's example. */
export function fillTaskExample(re) {
  const txt = $("text-input");
  const other = EXAMPLES[re ? "absa" : "re"].text;
  if (!txt.value.trim() || txt.value === other) txt.value = EXAMPLES[re ? "re" : "absa"].text;
  if (!re && !$("aspect-input").value.trim()) $("aspect-input").value = EXAMPLES.absa.aspect;
}

/** The attribution choices of model `m`: its labels, and the query tokens of its task. */
export function fillAttributionChoices(m, re, state) {
  $("attr-label").replaceChildren(new Option("predicted", ""), ...((m && m.labels) || []).map((l) => new Option(l, l)));
  $("attr-label").value = state.attr_label;
  const queries = ["readout", "cls", re ? "entity" : "aspect"];
  $("attr-query").replaceChildren(...queries.map((q) => new Option(q === "readout" ? "what the classifier reads" : q, q)));
  $("attr-query").value = queries.includes(state.attr_query) ? state.attr_query : "readout";
}

/** The URL's marks (character spans of the review) as highlighted token spans, and its pinned query token. */
export function markTokens(resp, state) {
  const review = Object.keys(resp.segments || {}).find((k) => resp.segments[k] === state.text);
  for (const [name, spans] of Object.entries(state.marks || {})) {
    const idx = resp.tokens.flatMap((t, i) => (t.segment === review && !t.special && spans.some(([a, b]) => t.start < b && t.end > a) ? [i] : []));
    if (review && idx.length) resp.spans[markName(name)] = idx;
  }
  if (state.pin === "query") {
    const query = (resp.spans.aspect_query || resp.spans.e1 || [])[0];
    if (query != null) Object.assign(state, { token: query, side: "left" });
    state.pin = "";
  }
}

/** Attention flow takes inputs of at most GET /api/models' limits.flow_max_tokens word pieces: on a longer one
 *  its box is disabled and unticked, with the reason beside it (the server would refuse it). */
export function fitFlow(resp, state, limits) {
  const box = document.querySelector("#attribution-controls input[value=flow]"), label = box.closest("label");
  const max = limits.flow_max_tokens, pieces = (resp.input_ids || []).length;
  const tooLong = max != null && pieces > max;
  box.disabled = tooLong;
  label.classList.toggle("disabled", tooLong);
  label.querySelector(".cannot-run")?.remove();
  if (!tooLong) return;
  if (state.attr.includes("flow")) state.attr = state.attr.filter((m) => m !== "flow");
  box.checked = false;
  const why = document.createElement("span");
  why.className = "cannot-run";
  why.textContent = `cannot run: flow takes inputs of at most ${max} word pieces; this one has ${pieces}`;
  label.append(why);
}
