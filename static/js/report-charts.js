// The /report charts (plotly, served from /static/vendor): the checkpoints across the perspectives,
// performance against interpretability, a reliability diagram and the ROC curves per checkpoint.

import { loadPlotly } from "./plotly-loader.js";
import { $, el, fmt } from "./dom.js";
import { pub } from "./report-state.js";

const CONFIG = { displaylogo: false, responsive: true };
// One meaning per colour on the page: each checkpoint keeps its colour in every chart. Whatever else a chart
// tells apart (in distribution against under attack, sets, before and after scaling) is drawn by marker shape,
// fill or dash, and its legend says so.
const COLORS = ["#2a5bd7", "#d92d20", "#12b76a", "#f79009", "#7a5af8", "#0e9384", "#c11574", "#475467"];
const color = (i) => COLORS[i % COLORS.length];
const DASHES = ["dash", "dot", "dashdot", "longdash", "longdashdot"];
const GREY = "#98a2b3";

/** The six axes of the comparison: value(row) in [0, 1]; null where a model has no figure. `what` names the
 *  figure of a checkpoint, `direction` says which way is better (or that the axis ranks nothing). */
export const PERSPECTIVES = [
  { key: "in_distribution", label: "in distribution", value: (r) => r.in_distribution, what: (r) => r.accuracy_name,
    direction: "higher is better" },
  { key: "shift", label: "distribution shift", value: (r) => r.shift, what: (r) => `${r.accuracy_name} on shifted data`,
    direction: "higher is better" },
  { key: "adversarial", label: "under attack", value: (r) => r.adversarial, what: () => "accuracy under attack (mean over attacks)",
    direction: "higher is better" },
  { key: "calibration", label: "calibration (1 − ECE)", what: (r) => (r.ece_scaled != null ? "1 − ECE after temperature scaling" : "1 − ECE"),
    value: (r) => { const e = r.ece_scaled != null ? r.ece_scaled : r.ece; return e == null ? null : 1 - e; },
    direction: "higher is better (1 is perfectly calibrated)" },
  { key: "anomaly", label: "OOD detection (AUROC)", value: (r) => r.auroc, what: () => "AUROC of the maximum softmax probability, test against out-of-domain inputs (mean over sets)",
    direction: "higher is better (0.5 is chance)" },
  { key: "interpretability", label: "interpretability rate", value: (r) => r.interpretability,
    what: () => "share of test examples whose top-3 [CLS]-attended words of the last layer hold the gold span (Stevens & Su)",
    direction: "describes attention, ranks nothing: a pretrained base can score higher than its fine-tune" },
];

function counted(node) {
  pub.plots += 1;
  node.dataset.drawn = String(pub.plots);
}

const title = (text) => ({ text, font: { size: 13 }, y: 0.97 });

/** What each axis of the comparison is, per checkpoint where the figure differs by task, and its direction. */
function axisNotes(rows) {
  const ul = el("ul", "rp-notes");
  ul.id = "perspective-axes";
  for (const p of PERSPECTIVES) {
    const names = [...new Set(rows.map((r) => p.what(r)))];
    const what = names.length === 1 ? names[0] : rows.map((r) => `${r.model}: ${p.what(r)}`).join("; ");
    const li = el("li", "", "");
    li.dataset.axis = p.key;
    li.append(el("strong", "", p.label), ` — ${what}; ${p.direction}.`);
    ul.append(li);
  }
  return ul;
}

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
  // a perspective a checkpoint has no figure for is said on the chart, never drawn as a zero: one line per
  // checkpoint, anchored above the axis so the lines stack instead of running into the tick labels
  const annotations = PERSPECTIVES.map((p) => [p, rows.filter((r) => p.value(r) == null).map((r) => r.model)])
    .filter(([, models]) => models.length)
    .map(([p, models]) => ({ x: p.label, y: 0.02, yanchor: "bottom", text: `not available:<br>${models.join("<br>")}`,
                             showarrow: false, align: "center", font: { size: 11, color: "#667085" } }));
  const node = $("chart-perspectives");
  await Plotly.react(node, traces, {
    title: title("Checkpoints across the perspectives (a missing bar is marked not available)"),
    annotations, barmode: "group", yaxis: { range: [0, 1.12], title: { text: "score, 0 to 1 (what each axis is: below)" } },
    xaxis: { title: { text: "perspective" } },
    margin: { l: 60, r: 10, t: 70, b: 70 }, legend: { orientation: "h", x: 0, y: 1.08, yanchor: "bottom", title: { text: "checkpoint:" } },
  }, CONFIG);
  counted(node);
  $("perspective-notes").replaceChildren(axisNotes(rows));
}

/** In-distribution accuracy and accuracy under attack against the interpretability rate: colour = checkpoint
 *  (as in every chart), filled circle = in distribution, open diamond = under attack. */
export async function drawScatter(result) {
  const Plotly = await loadPlotly();
  const series = [["in_distribution", "in distribution", "circle"], ["adversarial", "under attack", "diamond-open"]];
  const traces = result.summary.rows.flatMap((r, i) => (r.interpretability == null ? [] : series
    .filter(([key]) => r[key] != null)
    .map(([key, name, symbol]) => ({
      type: "scatter", mode: "markers", name: `${r.model} · ${name}`, x: [r.interpretability], y: [r[key]],
      marker: { size: 12, symbol, color: color(i), line: { width: 2, color: color(i) } }, cliponaxis: false,
      hovertemplate: `${r.model}<br>interpretability rate %{x:.3f}<br>${name}: %{y:.3f} (${key === "in_distribution" ? r.accuracy_name : "accuracy under attack"})<extra></extra>`,
    }))));
  const node = $("chart-scatter");
  await Plotly.react(node, traces, {
    title: title("Performance against interpretability"), margin: { l: 60, r: 10, t: 40, b: 50 },
    xaxis: { title: { text: "interpretability rate (describes attention; not better or worse)" }, range: [-0.05, 1.05] },
    yaxis: { title: { text: "accuracy (↑ better; each task's headline)" }, range: [-0.05, 1.1] },
    legend: { x: 1.02, y: 1, font: { size: 11 }, title: { text: "checkpoint · set:" } },
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
  for (const [index, m] of result.models.entries()) {
    const c = m.calibration, test = c.in_distribution;
    const node = el("div", "rp-chart");
    node.dataset.model = m.id;
    box.append(node);
    const width = 1 / c.bins;
    const traces = [
      { type: "bar", name: `before scaling (bars; ECE ${fmt(test.ece)})`, x: binCenters(test.reliability), width,
        y: test.reliability.map((b) => b.accuracy), marker: { color: color(index), opacity: 0.3 },
        customdata: test.reliability.map((b) => [b.count, fmt(b.confidence)]),
        hovertemplate: "bin %{x:.2f}: accuracy %{y:.3f}, confidence %{customdata[1]}, n=%{customdata[0]}<extra></extra>" },
      { type: "scatter", mode: "lines", name: "perfect calibration", x: [0, 1], y: [0, 1], line: { dash: "dot", color: "#475467" } },
    ];
    if (test.reliability_scaled) {
      traces.splice(1, 0, { type: "scatter", mode: "lines+markers", name: `after T=${fmt(c.temperature, 2)} (line; ECE ${fmt(test.ece_scaled)})`,
        x: binCenters(test.reliability_scaled), y: test.reliability_scaled.map((b) => b.accuracy),
        line: { color: color(index) }, connectgaps: true });
    }
    c.shift.forEach((s, i) => traces.push({ type: "scatter", mode: "lines+markers", name: `${s.name} (ECE ${fmt(s.ece)})`,
      x: binCenters(s.reliability), y: s.reliability.map((b) => b.accuracy), line: { color: GREY, dash: DASHES[i % DASHES.length] },
      connectgaps: true }));
    await Plotly.react(node, traces, {
      title: title(`${m.id}: ${test.name}`), margin: { l: 55, r: 10, t: 40, b: 60 }, bargap: 0.05,
      xaxis: { title: { text: "confidence" }, range: [0, 1] }, yaxis: { title: { text: "accuracy" }, range: [0, 1.05] },
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
  for (const [index, m] of result.models.entries()) {
    const node = el("div", "rp-chart");
    node.dataset.model = m.id;
    box.append(node);
    const sets = m.anomaly.sets;
    const traces = sets.map((s, i) => ({ type: "scatter", mode: "lines", name: `${s.name} (AUROC ${fmt(s.auroc)})`,
      x: s.roc.fpr, y: s.roc.tpr, line: { color: color(index), shape: "hv", dash: i ? DASHES[(i - 1) % DASHES.length] : "solid" },
      hovertemplate: "FPR %{x:.3f}, TPR %{y:.3f}<extra></extra>" }));
    traces.push({ type: "scatter", mode: "lines", name: "chance (AUROC 0.5)", x: [0, 1], y: [0, 1], line: { dash: "dot", color: GREY } });
    await Plotly.react(node, traces, {
      title: title(sets.length ? `${m.id}: ${m.anomaly.in_distribution} vs out of domain` : `${m.id}: ${m.anomaly.not_available}`),
      margin: { l: 55, r: 10, t: 40, b: 60 }, xaxis: { title: { text: "false-positive rate" }, range: [0, 1] },
      yaxis: { title: { text: "true-positive rate" }, range: [0, 1.02] }, legend: { orientation: "h", x: 0, y: -0.3, font: { size: 10 } },
    }, CONFIG);
    counted(node);
  }
}
