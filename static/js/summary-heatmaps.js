// The /analysis heatmaps (plotly, served from /static/vendor): the main layers × heads map of
// the chosen statistic and value kind, and one small map per label category with its labelled
// heads marked. A click on a cell picks that head.

import { loadPlotly } from "./plotly-loader.js";
import { shown, entry, grid, VIRTUAL } from "./analysis-result.js";
import { $, el, fmt } from "./dom.js";
import { view, pub } from "./summary-state.js";

/** Draw #heatmap-main; onPick(layer, head) on a click. */
export async function drawMain(onPick) {
  const Plotly = await loadPlotly();
  const R = shown.result, stat = view.stat, z = grid(stat, view.value), H = R.model.num_heads;
  const text = z.map((row, l) => row.map((v, h) => {
    const e = entry(shown.byHead[l * H + h], stat);
    return `layer ${l}, head ${h}<br>${stat}: ${fmt(v)}` + (e && e.ci ? `<br>95% CI [${fmt(e.ci[0])}, ${fmt(e.ci[1])}]` : "");
  }));
  const node = $("heatmap-main"), margin = view.value === "margin";
  await Plotly.react(node, [{
    type: "heatmap", z, text, hoverinfo: "text", colorscale: margin ? "RdBu" : "Viridis",
    zmid: margin ? 0 : undefined, reversescale: margin,
    x: Array.from({ length: H }, (_, i) => i), y: Array.from({ length: R.model.num_layers }, (_, i) => i),
  }], {
    title: { text: (VIRTUAL[stat] || stat) + (view.value === "score" ? "" : ` (${$("value-select").selectedOptions[0].textContent})`), font: { size: 13 } },
    xaxis: { title: "head", dtick: 1 }, yaxis: { title: "layer", dtick: 1, autorange: "reversed" },
    margin: { l: 50, r: 10, t: 36, b: 40 },
  }, { displaylogo: false, responsive: true });
  if (!node.dataset.bound) {
    node.on("plotly_click", (ev) => { const p = ev.points[0]; onPick(p.y, p.x); });
    node.dataset.bound = "1";
  }
  pub.plots += 1;
  node.dataset.drawn = String(pub.plots);
}

/** Fill #label-maps, one map per label of the result's rule; onPick(layer, head, stat) on a click. */
export async function drawLabelMaps(onPick) {
  const box = $("label-maps");
  box.replaceChildren();
  const R = shown.result, labels = (R.rule && R.rule.labels) || {};
  const Plotly = await loadPlotly();
  const H = R.model.num_heads;
  for (const [label, stats] of Object.entries(labels)) {
    const stat = stats.find((s) => R.statistics.includes(s));
    if (!stat) continue;
    const div = el("div", "label-map");
    div.dataset.label = label;
    box.append(div);
    const z = grid(stat, "score");
    const members = new Set((R.labelled[label] || []).map(([l, h]) => l * H + h));
    const text = z.map((row, l) => row.map((_, h) => (members.has(l * H + h) ? "●" : "")));
    await Plotly.react(div, [{ type: "heatmap", z, text, texttemplate: "%{text}", hovertemplate: `layer %{y}, head %{x}<br>${stat}: %{z:.3f}<extra></extra>`,
                               colorscale: "Viridis", showscale: false }], {
      title: { text: `${label} (${stat}) · ${members.size} heads`, font: { size: 12 } },
      xaxis: { dtick: 2 }, yaxis: { dtick: 1, autorange: "reversed" }, margin: { l: 28, r: 6, t: 30, b: 24 },
    }, { displaylogo: false, staticPlot: false });
    div.on("plotly_click", (ev) => { const p = ev.points[0]; onPick(p.y, p.x, stat); });
  }
}
