// Controller of /analysis: a job page (job-page.js) whose form starts a head analysis
// (analysis-form.js); once it is done it shows the result: heatmaps (summary-heatmaps.js), the ranked table
// and panels (summary-tables.js) with each head's typical examples as links into the live head
// view (typical-examples.js), and "Save as finding" (summary-finding.js). View state (model,
// data, analysis id, statistic, head) lives in the URL (summary-state.js). "Recent runs" lists the
// analyses and the seed-group comparisons (NAME@SEEDS), the latter opened in the Across seeds panel
// (analysis-seed-groups.js).

import { jobPage } from "./job-page.js";
import { GROUP_BASE, openGroupRun, rerunGroupRun, whenGroupJobsChange } from "./analysis-seed-groups.js";
import { bindChoices, loadChoices, modelById, showJob, startAnalysis } from "./analysis-form.js";
import { showUntrained } from "./model-provenance.js";
import { setResult, statNames, rankedHeads, headAt, VIRTUAL } from "./analysis-result.js";
import { drawMain, drawLabelMaps } from "./summary-heatmaps.js";
import { drawTable, drawHead, drawPanels, drawSupport, markSelectedRow } from "./summary-tables.js";
import { saveFinding } from "./summary-finding.js";
import { drawAttributionFacts } from "./summary-attribution.js";
import { drawFaithfulnessFacts } from "./summary-faithfulness.js";
import { drawNormFacts } from "./summary-norm.js";
import { $, fmt } from "./dom.js";
import { view, pub, writeView } from "./summary-state.js";

const PHASES = { loading: "loading the models", statistics: "statistics pass", importance: "head importance and ablation" };

function selectHead(layer, head) {
  view.layer = layer; view.head = head;
  writeView();
  markSelectedRow();
  drawHead();
}

/** Show another statistic everywhere (table order, head panel, support line, main heatmap). */
function setStat(stat) {
  view.stat = stat;
  $("stat-select").value = stat;
  writeView();
  drawSupport();
  drawTable(selectHead);
  drawHead();
  return drawMain(selectHead);
}

async function pickFromLabelMap(layer, head, stat) {
  if (stat !== view.stat) await setStat(stat);
  selectHead(layer, head);
}

async function render(result, job) {
  setResult(result);
  pub.result = result;
  const names = statNames(result);
  if (!names.includes(view.stat)) {
    const preferred = result.model.task === "re" ? "entity_mass" : "aspect_mass";
    view.stat = names.includes(preferred) ? preferred : names[0];
  }
  $("stat-select").replaceChildren(...names.map((n) => new Option(VIRTUAL[n] || n, n)));
  $("stat-select").value = view.stat;
  $("value-select").value = ["score", "margin", "pretrained"].includes(view.value) ? view.value : "score";
  if (view.layer == null || view.head == null || !headAt(view.layer, view.head)) {
    const best = rankedHeads(view.stat)[0].h;
    view.layer = best.layer; view.head = best.head;
  }
  writeView();
  const d = result.data;
  $("result-meta").textContent = `${result.model.id} on ${(job && job.data && job.data.name) || d.path}: ${d.pairs} pairs (${d.pairing}), ` +
    `${fmt(result.pairs_per_s, 1)} pairs/s, computed ${result.computed_at}` + (job && job.cached ? " · from the cache" : "");
  $("download-link").href = `/api/analyses/${result.analysis_id}/result.json`;
  showUntrained($("analysis-untrained"), modelById(result.model.id));
  $("results").hidden = false;
  drawSupport();
  drawTable(selectHead);
  drawHead();
  drawPanels();
  drawAttributionFacts(result);
  drawFaithfulnessFacts(result);
  drawNormFacts(result);
  try {
    await drawMain(selectHead);
    await drawLabelMaps(pickFromLabelMap);
  } catch (e) { page.fail(e.message); }
}

const page = jobPage({
  form: "analysis-form", base: "/api/analyses", name: "analysis", unit: "pairs", phases: PHASES,
  history: [{ base: "/api/analyses", label: "analysis" },
            { base: GROUP_BASE, label: "seed group", link: (job) => `?group=${encodeURIComponent(job.id)}`,
              current: () => view.group, open: (job) => openGroupRun(job.id), rerun: (job) => rerunGroupRun(job.rerun) }],
  jobId: () => view.id, load: loadChoices, start: startAnalysis, reopened: showJob, saveView: writeView, render,
  onStatus: (status) => { pub.job = status; },
});

bindChoices();
whenGroupJobsChange(page.refreshHistory);
$("stat-select").addEventListener("change", () => setStat($("stat-select").value));
$("value-select").addEventListener("change", () => { view.value = $("value-select").value; writeView(); drawMain(selectHead); });
$("save-finding").addEventListener("click", saveFinding);
page.open();
