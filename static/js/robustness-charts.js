// The /robustness charts (plotly, served from /static/vendor): accuracy per test (source vs
// variant, 95% CI error bars), flip rate / ARS / debiased accuracy per test, and the heads ×
// tests heatmap of how much more each head moved on broken than on held pairs.

import { loadPlotly } from "./plotly-loader.js";
import { $, el, fmt } from "./dom.js";
import { view, pub, writeView } from "./robustness-state.js";
import { plotlyScale, scaleControl, scaleWords, thinned, LABEL_PX } from "./heatmap-scale.js";
import { exportButtons, captionLines } from "./export-image.js";

const CONFIG = { displaylogo: false, responsive: true };
// the bar charts keep no mode bar: it would cover their titles on hover, and PNG/SVG are the panel's buttons
const BAR_CONFIG = { ...CONFIG, displayModeBar: false };

// a bar from fewer pairs than the minimum n is drawn faded, as the tests table greys it (docs/concepts.md#minimum-n)
const FADED = 0.3;
const belowMinN = (r, minN) => !!(r && r.n != null && r.n < minN);

/** A bar trace of Rates with asymmetric CI error bars; bars below the minimum n faded. */
function rateBars(name, tests, pick, color, minN) {
  const rates = tests.map(pick);
  const y = rates.map((r) => (r && r.value != null ? r.value : null));
  const small = rates.map((r) => (belowMinN(r, minN) ? `<br>n below the minimum n of ${minN}: too few to compare on` : ""));
  return {
    type: "bar", name, x: tests.map((t) => t.test), y,
    marker: { color, opacity: rates.map((r) => (belowMinN(r, minN) ? FADED : 1)) },
    error_y: { type: "data", symmetric: false, visible: true,
               array: rates.map((r) => (r && r.ci && r.ci[1] != null ? r.ci[1] - r.value : 0)),
               arrayminus: rates.map((r) => (r && r.ci && r.ci[0] != null ? r.value - r.ci[0] : 0)) },
    customdata: rates.map((r, i) => (r ? [r.n, fmt(r.ci && r.ci[0]), fmt(r.ci && r.ci[1]), small[i]] : [0, "–", "–", ""])),
    hovertemplate: `%{x}<br>${name}: %{y:.3f} [%{customdata[1]}, %{customdata[2]}], n=%{customdata[0]}%{customdata[3]}<extra></extra>`,
  };
}

const layout = (title, yTitle, extra = {}) => ({
  title: { text: title, font: { size: 13 }, y: 0.97 }, barmode: "group", margin: { l: 56, r: 10, t: 64, b: 100 },
  yaxis: { range: [0, 1.05], title: { text: yTitle } }, xaxis: { tickangle: -30, title: { text: "test" } },
  legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" }, ...extra,
});

function counted(node) {
  pub.plots += 1;
  node.dataset.drawn = String(pub.plots);
}

/** Both bar charts; onPick(test) on a click. */
export async function drawRateCharts(result, onPick) {
  const Plotly = await loadPlotly();
  const tests = result.tests, minN = result.min_n || 1;
  const faded = tests.some((t) => [t.source_accuracy, t.variant_accuracy].some((r) => belowMinN(r, minN)));
  const fadedNote = (on) => (on ? ` · faded: n < ${minN}` : "");
  const acc = $("chart-accuracy");
  await Plotly.react(acc, [rateBars("source", tests, (t) => t.source_accuracy, "#98a2b3", minN),
                           rateBars("variant", tests, (t) => t.variant_accuracy, "#344054", minN)],
                     layout("Accuracy per test (95% CI)" + fadedNote(faded), "accuracy"), BAR_CONFIG);
  const traces = [rateBars("flip rate", tests, (t) => t.flip_rate, "#f79009", minN)];
  if (result.model.task === "absa") traces.push(rateBars("ARS", tests, (t) => t.aspect_robustness, "#12b76a", minN));
  if (tests.some((t) => t.debiased_accuracy)) traces.push(rateBars("debiased accuracy", tests, (t) => t.debiased_accuracy, "#7a5af8", minN));
  const rates = $("chart-rates");
  const names = traces.map((t) => t.name);
  const title = names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}` : names[0];
  const ratesFaded = traces.some((t) => t.marker.opacity.includes(FADED));
  await Plotly.react(rates, traces, layout(title[0].toUpperCase() + title.slice(1) + " per test (95% CI)" + fadedNote(ratesFaded),
    "rate"), BAR_CONFIG);
  for (const node of [acc, rates]) {
    if (!node.dataset.bound) {
      node.on("plotly_click", (ev) => onPick(ev.points[0].x));
      node.dataset.bound = "1";
    }
    counted(node);
  }
}

let drawn = null; // {result, onPick} of the heads chart shown: what the scale control and the downloads use

/** PNG/SVG buttons for each chart (once): the caption names the model, the data and the settings. */
function bindExports(onError) {
  const caption = (extra) => () => captionLines({ model: drawn.result.model.id,
    input: `${(drawn.result.data || {}).name || view.data}`, tests: drawn.result.tests.length, ...extra() });
  const plotly = (id) => async () => [await loadPlotly(), $(id)];
  for (const [id, extra] of [["chart-accuracy", () => ({})], ["chart-rates", () => ({})],
    ["chart-heads", () => ({ queries: view.query === "cls" ? "[CLS]" : "focus", colour: scaleWords(view.scale) })]]) {
    exportButtons($(id), { id: `${id}-export`, name: () => `headscope-${drawn.result.model.id}-${id}`, caption: caption(extra),
      plotly: plotly(id), onError });
  }
}

// rows of the heads chart: at most this tall (px) before the head labels are thinned
const HEADS_CHART_MAX = 900, ROW_PX = 14;

/** Heads × tests: one row per head (layer.head), one column per test, the colour the separation
 *  (broken − held mean change) of the chosen query set under the chosen colour scale; head labels
 *  thinned (every k-th head, never a smaller font) when the rows are too short for them all.
 *  onPick(test, layer, head) on a click. */
export async function drawHeadsChart(result, onPick) {
  const Plotly = await loadPlotly();
  const { num_layers: L, num_heads: H } = result.model;
  const heads = [];
  for (let l = 0; l < L; l++) for (let h = 0; h < H; h++) heads.push(`${l}.${h}`);
  const tests = result.tests.map((t) => t.test);
  const moved = result.tests.map((t) => t.moved && t.moved[view.query]);
  const cols = moved.map((m) => (m ? m.separation.mean.flat() : heads.map(() => null)));
  const lows = moved.map((m) => (m ? m.separation.low.flat() : null)), highs = moved.map((m) => (m ? m.separation.high.flat() : null));
  const raw = heads.map((_, k) => cols.map((c) => c[k]));
  const text = heads.map((name, k) => tests.map((test, i) => {
    const lo = lows[i] ? lows[i][k] : null, hi = highs[i] ? highs[i][k] : null;
    return `${test} · layer ${name.replace(".", ", head ")}<br>broken − held: ${fmt(raw[k][i])}` +
      (lo != null ? ` [${fmt(lo)}, ${fmt(hi)}]` : "") + (moved[i] ? `<br>broken ${moved[i].broken.n}, held ${moved[i].held.n}` : "");
  }));
  const node = $("chart-heads");
  drawn = { result, onPick };
  node.querySelector(".chart-empty")?.remove();
  if (moved.every((m) => !m)) {  // no test has both broken and held pairs: an all-blank map would draw a junk axis
    Plotly.purge(node);
    delete node.dataset.bound;  // purge took the click handler with it
    node.append(el("p", "chart-empty muted", "No head to show: no test had both broken and held pairs (a " +
      "head's change is compared between the two), so nothing moved. Run more sources or other tests to break some."));
    node.dataset.empty = "1";
    counted(node);
    return;
  }
  delete node.dataset.empty;
  const plotH = Math.min(HEADS_CHART_MAX, ROW_PX * heads.length), margin = { l: 56, r: 10, t: 40, b: 110 };
  const shown = thinned(heads.length, plotH);
  scaleControl(node, "heads-scale", view.scale, (scale) => {
    view.scale = scale;
    writeView();
    drawHeadsChart(drawn.result, drawn.onPick).catch((e) => console.error(e));
  });
  bindExports((e) => console.error(e));
  await Plotly.react(node, [{ type: "heatmap", x: tests, y: heads, text, hoverinfo: "text", colorscale: "RdBu",
                              ...plotlyScale(raw, view.scale, "broken − held") }], {
    title: { text: `Heads × tests: change on broken − held pairs (${view.query === "cls" ? "[CLS]" : "focus"} queries) · ${scaleWords(view.scale)}`,
             font: { size: 13 } },
    yaxis: { title: { text: "layer.head" }, type: "category", autorange: "reversed", tickfont: { size: LABEL_PX },
             tickvals: shown.map((k) => heads[k]), ticktext: shown.map((k) => heads[k]) },
    xaxis: { type: "category", title: { text: "test" }, tickfont: { size: LABEL_PX }, tickangle: -30, automargin: true },
    margin, height: plotH + margin.t + margin.b,
  }, CONFIG);
  node.dataset.rowLabels = String(shown.length);
  node.dataset.scale = view.scale;
  if (!node.dataset.bound) {
    node.on("plotly_click", (ev) => {
      const p = ev.points[0], [l, h] = String(p.y).split(".").map(Number);
      onPick(p.x, l, h);
    });
    node.dataset.bound = "1";
  }
  counted(node);
}
