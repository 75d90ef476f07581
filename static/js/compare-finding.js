// "Save as finding" on /compare: the left side is the finding's model, input and snapshot (the
// shown layer only); the view (kind "compare", docs/reference/findings-api.md) names the right side, the
// heads, the change of the shown heads, and the /compare URL that reopens it (/f/<id> goes there).

import { createFinding } from "./findings-api.js";
import { openFindingForm } from "./findings-form.js";
import { queryOf } from "./compare-state.js";

const range = (n) => Array.from({ length: n }, (_, i) => i);

/** The finding body for what the page shows; values: the form's {title, note, labels, tags, visibility}. */
export function compareFindingBody(values, state, resp) {
  const L = resp.left, R = resp.right, layer = state.layer;
  const heads = state.heads ? [...state.heads] : range(L.num_heads);
  const change = resp.change ? Object.fromEntries(Object.entries(resp.change).map(([q, g]) => [q, heads.map((h) => g[layer][h])])) : null;
  const side = (s) => ({ model: s.model, text: s.input.text, aspect: s.input.aspect ?? null, pretrained: !!s.pretrained });
  const layers = L.attention.layers;
  return {
    ...values,
    model: L.model,
    input: L.task === "absa" ? { text: L.input.text, aspect: L.input.aspect } : { text: L.input.text },
    view: {
      kind: "compare", layer, heads, threshold: state.mass / 100,
      left_pretrained: !!L.pretrained, right: side(R), change, edited: resp.alignment.edited,
      url: "/compare?" + queryOf(state),
    },
    snapshot: { ...L, attention: { ...L.attention, layers: { [String(layer)]: layers[String(layer)] } } },
  };
}

export function defaultTitle(state, resp) {
  const L = resp.left, R = resp.right;
  const name = (s) => s.model + (s.pretrained ? " (pretrained)" : "");
  const what = L.input.text !== R.input.text ? "source vs variant" : `${name(L)} vs ${name(R)}`;
  return `${name(L)} layer ${state.layer}: ${what}`;
}

function showSaved(box, finding) {
  const link = document.createElement("a"), perma = document.createElement("a");
  link.href = "/findings/" + encodeURIComponent(finding.id);
  link.textContent = finding.title;
  perma.href = "/f/" + encodeURIComponent(finding.id);
  perma.textContent = "permalink";
  box.replaceChildren("Saved finding ", link, " · ", perma);
  box.hidden = false;
}

/** Open the finding form and save; the saved finding is window.headscope.lastFinding. */
export async function saveCompareFinding(state, resp, box) {
  return openFindingForm({ heading: "Save the comparison as a finding", initial: { title: defaultTitle(state, resp) } },
    async (values) => {
      const finding = await createFinding(compareFindingBody(values, state, resp));
      window.headscope.lastFinding = finding;
      showSaved(box, finding);
      return finding;
    });
}
