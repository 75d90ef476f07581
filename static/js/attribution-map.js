// The layers x heads agreement map of the model view: each cell is one head's agreement
// (Spearman, Kendall or top-k overlap) between its attention from the query tokens and one
// attribution method's scores (the response's attribution.agreement, docs/reference/api.md). A click on
// a cell opens that head in the head view.

import { METHOD_NAMES } from "./attribution-strips.js";
import { conceptLink } from "./dom.js";

const METRIC_NAMES = { spearman: "Spearman ρ", kendall: "Kendall τ-b", top_k: "top-k overlap" };

const make = (tag, props, style) => {
  const el = Object.assign(document.createElement(tag), props || {});
  if (style) Object.assign(el.style, style);
  return el;
};

/** Diverging blue-white-red for correlations in [-1, 1], white to red for overlaps in [0, 1]. */
function cellColor(metric, value) {
  if (value == null || !Number.isFinite(value)) return "#f2f4f7";
  const t = Math.max(-1, Math.min(1, value)), a = Math.abs(t);
  if (t >= 0 || metric === "top_k") return `rgb(255,${Math.round(255 - 175 * a)},${Math.round(255 - 185 * a)})`;
  return `rgb(${Math.round(255 - 185 * a)},${Math.round(255 - 130 * a)},255)`;
}

/** "method:metric" of the state, falling back to the first method and Spearman. */
function choice(state, agreement) {
  const methods = Object.keys(agreement.methods);
  let [method, metric] = String(state.agree || "").split(":");
  if (!methods.includes(method)) method = methods[0];
  if (!(metric in METRIC_NAMES)) metric = "spearman";
  return { method, metric };
}

/**
 * Draw the map of `resp` into `root`. state.agree ("method:metric") picks what is shown;
 * onPick(layer, head) on a cell click; changed() after the selectors change the state.
 */
export function drawAgreementMap(root, resp, state, { onPick, changed }) {
  const agreement = resp.attribution && resp.attribution.agreement;
  if (!agreement || !Object.keys(agreement.methods).length) {
    root.replaceChildren(make("p", { className: "muted", textContent: "Choose attribution methods below to see how each head's attention agrees with them." }));
    return false;
  }
  const { method, metric } = choice(state, agreement);
  const methodSel = make("select", { className: "agree-method" });
  methodSel.append(...Object.keys(agreement.methods).map((m) => new Option(METHOD_NAMES[m] || m, m)));
  methodSel.value = method;
  const metricSel = make("select", { className: "agree-metric" });
  metricSel.append(...Object.entries(METRIC_NAMES).map(([m, name]) => new Option(name, m)));
  metricSel.value = metric;
  const redraw = () => {
    state.agree = `${methodSel.value}:${metricSel.value}`;
    drawAgreementMap(root, resp, state, { onPick, changed });
    changed();
  };
  methodSel.onchange = metricSel.onchange = redraw;

  const grid = make("div", { className: "agree-grid" }, {
    display: "grid", gridTemplateColumns: `2.5em repeat(${resp.num_heads}, 26px)`, gap: "2px", fontSize: "11px", marginTop: "6px" });
  grid.append(make("span"));
  for (let h = 0; h < resp.num_heads; h++) grid.append(make("span", { textContent: "H" + h }, { textAlign: "center", color: "#475467" }));
  const values = agreement.methods[method][metric];
  values.forEach((row, layer) => {
    grid.append(make("span", { textContent: "L" + layer }, { color: "#475467" }));
    row.forEach((value, head) => {
      const selected = layer === state.hm_layer && head === state.hm_head;
      const cell = make("button", { type: "button", className: "agree-cell", title: `head ${layer}.${head}: ${METRIC_NAMES[metric]} ${value == null ? "–" : value.toFixed(3)}` },
        { width: "26px", height: "20px", padding: "0", border: selected ? "2px solid #101828" : "1px solid #d0d5dd", borderRadius: "3px",
          background: cellColor(metric, value), cursor: "pointer" });
      cell.dataset.layer = layer;
      cell.dataset.head = head;
      cell.dataset.value = value;
      grid.append(cell);
    });
  });
  grid.onclick = (e) => { const c = e.target.closest(".agree-cell"); if (c) onPick(+c.dataset.layer, +c.dataset.head); };
  const labelled = (text, select) => { const l = make("label", { textContent: text }); l.append(select); return l; };
  const heading = make("div", { className: "toolbar" });
  heading.append(make("strong", { textContent: "Agreement with attribution" }), conceptLink("attribution-scores"),
    labelled("method ", methodSel),
    labelled("metric ", metricSel));
  const scale = metric === "top_k" ? "white 0 → red 1" : "blue −1 → white 0 → red +1";
  const note = make("p", { className: "muted", textContent:
    `Each head's attention from the query tokens against ${METHOD_NAMES[method] || method} over the compared tokens ` +
    `(${scale}; top-k: k = ${agreement.k}). Click a cell to open that head.` });
  root.replaceChildren(heading, grid, note);
  root.dataset.method = method;
  root.dataset.metric = metric;
  return true;
}
