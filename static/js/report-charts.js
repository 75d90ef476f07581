// The /report charts (plotly, served from /static/vendor): the checkpoints across the perspectives,
// performance against interpretability, a reliability diagram and the ROC curves per checkpoint.

import { loadPlotly } from "./plotly-loader.js";
import { $, el, fmt } from "./dom.js";
import { pub } from "./report-state.js";

const CONFIG = { displaylogo: false, responsive: true };
const COLORS = ["#2a5bd7", "#d92d20", "#12b76a", "#f79009", "#7a5af8", "#0e9384", "#c11574", "#475467"];
const color = (i) => COLORS[i % COLORS.length];

/** The six axes of the comparison: value(row) in [0, 1], higher is better; null where a model has no figure. */
export const PERSPECTIVES = [
  { key: "in_distribution", label: "in distribution", value: (r) => r.in_distribution, what: (r) => r.accuracy_name },
  { key: "shift", label: "distribution shift", value: (r) => r.shift, what: (r) => `${r.accuracy_name} on shifted data` },
  { key: "adversarial", label: "under attack", value: (r) => r.adversarial, what: () => "accuracy under attack (mean)" },
  { key: "calibration", label: "calibration (1 − ECE)", what: (r) => (r.ece_scaled != null ? "1 − ECE after temperature scaling" : "1 − ECE"),
    value: (r) => { const e = r.ece_scaled != null ? r.ece_scaled : r.ece; return e == null ? null : 1 - e; } },
  { key: "anomaly", label: "OOD detection (AUROC)", value: (r) => r.auroc, what: () => "AUROC of max softmax (mean)" },
  { key: "interpretability", label: "interpretability rate", value: (r) => r.interpretability, what: () => "Stevens & Su's rate" },
];

function counted(node) {
  pub.plots += 1;
  node.dataset.drawn = String(pub.plots);
}

const title = (text) => ({ text, font: { size: 13 }, y: 0.97 });

/** Grouped bars: one per checkpoint on each perspective. */
export async function drawPerspectives(result) {
  const Plotly = await loadPlotly();
  const rows = result.summary.rows;
  const traces = rows.map((r, i) => {
    const y = PERSPECTIVES.map((p) => p.value(r));
    return {
      type: "bar", name: `${r.model} (${r.method || "vanilla"})`, x: PERSPECTIVES.map((p) => p.label), y,
      marker: { color: color(i) }, text: y.map((v) => (v == null ? "" : fmt(v, 2))), textposition: "outside",
      customdata: PERSPECTIVES.map((p, k) => [p.what(r), y[k] == null ? "not available" : fmt(y[k])]),
      hovertemplate: `${r.model}<br>%{customdata[0]}: %{customdata[1]}<extra></extra>`,
    };
  });
  const missing = PERSPECTIVES.flatMap((p) => rows.filter((r) => p.value(r) == null).map((r) => `${r.model}: no ${p.label}`));
  // a perspective a checkpoint has no figure for is labelled on the chart, never drawn as a zero
  const annotations = PERSPECTIVES.map((p) => [p, rows.filter((r) => p.value(r) == null).map((r) => r.model)])
    .filter(([, models]) => models.length)
    .map(([p, models]) => ({ x: p.label, y: 0.06, text: `not available:<br>${models.join("<br>")}`, showarrow: false,
                             font: { size: 10, color: "#667085" } }));
  const node = $("chart-perspectives");
  await Plotly.react(node, traces, {
    title: title("Checkpoints across the perspectives" + (missing.length ? ` (missing: ${missing.join("; ")})` : "")),
    annotations, barmode: "group", yaxis: { range: [0, 1.12], title: "score (higher is better)" },
    margin: { l: 60, r: 10, t: 70, b: 60 }, legend: { orientation: "h", x: 0, y: 1.08, yanchor: "bottom" },
  }, CONFIG);
  counted(node);
}

/** In-distribution accuracy and accuracy under attack against the interpretability rate, one point per checkpoint. */
export async function drawScatter(result) {
  const Plotly = await loadPlotly();
  const rows = result.summary.rows.filter((r) => r.interpretability != null);
  const series = [["in_distribution", "in distribution", "circle"], ["adversarial", "under attack", "diamond"]];
  const traces = series.map(([key, name, symbol], k) => ({
    type: "scatter", mode: "markers+text", name, x: rows.map((r) => r.interpretability), y: rows.map((r) => r[key]),
    text: rows.map((r) => r.model), textposition: "top center", marker: { size: 11, symbol, color: k ? "#d92d20" : "#2a5bd7" },
    hovertemplate: `%{text}<br>interpretability %{x:.3f}<br>${name}: %{y:.3f}<extra></extra>`,
  }));
  const node = $("chart-scatter");
  await Plotly.react(node, traces, {
    title: title("Performance against interpretability"), margin: { l: 55, r: 10, t: 50, b: 50 },
    xaxis: { title: "interpretability rate", range: [-0.05, 1.05] }, yaxis: { title: "accuracy", range: [-0.05, 1.1] },
    legend: { orientation: "h", x: 0, y: -0.25 },
  }, CONFIG);
  counted(node);
  const c = result.summary.correlation || {};
  $("correlation-note").textContent = c.spearman != null
    ? `Spearman's ρ = ${fmt(c.spearman)} (p = ${fmt(c.p_value)}) over ${c.models} checkpoints.` : (c.note || "");
}

const binCenters = (bins) => bins.map((b) => (b.low + b.high) / 2);

/** One reliability diagram per checkpoint: accuracy per bin before and after scaling, shifted sets as lines. */
export async function drawReliability(result) {
  const Plotly = await loadPlotly();
  const box = $("reliability-charts");
  box.replaceChildren();
  for (const m of result.models) {
    const c = m.calibration, test = c.in_distribution;
    const node = el("div", "rp-chart");
    node.dataset.model = m.id;
    box.append(node);
    const width = 1 / c.bins;
    const traces = [
      { type: "bar", name: `before (ECE ${fmt(test.ece)})`, x: binCenters(test.reliability), width,
        y: test.reliability.map((b) => b.accuracy), marker: { color: "#98a2b3" },
        customdata: test.reliability.map((b) => [b.count, fmt(b.confidence)]),
        hovertemplate: "bin %{x:.2f}: accuracy %{y:.3f}, confidence %{customdata[1]}, n=%{customdata[0]}<extra></extra>" },
      { type: "scatter", mode: "lines", name: "perfect", x: [0, 1], y: [0, 1], line: { dash: "dot", color: "#475467" } },
    ];
    if (test.reliability_scaled) {
      traces.splice(1, 0, { type: "scatter", mode: "lines+markers", name: `after T=${fmt(c.temperature, 2)} (ECE ${fmt(test.ece_scaled)})`,
        x: binCenters(test.reliability_scaled), y: test.reliability_scaled.map((b) => b.accuracy),
        line: { color: "#2a5bd7" }, connectgaps: true });
    }
    c.shift.forEach((s, i) => traces.push({ type: "scatter", mode: "lines+markers", name: `${s.name} (ECE ${fmt(s.ece)})`,
      x: binCenters(s.reliability), y: s.reliability.map((b) => b.accuracy), line: { color: color(i + 2), dash: "dash" },
      connectgaps: true }));
    await Plotly.react(node, traces, {
      title: title(`${m.id}: ${test.name}`), margin: { l: 50, r: 10, t: 40, b: 45 }, bargap: 0.05,
      xaxis: { title: "confidence", range: [0, 1] }, yaxis: { title: "accuracy", range: [0, 1.05] },
      legend: { orientation: "h", x: 0, y: -0.3, font: { size: 10 } },
    }, CONFIG);
    counted(node);
  }
}

/** One ROC chart per checkpoint, a curve per out-of-domain set. */
export async function drawRoc(result) {
  const Plotly = await loadPlotly();
  const box = $("roc-charts");
  box.replaceChildren();
  for (const m of result.models) {
    const node = el("div", "rp-chart");
    node.dataset.model = m.id;
    box.append(node);
    const sets = m.anomaly.sets;
    const traces = sets.map((s, i) => ({ type: "scatter", mode: "lines", name: `${s.name} (AUROC ${fmt(s.auroc)})`,
      x: s.roc.fpr, y: s.roc.tpr, line: { color: color(i), shape: "hv" },
      hovertemplate: "FPR %{x:.3f}, TPR %{y:.3f}<extra></extra>" }));
    traces.push({ type: "scatter", mode: "lines", name: "chance", x: [0, 1], y: [0, 1], line: { dash: "dot", color: "#98a2b3" } });
    await Plotly.react(node, traces, {
      title: title(sets.length ? `${m.id}: ${m.anomaly.in_distribution} vs out of domain` : `${m.id}: ${m.anomaly.not_available}`),
      margin: { l: 50, r: 10, t: 40, b: 45 }, xaxis: { title: "false-positive rate", range: [0, 1] },
      yaxis: { title: "true-positive rate", range: [0, 1.02] }, legend: { orientation: "h", x: 0, y: -0.3, font: { size: 10 } },
    }, CONFIG);
    counted(node);
  }
}
