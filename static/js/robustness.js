// Controller of /robustness: a job page (job-page.js) whose form starts a robustness run
// (robustness-form.js); once it is done it shows the result: accuracy / flip rate / ARS charts and the heads × tests
// heatmap (robustness-charts.js), the tests table and the chosen test's examples, each with a link
// to the compare view (robustness-tables.js). A seed group picked as the model runs through /api/robustness-groups
// and its result draws as one (robustness-groups.js); "Recent runs" lists both kinds, a group run by its
// NAME@SEEDS, and reopens either here. View state lives in the URL (robustness-state.js).

import { jobPage } from "./job-page.js";
import { bindChoices, GROUP_BASE, loadChoices, modelCard, showJob, startRun } from "./robustness-form.js";
import { drawGroup, redrawMoved } from "./robustness-groups.js";
import { isGroup } from "./seed-groups.js";
import { showUntrained } from "./model-provenance.js";
import { drawRateCharts, drawHeadsChart } from "./robustness-charts.js";
import { drawTests, drawExamples, markSelected } from "./robustness-tables.js";
import { drawCarriers } from "./robustness-carriers.js";
import { $, el, fmt } from "./dom.js";
import { view, pub, writeView } from "./robustness-state.js";

const PHASES = { loading: "loading the model", generating: "making the variants", scoring: "scoring sources and variants",
                 "attacking (pwws)": "attacking (PWWS)", "attacking (hotflip)": "attacking (HotFlip)",
                 comparing: "comparing the seeds' moved heads" };
let shown = null;

function pickTest(test, layer = null, head = null) {
  if (!shown || !shown.tests.some((t) => t.test === test)) return;
  view.test = test;
  view.layer = layer;
  view.head = head;
  writeView();
  markSelected();
  drawExamples(shown);
}

/** A seed group's result: its own sections, the single run's hidden. */
async function renderGroup(result, job) {
  shown = null;
  pub.result = result;
  writeView();
  $("single-results").hidden = true;
  $("download-link").href = `${GROUP_BASE}/${encodeURIComponent(view.id)}/result.json`;
  $("result-meta").textContent = `${result.group} (${result.members.length} seeds)`;
  $("not-run").replaceChildren();
  $("untrained-note").hidden = true;
  $("results").hidden = false;
  try { await drawGroup(result, job); } catch (e) { page.fail(e.message); }
}

async function render(result, job) {
  if (result.moved && result.members) return renderGroup(result, job);
  $("group-results").hidden = true;
  $("single-results").hidden = false;
  shown = pub.result = result;
  if (!result.tests.some((t) => t.test === view.test)) {
    // the test that broke most, else the first
    const ranked = [...result.tests].sort((a, b) => b.broken - a.broken);
    view.test = ranked.length ? ranked[0].test : "";
  }
  writeView();
  const d = result.data || {};
  const name = (job && job.data && job.data.name) || d.name;
  $("result-meta").textContent = `${result.model.id} on ${name}: ${d.sources} sources, ${d.variants} variants, ` +
    `source accuracy ${fmt(result.overall && result.overall.source_accuracy)}, computed ${result.computed_at}` +
    (job && job.cached ? " · from the cache" : "");
  $("download-link").href = `/api/robustness/${encodeURIComponent(view.id)}/result.json`;
  $("not-run").replaceChildren(...Object.entries(result.not_run || {}).map(([test, why]) => el("li", null, `${test} did not run: ${why}`)));
  showUntrained($("untrained-note"), modelCard(result.model.id)); // its predictions are the examples' and the rates'
  $("query-select").value = view.query;
  $("results").hidden = false;
  drawTests(result, (t) => pickTest(t));
  drawCarriers(result, pickTest);
  drawExamples(result);
  try {
    await drawRateCharts(result, (t) => pickTest(t));
    await drawHeadsChart(result, pickTest);
  } catch (e) { page.fail(e.message); }
}

/** A listed run's address: its id and model (a group's NAME@SEEDS says which kind of job the id is). */
const runLink = (job) => `?id=${encodeURIComponent(job.id)}&model=${encodeURIComponent(job.model)}`;

const page = jobPage({
  form: "robustness-form", base: () => (isGroup(view.model) ? GROUP_BASE : "/api/robustness"),
  history: [{ base: "/api/robustness", label: "run", link: runLink }, { base: GROUP_BASE, label: "seed group", link: runLink }],
  name: "robustness run", unit: "inputs", phases: PHASES,
  jobId: () => view.id, load: loadChoices, start: startRun, saveView: writeView, render,
  reopened: showJob,  // a run reopened from its URL or the history ticks the tests it ran
  onStatus: (status) => { pub.job = status; },
});

bindChoices(page.fail);
$("query-select").addEventListener("change", () => {
  view.query = $("query-select").value;
  writeView();
  if (!shown) return;
  drawTests(shown, (t) => pickTest(t));
  drawExamples(shown);
  drawHeadsChart(shown, pickTest).catch((e) => page.fail(e.message));
});

$("group-query-select").addEventListener("change", () => {
  view.query = $("group-query-select").value;
  writeView();
  if (pub.result && pub.result.moved) redrawMoved(pub.result).catch((e) => page.fail(e.message));
});

page.open();
