// The /analysis heatmaps (plotly, served from /static/vendor): the main layers × heads map of
// the chosen statistic and value kind, and one small map per label category with its labelled
// heads marked. A click on a cell picks that head.

import { loadPlotly } from "./plotly-loader.js";
import { shown, entry, grid, VIRTUAL } from "./analysis-result.js";
import { $, el, fmt } from "./dom.js";
import { view, pub, writeView } from "./summary-state.js";
import { plotlyScale, scaleControl, scaleWords, thinned, LABEL_PX } from "./heatmap-scale.js";
import { exportButtons, captionLines } from "./export-image.js";

const range = (n) => Array.from({ length: n }, (_, i) => i);

/** Axis ticks of n heads (or layers) across `px`: every k-th one when they are too many to label all. */
const ticks = (n, px) => ({ tickmode: "array", tickvals: thinned(n, px), ticktext: thinned(n, px).map(String), tickfont: { size: LABEL_PX } });

let redraw = null; // draws both maps again (the colour-scale control)

/** The scale control and the main map's downloads, once. */
function bindControls(node, onPick) {
  redraw = () => { drawMain(onPick); drawLabelMaps(labelPick); };
  scaleControl(node, "map-scale", view.scale, (scale) => { view.scale = scale; writeView(); redraw(); });
  exportButtons(node, {
    id: "heatmap-main-export", name: () => `headscope-${shown.result.model.id}-${view.stat}-map`,
    caption: () => captionLines({ model: shown.result.model.id, input: (shown.result.data && shown.result.data.name) || view.data,
      statistic: view.stat, value: view.value, colour: scaleWords(view.scale) }),
    plotly: async () => [await loadPlotly(), node],
    onError: (e) => console.error(e),
  });
}
let labelPick = () => {};

/** Draw #heatmap-main; onPick(layer, head) on a click. */
export async function drawMain(onPick) {
  const Plotly = await loadPlotly();
  const R = shown.result, stat = view.stat, z = grid(stat, view.value), H = R.model.num_heads;
  const text = z.map((row, l) => row.map((v, h) => {
    const e = entry(shown.byHead[l * H + h], stat);
    // a CI always with its n (the examples it rests on)
    return `head ${l}.${h}<br>${stat}: ${fmt(v)}` +
      (e && e.ci ? `<br>95% CI [${fmt(e.ci[0])}, ${fmt(e.ci[1])}]${e.n != null ? `, n = ${e.n}` : ""}` : "");
  }));
  const node = $("heatmap-main"), margin = view.value === "margin", L = R.model.num_layers;
  if (!redraw) bindControls(node, onPick);
  const box = node.getBoundingClientRect();
  await Plotly.react(node, [{
    type: "heatmap", text, hoverinfo: "text", colorscale: margin ? "RdBu" : "Viridis", reversescale: margin,
    x: range(H), y: range(L), ...plotlyScale(z, view.scale, VIRTUAL[stat] || stat),
  }], {
    title: { text: (VIRTUAL[stat] || stat) + (view.value === "score" ? "" : ` (${$("value-select").selectedOptions[0].textContent})`) +
      ` · ${view.scale} colour scale`, font: { size: 13 } },
    xaxis: { title: "head", ...ticks(H, (box.width || 560) - 140) },
    yaxis: { title: "layer", autorange: "reversed", ...ticks(L, (box.height || 420) - 76) },
    margin: { l: 50, r: 10, t: 36, b: 40 },
  }, { displaylogo: false, responsive: true });
  node.dataset.scale = view.scale;
  if (!node.dataset.bound) {
    node.on("plotly_click", (ev) => { const p = ev.points[0]; onPick(p.y, p.x); });
    node.dataset.bound = "1";
  }
  pub.plots += 1;
  node.dataset.drawn = String(pub.plots);
}

/** Fill #label-maps, one map per label of the result's rule; onPick(layer, head, stat) on a click. */
export async function drawLabelMaps(onPick) {
  labelPick = onPick;
  const box = $("label-maps");
  box.replaceChildren();
  const R = shown.result, labels = (R.rule && R.rule.labels) || {};
  const Plotly = await loadPlotly();
  const H = R.model.num_heads;
  for (const [label, stats] of Object.entries(labels)) {
    const stat = stats.find((s) => R.statistics.includes(s));
    if (!stat) continue;
    const div = el("div", "label-map"), figure = el("div", "label-map-box");  // the box holds its downloads too
    div.dataset.label = label;
    figure.append(div);
    box.append(figure);
    const z = grid(stat, "score");
    const members = new Set((R.labelled[label] || []).map(([l, h]) => l * H + h));
    const text = z.map((row, l) => row.map((_, h) => (members.has(l * H + h) ? "●" : "")));
    const hover = z.map((row, l) => row.map((v, h) => `head ${l}.${h}<br>${stat}: ${fmt(v)}`));
    const colours = plotlyScale(z, view.scale, stat);
    await Plotly.react(div, [{ type: "heatmap", z: colours.z, zmin: colours.zmin, zmax: colours.zmax, zmid: colours.zmid,
                               text, texttemplate: "%{text}", customdata: hover, hovertemplate: "%{customdata}<extra></extra>",
                               colorscale: "Viridis", showscale: false }], {
      title: { text: `${label} (${stat}) · ${members.size} ${members.size === 1 ? "head" : "heads"}`, font: { size: 12 } },
      xaxis: { title: { text: "head", font: { size: 10 }, standoff: 2 }, ...ticks(H, 214) },
      yaxis: { title: { text: "layer", font: { size: 10 }, standoff: 2 }, autorange: "reversed", ...ticks(z.length, 150) },
      margin: { l: 40, r: 6, t: 30, b: 36 },
    }, { displaylogo: false, staticPlot: false });
    div.on("plotly_click", (ev) => { const p = ev.points[0]; onPick(p.y, p.x, stat); });
    exportButtons(div, {
      id: `label-map-${label.replace(/[^\w-]+/g, "_")}-export`, name: () => `headscope-${R.model.id}-${label}-map`,
      caption: () => captionLines({ model: R.model.id, input: (R.data && R.data.name) || view.data,
        view: "layers × heads", label, statistic: stat, "● marks": `the ${members.size} heads labelled ${label}`,
        rule: ruleWords(R.rule), colour: scaleWords(view.scale) }),
      plotly: async () => [Plotly, div],
      onError: (e) => console.error(e),
    });
  }
}

/** The labelling rule in a few words for a caption (the thresholds the result was labelled with). */
function ruleWords(rule) {
  if (!rule) return "";
  const parts = Object.entries(rule).filter(([k, v]) => k !== "labels" && (typeof v === "number" || typeof v === "string"));
  return parts.map(([k, v]) => `${k.replace(/_/g, " ")} ${v}`).join(", ");
}
