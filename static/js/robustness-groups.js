// /robustness for a seed group (a result of POST /api/robustness-groups, app/core/robustness/seed_moved.py): each
// test's figures over the seeds (per seed, and mean ± SD with min–max), a chart of the variant accuracy and flip
// rate means with min–max bars and each seed's value in the hover, links to each seed's own run, and per test and
// query set the heads that moved in each seed: the table and the layers × heads map of k/n drawn by seed-groups.js,
// as /analysis draws its labels across seeds.
// Hooks for tests: window.headscope.result = the group result; #group-results[data-drawn] once its maps are drawn,
// #group-maps[data-query] the query set whose maps are drawn.

import { loadPlotly } from "./plotly-loader.js";
import { drawHeadSetsMaps, drawHeadSetsTable } from "./seed-groups.js";
import { $, el, fmt, MISSING } from "./dom.js";
import { view } from "./robustness-state.js";

const QUERY_SETS = { focus: "aspect/entity rows", cls: "[CLS] rows" };
const FIGURES = [["source_accuracy", "source accuracy"], ["variant_accuracy", "variant accuracy"], ["flip_rate", "flip rate"]];

/** "0.412 ± 0.061 [0.350, 0.470]" for a spread over seeds (SD absent under two seeds). */
export function spreadText(s, digits = 3) {
  if (!s || s.mean == null) return MISSING;
  const sd = s.sd != null ? ` ± ${fmt(s.sd, digits)}` : "";
  return `${fmt(s.mean, digits)}${sd} [${fmt(s.min, digits)}, ${fmt(s.max, digits)}]`;
}

function drawMeta(result, job) {
  const moved = result.moved, data = result.members[0].data || {};
  $("group-meta").textContent = `${result.group}: ${result.members.length} seeds on ${(job && job.data && job.data.name) || data.name}, ` +
    `${data.sources ?? "?"} sources each; ${moved.layers} layers × ${moved.heads} heads, top ${moved.top_heads} moved heads per test` +
    (job && job.cached ? " · from the cache" : "");
  $("group-links").replaceChildren(...result.members.flatMap((m, i) => {
    const a = el("a", "seed-link", `seed ${m.seed} (${m.model})`);
    if (m.robustness_id) a.href = `/robustness?id=${encodeURIComponent(m.robustness_id)}&model=${encodeURIComponent(m.model)}`;
    return i ? [", ", a] : [a];
  }));
  const notes = moved.not_in_every_seed.length ? [el("li", null, `not run in every seed: ${moved.not_in_every_seed.join(", ")}`)] : [];
  $("group-notes").replaceChildren(...notes, el("li", null, `moved: ${moved.rule}`), el("li", null, `chance: ${moved.chance}`));
}

function drawFigures(result) {
  const seeds = result.members.map((m) => m.seed), head = el("tr");
  for (const t of ["test", ...FIGURES.map(([, name]) => `${name}: mean ± SD [min, max]`), ...seeds.map((s) => `seed ${s} flip rate`), "broken / held per seed"]) head.append(el("th", null, t));
  const rows = result.figures.map((f) => {
    const tr = el("tr");
    tr.dataset.test = f.test;
    tr.append(el("td", null, f.test));
    for (const [key] of FIGURES) tr.append(el("td", "num", spreadText(f[key])));
    for (const v of f.flip_rate.values) tr.append(el("td", "num", v.value == null ? MISSING : fmt(v.value)));
    tr.append(el("td", "num", f.broken.values.map((b, i) => `${fmt(b.value, 0)}/${fmt(f.held.values[i].value, 0)}`).join(", ")));
    return tr;
  });
  $("group-figures").replaceChildren(head, ...rows);
}

/** Bars of the means over seeds, min–max error bars, each seed's value in the hover. */
function spreadBars(name, figures, key, color) {
  const s = figures.map((f) => f[key]);
  return {
    type: "bar", name, x: figures.map((f) => f.test), y: s.map((x) => x.mean), marker: { color },
    error_y: { type: "data", symmetric: false, visible: true,
               array: s.map((x) => (x.max != null ? x.max - x.mean : 0)), arrayminus: s.map((x) => (x.min != null ? x.mean - x.min : 0)) },
    customdata: s.map((x) => [x.values.map((v) => `seed ${v.seed}: ${v.value == null ? MISSING : fmt(v.value)}`).join("<br>"), fmt(x.sd)]),
    hovertemplate: `%{x}<br>${name}: mean %{y:.3f}, SD %{customdata[1]}<br>%{customdata[0]}<extra></extra>`,
  };
}

async function drawChart(result) {
  const Plotly = await loadPlotly();
  // the page's colours: variant accuracy slate, flip rate orange (red and blue belong to the heads map)
  await Plotly.react($("group-chart"), [spreadBars("variant accuracy", result.figures, "variant_accuracy", "#344054"),
                                        spreadBars("flip rate", result.figures, "flip_rate", "#f79009")], {
    title: { text: `Over ${result.members.length} seeds: mean, bars min–max`, font: { size: 13 }, y: 0.97 }, barmode: "group",
    margin: { l: 56, r: 10, t: 64, b: 100 }, yaxis: { range: [0, 1.05], title: { text: "rate" } },
    xaxis: { tickangle: -30, title: { text: "test" } }, legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
  }, { displaylogo: false, displayModeBar: false, responsive: true });
}

/** The moved heads of the chosen query set: every test in the table, a map for each test where some seed moved a head. */
async function drawMoved(result) {
  const moved = result.moved, rows = moved.tests.filter((r) => r.query_set === view.query);
  delete $("group-maps").dataset.query;
  const name = (r) => r.test;
  drawHeadSetsTable($("group-moved-table"), moved.seeds, rows, { rowTitle: "test", key: "test", nameOf: name });
  const mapped = rows.filter((r) => r.heads.some((hs) => hs.length));
  const unranked = rows.filter((r) => r.unranked.length).map((r) => `${r.test}: no head ranked for seed ${r.unranked.join(", ")} (no broken or no held pair)`);
  $("group-moved-notes").replaceChildren(...unranked.map((t) => el("li", null, t)),
    ...(mapped.length ? [] : [el("li", null, `no test moved a head more on broken than on held pairs in any seed (${QUERY_SETS[view.query]})`)]));
  await drawHeadSetsMaps($("group-maps"), moved.seeds, mapped, { key: "test", nameOf: name, what: (r) => `moved on ${r.test}` });
  $("group-maps").dataset.query = view.query;
}

/** Draw a group result into #group-results (the single-run sections are the caller's to hide). */
export async function drawGroup(result, job) {
  delete $("group-results").dataset.drawn;
  $("group-query-select").value = view.query;
  drawMeta(result, job);
  drawFigures(result);
  $("group-results").hidden = false;
  await drawChart(result);
  await drawMoved(result);
  $("group-results").dataset.drawn = result.group;
}

/** The query set changed: the moved heads again. */
export async function redrawMoved(result) {
  await drawMoved(result);
}
