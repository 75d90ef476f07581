// Controller of /robustness: start a robustness run (robustness-form.js), follow its progress
// (job-follower.js), then show the result: accuracy / flip rate / ARS charts and the heads × tests
// heatmap (robustness-charts.js), the tests table and the chosen test's examples, each with a link
// to the compare view (robustness-tables.js). View state lives in the URL (robustness-state.js).

import { request } from "./api.js";
import { jobPage } from "./job-follower.js";
import { bindForm, fillTests, loadChoices, startRun } from "./robustness-form.js";
import { drawRateCharts, drawHeadsChart } from "./robustness-charts.js";
import { drawTests, drawExamples, markSelected } from "./robustness-tables.js";
import { $, view, pub, writeView, fmt, showError, hideError } from "./robustness-state.js";

const PHASES = { loading: "loading the model", generating: "making the variants", scoring: "scoring sources and variants",
                 "attacking (pwws)": "attacking (PWWS)", "attacking (hotflip)": "attacking (HotFlip)" };
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

async function render(result, job) {
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
  $("not-run").replaceChildren(...Object.entries(result.not_run || {}).map(([test, why]) => {
    const li = document.createElement("li");
    li.textContent = `${test} did not run: ${why}`;
    return li;
  }));
  $("query-select").value = view.query;
  $("results").hidden = false;
  drawTests(result, (t) => pickTest(t));
  drawExamples(result);
  try {
    await drawRateCharts(result, (t) => pickTest(t));
    await drawHeadsChart(result, pickTest);
  } catch (e) { showError(e.message); }
  document.body.dataset.rendered = "1";
}

/** Follow a job to its end (from `first`, a status in hand, if any), then render it. */
const follow = jobPage({
  base: "/api/robustness", name: "robustness run", unit: "inputs", phases: PHASES, render,
  onUpdate: (status) => { pub.job = status; },
  done: () => { $("start-button").disabled = false; },
  onError: showError,
});

async function start() {
  hideError();
  $("start-button").disabled = true;
  document.body.dataset.rendered = "";
  try {
    const job = await startRun();
    writeView();
    follow(job.id, job);
  } catch (e) {
    showError(e.message);
    $("start-button").disabled = false;
  }
}

bindForm(start, showError);
$("query-select").addEventListener("change", () => {
  view.query = $("query-select").value;
  writeView();
  if (!shown) return;
  drawTests(shown, (t) => pickTest(t));
  drawExamples(shown);
  drawHeadsChart(shown, pickTest).catch((e) => showError(e.message));
});

async function main() {
  try {
    await loadChoices();
    if (view.id) {
      const job = await request(`/api/robustness/${encodeURIComponent(view.id)}?result=false`);
      if (job.settings && job.settings.tests) await fillTests(job.settings.tests);
      follow(view.id, job);
    }
  } catch (e) {
    showError(e.message);
  }
  document.body.dataset.ready = "1";
}
main();
