// Token heat strips of an /api/inspect response's "attribution" (docs/reference/api.md): one row per
// method under the head view, each token shaded by its score. Used by the inspect page and by
// the finding page / exported file (findings-view.js), so it must stay free of fetch and of
// page controllers: export.py inlines it into a file that opens from disk.
//
// Shading. Integrated gradients and gradient x input are signed: red supports the explained
// label, blue speaks against it, scaled by the largest |score| among the compared tokens.
// Rollout and flow are non-negative and often close to each other (flow especially): shaded
// from the smallest to the largest compared token. [CLS]/[SEP]/markers are not compared (the
// IG baseline keeps them) and are drawn grey. Aspect / entity tokens are underlined in their
// span colour, the query tokens the attention is read from are outlined.

import { fmt } from "./dom.js";

export const METHOD_NAMES = { ig: "integrated gradients", grad_x_input: "gradient × input", rollout: "rollout", flow: "flow" };
const SIGNED = new Set(["ig", "grad_x_input"]);
const SPAN_MARKS = { aspect_query: "#c99a06", aspect_term: "#2e9e44", e1: "#3b6fd8", e2: "#d6457f" };
const QUERY_NAMES = { readout: "what the classifier reads", cls: "[CLS]", aspect: "the aspect", entity: "the entities" };

const make = (tag, style, text) => {
  const el = document.createElement(tag);
  if (style) Object.assign(el.style, style);
  if (text != null) el.textContent = text;
  return el;
};

/** Background colour of one score given the method's scale {signed, low, high}. */
export function shade(method, value, scale) {
  if (SIGNED.has(method)) {
    const t = scale.high > 0 ? Math.max(-1, Math.min(1, value / scale.high)) : 0;
    const a = Math.abs(t);
    return t >= 0 ? `rgb(255,${Math.round(255 - 155 * a)},${Math.round(255 - 165 * a)})`
      : `rgb(${Math.round(255 - 165 * a)},${Math.round(255 - 115 * a)},255)`;
  }
  const span = scale.high - scale.low, t = span > 0 ? Math.max(0, Math.min(1, (value - scale.low) / span)) : 0;
  return `rgb(${Math.round(255 - 247 * t)},${Math.round(255 - 207 * t)},${Math.round(255 - 148 * t)})`;
}

/** How strongly a score is shaded, 0..1 (dark chips get white text). */
function strength(method, value, scale) {
  if (SIGNED.has(method)) return scale.high > 0 ? Math.min(1, Math.abs(value) / scale.high) : 0;
  const span = scale.high - scale.low;
  return span > 0 ? Math.max(0, Math.min(1, (value - scale.low) / span)) : 0;
}

/** {low, high} over the compared tokens: [min, max] (rollout, flow) or [0, max |score|] (signed). */
export function scaleOf(method, scores, compared) {
  const values = compared.map((i) => scores[i]).filter(Number.isFinite);
  if (!values.length) return { low: 0, high: 0 };
  if (SIGNED.has(method)) return { low: 0, high: Math.max(...values.map(Math.abs)) };
  return { low: Math.min(...values), high: Math.max(...values) };
}

function spanColors(resp) {
  const colors = new Map();
  for (const [name, color] of Object.entries(SPAN_MARKS)) {
    for (const i of (resp.spans && resp.spans[name]) || []) if (!colors.has(i)) colors.set(i, color);
  }
  return colors;
}

function caption(attr) {
  const t = attr.target, q = attr.query || {};
  // the row-reading methods shown (the attention row itself, rollout, flow) name the query rows they read
  const reading = ["attention", "rollout", "flow"].filter((m) => m === "attention" || attr.methods[m]);
  const parts = [`Attribution of “${t.label}” (${t.predicted ? "predicted" : "chosen"} label)`,
                 `${reading.join(", ").replace(/, ([^,]*)$/, " and $1")} read from ${QUERY_NAMES[q.name] || q.name}`];
  const ig = attr.methods.ig;
  if (ig && ig.completeness) {
    const c = ig.completeness;
    parts.push(`IG ${ig.steps} steps: Σ ${fmt(c.attribution_sum)} vs f(x) − f(x′) ${fmt(c.output_difference)}, ` +
               `completeness gap ${fmt(c.gap)}` + (c.relative_gap != null ? ` (${fmt(100 * c.relative_gap, 1)}%)` : ""));
  }
  return parts.join(" · ");
}

/** One method's row: its name, then every token as a shaded chip. */
function stripRow(method, resp, compared, marks, query, onToken) {
  const scores = resp.attribution.methods[method].scores, scale = scaleOf(method, scores, compared);
  const isCompared = new Set(compared);
  const row = make("div", { display: "flex", flexWrap: "wrap", alignItems: "center", gap: "2px", margin: "3px 0" });
  row.className = "attr-row";
  row.dataset.method = method;
  row.append(make("span", { width: "11em", flex: "0 0 11em", fontSize: "12px", color: "#475467" }, METHOD_NAMES[method] || method));
  resp.tokens.forEach((token, i) => {
    const chip = make("span", {
      fontSize: "12px", padding: "1px 4px", borderRadius: "3px", whiteSpace: "pre", cursor: onToken ? "pointer" : "default",
      background: isCompared.has(i) ? shade(method, scores[i], scale) : "#eef0f3",
      color: !isCompared.has(i) ? "#98a2b3" : strength(method, scores[i], scale) > 0.6 ? "#fff" : "#101828",
      borderBottom: marks.has(i) ? `3px solid ${marks.get(i)}` : "3px solid transparent",
      outline: query.has(i) ? "1.5px solid #101828" : "none",
    }, token.text);
    chip.className = "attr-tok";
    chip.dataset.index = i;
    chip.dataset.score = scores[i];
    chip.title = `${token.text}: ${fmt(scores[i], 4)}` + (isCompared.has(i) ? "" : " (not compared)") + (query.has(i) ? " · query" : "");
    row.append(chip);
  });
  return row;
}

/**
 * Draw the strips of `resp.attribution` into `root` (emptied and hidden when there is none).
 * onToken(index), when given, fires on a token click. Returns the number of rows drawn.
 */
export function drawStrips(root, resp, { onToken } = {}) {
  const attr = resp && resp.attribution;
  if (!attr || !attr.methods || !Object.keys(attr.methods).length) {
    root.replaceChildren();
    root.hidden = true;
    return 0;
  }
  const compared = attr.compared || [], marks = spanColors(resp), query = new Set((attr.query && attr.query.tokens) || []);
  const methods = Object.keys(METHOD_NAMES).filter((m) => attr.methods[m]);
  const head = make("p", { fontSize: "12px", color: "#475467", margin: "4px 0" }, caption(attr));
  head.className = "attr-caption";
  root.replaceChildren(head, ...methods.map((m) => stripRow(m, resp, compared, marks, query, onToken)));
  root.hidden = false;
  if (onToken) root.onclick = (e) => { const t = e.target.closest(".attr-tok"); if (t) onToken(+t.dataset.index); };
  root.dataset.rows = String(methods.length);
  return methods.length;
}
