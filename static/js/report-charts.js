// The /report charts (plotly, served from /static/vendor): the checkpoints across the perspectives,
// performance against interpretability, a reliability diagram and the ROC curves per checkpoint. With seed groups
// (report-groups.js) each chart draws one entry per group, its mean with ±SD over the seeds as error bars, the
// per-seed values in the hover.

import { loadPlotly } from "./plotly-loader.js";
import { $, conceptLink, el, fmt } from "./dom.js";
import { pub } from "./report-state.js";
import { entryModels, entryRows, errorBars, spreadHover } from "./report-groups.js";
import { exportButtons, captionLines } from "./export-image.js";

const CONFIG = { displaylogo: false, responsive: true };
// One meaning per colour on the page: each checkpoint keeps its colour in every chart. Whatever else a chart
// tells apart (in distribution against under attack, sets, before and after scaling) is drawn by marker shape,
// fill or dash, and its legend says so.
const COLORS = ["#2a5bd7", "#d92d20", "#12b76a", "#f79009", "#7a5af8", "#0e9384", "#c11574", "#475467"];
const color = (i) => COLORS[i % COLORS.length];
const DASHES = ["dash", "dot", "dashdot", "longdash", "longdashdot"];
const GREY = "#98a2b3";
const INK = "#101828";  // error bars over a filled bar

/** The six axes of the comparison: value(row) in [0, 1]; null where a model has no figure. `what` names the
 *  figure of a checkpoint, `direction` says which way is better (or that the axis ranks nothing). */
export const PERSPECTIVES = [
  { key: "in_distribution", label: "in distribution", value: (r) => r.in_distribution, figure: () => "in_distribution", what: (r) => r.accuracy_name,
    direction: "higher is better" },
  { key: "shift", label: "distribution shift", value: (r) => r.shift, figure: () => "shift", what: (r) => `${r.accuracy_name} on shifted data`,
    direction: "higher is better" },
  { key: "adversarial", label: "under attack", value: (r) => r.adversarial, figure: () => "adversarial", what: () => "accuracy under attack (mean over attacks)",
    direction: "higher is better" },
  { key: "calibration", label: "calibration (1 − ECE)", what: (r) => (r.ece_scaled != null ? "1 − ECE after temperature scaling" : "1 − ECE"),
    value: (r) => { const e = r.ece_scaled != null ? r.ece_scaled : r.ece; return e == null ? null : 1 - e; },
    figure: (r) => (r.ece_scaled != null ? "ece_scaled" : "ece"),  // 1 − ECE: the same SD
    direction: "higher is better (1 is perfectly calibrated)" },
  { key: "anomaly", label: "OOD detection (AUROC)", value: (r) => r.auroc, figure: () => "auroc", what: () => "AUROC of the maximum softmax probability, test against out-of-domain inputs (mean over sets)",
    direction: "higher is better (0.5 is chance)" },
  { key: "interpretability", label: "interpretability rate", value: (r) => r.interpretability,
    figure: () => "interpretability",
    what: () => "share of test examples whose top-3 [CLS]-attended words of the last layer hold the gold span (Stevens & Su)",
    direction: "describes attention, ranks nothing: a pretrained base can score higher than its fine-tune" },
];

function counted(node, result) {
  pub.plots += 1;
  node.dataset.drawn = String(pub.plots);
  if (result) exportable(node, result);
}

/** PNG/SVG buttons before a chart: the caption names the checkpoints and the chart. */
function exportable(node, result) {
  if (!node.id) node.id = `${node.parentNode.parentNode.id}-${node.dataset.model}`.replace(/[^\w-]+/g, "_");
  exportButtons(node, {
    id: node.id + "-export", name: () => `headscope-report-${node.id}`,
    caption: () => captionLines({ model: entryModels(result).map((m) => m.id).join(", "),
      chart: ((node.layout || {}).title || {}).text, computed: result.computed_at }),
    plotly: async () => [await loadPlotly(), node], onError: (e) => console.error(e),
  });
}

/** A chart of a grid (one per checkpoint), in its own box so that its download buttons sit above it. */
function gridChart(box, model) {
  const node = el("div", "rp-chart"), figure = document.createElement("div");
  node.dataset.model = model;
  figure.append(node);
  box.append(figure);
  return node;
}

const title = (text) => ({ text, font: { size: 13 }, y: 0.97 });

/** What each axis of the comparison is, per checkpoint where the figure differs by task, and its direction. */
// where each perspective's figure is defined on /concepts
const AXIS_CONCEPTS = { in_distribution: "accuracy-and-f1-per-task", shift: "distribution-shift", adversarial: "accuracy-under-attack",
  calibration: "ece", anomaly: "ood-auroc", interpretability: "interpretability-rate" };

function axisNotes(rows) {
  const ul = el("ul", "rp-notes");
  ul.id = "perspective-axes";
  for (const p of PERSPECTIVES) {
    const names = [...new Set(rows.map((r) => p.what(r)))];
    const what = names.length === 1 ? names[0] : rows.map((r) => `${r.model}: ${p.what(r)}`).join("; ");
    const li = el("li", "", "");
    li.dataset.axis = p.key;
    li.append(el("strong", "", p.label), ` — ${what}; ${p.direction}. `, conceptLink(AXIS_CONCEPTS[p.key]));
    ul.append(li);
  }
  return ul;
}

/** A row's name in a legend: a seed group says that its bars are means over its seeds. */
const entryName = (r) => `${r.model} (${r.method || "vanilla"}${r.group ? `; mean ± SD, ${r.members.length} seeds` : ""})`;
const spreadOf = (r, key) => (r.spread ? r.spread[key] : null);

/** Grouped bars: one per checkpoint (or seed group: its mean, ±SD error bars) on each perspective. */
export async function drawPerspectives(result) {
  const Plotly = await loadPlotly();
  const rows = entryRows(result);
  const traces = rows.map((r, i) => {
    const y = PERSPECTIVES.map((p) => p.value(r));
    const spreads = PERSPECTIVES.map((p) => spreadOf(r, p.figure(r)));
    return {
      type: "bar", name: entryName(r), x: PERSPECTIVES.map((p) => p.label), y,
      marker: { color: color(i) }, text: y.map((v) => (v == null ? "" : fmt(v, 2))), textposition: "outside",
      customdata: PERSPECTIVES.map((p, k) => [p.what(r), y[k] == null ? "not available" : fmt(y[k]), spreadHover(spreads[k])]),
      hovertemplate: `${r.model}<br>%{customdata[0]}: %{customdata[1]}%{customdata[2]}<extra></extra>`,
      ...errorBars(spreads, INK),
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
  counted(node, result);
  $("perspective-notes").replaceChildren(axisNotes(rows));
}

/** In-distribution accuracy and accuracy under attack against the interpretability rate: colour = checkpoint
 *  (as in every chart), filled circle = in distribution, open diamond = under attack. */
export async function drawScatter(result) {
  const Plotly = await loadPlotly();
  const series = [["in_distribution", "in distribution", "circle"], ["adversarial", "under attack", "diamond-open"]];
  const traces = entryRows(result).flatMap((r, i) => (r.interpretability == null ? [] : series
    .filter(([key]) => r[key] != null)
    .map(([key, name, symbol]) => ({
      type: "scatter", mode: "markers", name: `${r.model} · ${name}`, x: [r.interpretability], y: [r[key]],
      marker: { size: 12, symbol, color: color(i), line: { width: 2, color: color(i) } }, cliponaxis: false,
      ...errorBars([spreadOf(r, "interpretability")], color(i), "x"), ...errorBars([spreadOf(r, key)], color(i)),
      customdata: [[spreadHover(spreadOf(r, "interpretability")), spreadHover(spreadOf(r, key))]],
      hovertemplate: `${r.model}<br>interpretability rate %{x:.3f}%{customdata[0]}<br>${name}: %{y:.3f} (${key === "in_distribution" ? r.accuracy_name : "accuracy under attack"})%{customdata[1]}<extra></extra>`,
    }))));
  const node = $("chart-scatter");
  await Plotly.react(node, traces, {
    title: title("Performance against interpretability"), margin: { l: 60, r: 10, t: 40, b: 50 },
    xaxis: { title: { text: "interpretability rate (describes attention; not better or worse)" }, range: [-0.05, 1.05] },
    yaxis: { title: { text: "accuracy (↑ better; each task's headline)" }, range: [-0.05, 1.1] },
    legend: { x: 1.02, y: 1, font: { size: 11 }, title: { text: "checkpoint · set:" } },
  }, CONFIG);
  counted(node, result);
  const c = result.summary.correlation || {};
  $("correlation-note").textContent = c.spearman != null
    ? `Spearman's ρ = ${fmt(c.spearman)} (p = ${fmt(c.p_value)}) over ${c.models} checkpoints.` : (c.note || "");
}

const binCenters = (bins) => bins.map((b) => (b.low + b.high) / 2);

const binSpreads = (bins) => bins.map((b) => b.spread);
// a seed group's chart says that it draws means over the seeds, with ±SD as error bars
const over = (m) => (m.group ? ` (mean ± SD over ${m.seeds} seeds)` : "");

/** One reliability diagram per checkpoint (or seed group: per bin the mean accuracy, ±SD error bars): accuracy per
 *  bin before and after scaling, shifted sets as lines. */
export async function drawReliability(result) {
  const Plotly = await loadPlotly();
  const box = $("reliability-charts");
  box.replaceChildren();
  for (const [index, m] of entryModels(result).entries()) {
    const c = m.calibration, test = c.in_distribution;
    const node = gridChart(box, m.id);
    const width = 1 / c.bins;
    const traces = [
      { type: "bar", name: `before scaling (bars; ECE ${fmt(test.ece)})`, x: binCenters(test.reliability), width,
        y: test.reliability.map((b) => b.accuracy), marker: { color: color(index), opacity: 0.3 },
        customdata: test.reliability.map((b) => [fmt(b.count, m.group ? 1 : 0), fmt(b.confidence), spreadHover(b.spread)]),
        ...errorBars(binSpreads(test.reliability), INK),
        hovertemplate: "bin %{x:.2f}: accuracy %{y:.3f}, confidence %{customdata[1]}, n=%{customdata[0]}%{customdata[2]}<extra></extra>" },
      { type: "scatter", mode: "lines", name: "perfect calibration", x: [0, 1], y: [0, 1], line: { dash: "dot", color: "#475467" } },
    ];
    if (test.reliability_scaled) {
      traces.splice(1, 0, { type: "scatter", mode: "lines+markers", name: `after T=${fmt(c.temperature, 2)} (line; ECE ${fmt(test.ece_scaled)})`,
        x: binCenters(test.reliability_scaled), y: test.reliability_scaled.map((b) => b.accuracy),
        line: { color: color(index) }, connectgaps: true, ...errorBars(binSpreads(test.reliability_scaled), color(index)) });
    }
    c.shift.forEach((s, i) => traces.push({ type: "scatter", mode: "lines+markers", name: `${s.name} (ECE ${fmt(s.ece)})`,
      x: binCenters(s.reliability), y: s.reliability.map((b) => b.accuracy), line: { color: GREY, dash: DASHES[i % DASHES.length] },
      connectgaps: true, ...errorBars(binSpreads(s.reliability), GREY) }));
    await Plotly.react(node, traces, {
      title: title(`${m.id}: ${test.name}${over(m)}`), margin: { l: 55, r: 10, t: 40, b: 60 }, bargap: 0.05,
      xaxis: { title: { text: "confidence" }, range: [0, 1] }, yaxis: { title: { text: "accuracy" }, range: [0, 1.05] },
      legend: { orientation: "h", x: 0, y: -0.3, font: { size: 10 } },
    }, CONFIG);
    counted(node, result);
  }
}

/** One ROC chart per checkpoint, a curve per out-of-domain set (a seed group: the mean TPR of its seeds' curves
 *  at each FPR of a grid, ±SD error bars). */
export async function drawRoc(result) {
  const Plotly = await loadPlotly();
  const box = $("roc-charts");
  box.replaceChildren();
  for (const [index, m] of entryModels(result).entries()) {
    const node = gridChart(box, m.id);
    const sets = m.anomaly.sets;
    const traces = sets.map((s, i) => ({ type: "scatter", mode: "lines", name: `${s.name} (AUROC ${fmt(s.auroc)})`,
      x: s.roc.fpr, y: s.roc.tpr, line: { color: color(index), shape: s.averaged ? "linear" : "hv", dash: i ? DASHES[(i - 1) % DASHES.length] : "solid" },
      ...errorBars(s.roc.spread, color(index)), customdata: (s.roc.spread || []).map((t) => [spreadHover(t)]),
      hovertemplate: `FPR %{x:.3f}, TPR %{y:.3f}${s.roc.spread ? "%{customdata[0]}" : ""}<extra></extra>` }));
    traces.push({ type: "scatter", mode: "lines", name: "chance (AUROC 0.5)", x: [0, 1], y: [0, 1], line: { dash: "dot", color: GREY } });
    await Plotly.react(node, traces, {
      title: title(sets.length ? `${m.id}: ${m.anomaly.in_distribution} vs out of domain${over(m)}` : `${m.id}: ${m.anomaly.not_available}`),
      margin: { l: 55, r: 10, t: 40, b: 60 }, xaxis: { title: { text: "false-positive rate" }, range: [0, 1] },
      yaxis: { title: { text: "true-positive rate" }, range: [0, 1.02] }, legend: { orientation: "h", x: 0, y: -0.3, font: { size: 10 } },
    }, CONFIG);
    counted(node, result);
  }
}
