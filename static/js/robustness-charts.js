// The /robustness charts (plotly, served from /static/vendor): accuracy per test (source vs
// variant, 95% CI error bars), flip rate / ARS / debiased accuracy per test, and the heads ×
// tests heatmap of how much more each head moved on broken than on held pairs.

import { loadPlotly } from "./plotly-loader.js";
import { $, fmt } from "./dom.js";
import { view, pub } from "./robustness-state.js";

const CONFIG = { displaylogo: false, responsive: true };

/** A bar trace of Rates with asymmetric CI error bars. */
function rateBars(name, tests, pick, color) {
  const rates = tests.map(pick);
  const y = rates.map((r) => (r && r.value != null ? r.value : null));
  return {
    type: "bar", name, x: tests.map((t) => t.test), y, marker: { color },
    error_y: { type: "data", symmetric: false, visible: true,
               array: rates.map((r) => (r && r.ci && r.ci[1] != null ? r.ci[1] - r.value : 0)),
               arrayminus: rates.map((r) => (r && r.ci && r.ci[0] != null ? r.value - r.ci[0] : 0)) },
    customdata: rates.map((r) => (r ? [r.n, fmt(r.ci && r.ci[0]), fmt(r.ci && r.ci[1])] : [0, "–", "–"])),
    hovertemplate: `%{x}<br>${name}: %{y:.3f} [%{customdata[1]}, %{customdata[2]}], n=%{customdata[0]}<extra></extra>`,
  };
}

const layout = (title, extra = {}) => ({
  title: { text: title, font: { size: 13 }, y: 0.97 }, barmode: "group", margin: { l: 50, r: 10, t: 64, b: 90 },
  yaxis: { range: [0, 1.05], title: "share" }, xaxis: { tickangle: -30 },
  legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" }, ...extra,
});

function counted(node) {
  pub.plots += 1;
  node.dataset.drawn = String(pub.plots);
}

/** Both bar charts; onPick(test) on a click. */
export async function drawRateCharts(result, onPick) {
  const Plotly = await loadPlotly();
  const tests = result.tests;
  const acc = $("chart-accuracy");
  await Plotly.react(acc, [rateBars("source", tests, (t) => t.source_accuracy, "#98a2b3"),
                           rateBars("variant", tests, (t) => t.variant_accuracy, "#2a5bd7")],
                     layout("Accuracy per test (95% CI)"), CONFIG);
  const traces = [rateBars("flip rate", tests, (t) => t.flip_rate, "#d92d20")];
  if (result.model.task === "absa") traces.push(rateBars("ARS", tests, (t) => t.aspect_robustness, "#12b76a"));
  if (tests.some((t) => t.debiased_accuracy)) traces.push(rateBars("debiased accuracy", tests, (t) => t.debiased_accuracy, "#7a5af8"));
  const rates = $("chart-rates");
  const names = traces.map((t) => t.name);
  const title = names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}` : names[0];
  await Plotly.react(rates, traces, layout(title[0].toUpperCase() + title.slice(1) + " per test (95% CI)"), CONFIG);
  for (const node of [acc, rates]) {
    if (!node.dataset.bound) {
      node.on("plotly_click", (ev) => onPick(ev.points[0].x));
      node.dataset.bound = "1";
    }
    counted(node);
  }
}

/** Heads × tests: z[test][head] = separation (broken − held mean change) of the chosen query set;
 *  onPick(test, layer, head) on a click. */
export async function drawHeadsChart(result, onPick) {
  const Plotly = await loadPlotly();
  const { num_layers: L, num_heads: H } = result.model;
  const x = [];
  for (let l = 0; l < L; l++) for (let h = 0; h < H; h++) x.push(`${l}.${h}`);
  const rows = result.tests.map((t) => {
    const moved = t.moved && t.moved[view.query];
    return moved ? moved.separation.mean.flat() : x.map(() => null);
  });
  const tests = result.tests.map((t) => t.test);
  const text = rows.map((row, i) => row.map((v, k) => {
    const moved = result.tests[i].moved[view.query];
    const lo = moved ? moved.separation.low.flat()[k] : null, hi = moved ? moved.separation.high.flat()[k] : null;
    return `${tests[i]} · layer ${x[k].replace(".", ", head ")}<br>broken − held: ${fmt(v)}` +
      (lo != null ? ` [${fmt(lo)}, ${fmt(hi)}]` : "") + (moved ? `<br>broken ${moved.broken.n}, held ${moved.held.n}` : "");
  }));
  const node = $("chart-heads");
  await Plotly.react(node, [{ type: "heatmap", z: rows, x, y: tests, text, hoverinfo: "text", colorscale: "RdBu",
                              zmid: 0, colorbar: { title: { text: "sep." } } }], {
    title: { text: `Heads × tests: change on broken − held pairs (${view.query === "cls" ? "[CLS]" : "focus"} queries)`, font: { size: 13 } },
    xaxis: { title: "layer.head", type: "category", tickfont: { size: 9 }, dtick: 1 },
    yaxis: { type: "category", automargin: true }, margin: { l: 10, r: 10, t: 36, b: 50 },
    height: Math.max(260, 60 + 26 * tests.length),
  }, CONFIG);
  if (!node.dataset.bound) {
    node.on("plotly_click", (ev) => {
      const p = ev.points[0], [l, h] = String(p.x).split(".").map(Number);
      onPick(p.y, l, h);
    });
    node.dataset.bound = "1";
  }
  counted(node);
}
