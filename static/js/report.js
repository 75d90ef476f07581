// Controller of /report: start a report (report-form.js), follow its progress (job-follower.js), then show
// it: the checkpoints across the perspectives, the summary table, performance against interpretability,
// reliability diagrams and ROC curves (report-charts.js), and each checkpoint's details (report-tables.js).
// View state lives in the URL (report-state.js).

import { request } from "./api.js";
import { jobPage } from "./job-follower.js";
import { bindForm, fillSettings, loadChoices, startReport } from "./report-form.js";
import { drawPerspectives, drawReliability, drawRoc, drawScatter } from "./report-charts.js";
import { drawDetails, drawSummary } from "./report-tables.js";
import { $, view, pub, writeView, showError, hideError } from "./report-state.js";

async function render(result, job) {
  pub.result = result;
  writeView();
  const names = result.models.map((m) => m.id).join(", ");
  $("result-meta").textContent = `${names} · computed ${result.computed_at}` + (job && job.cached ? " · from the cache" : "");
  $("download-link").href = `/api/reports/${encodeURIComponent(view.id)}/result.json`;
  $("results").hidden = false;
  drawSummary(result);
  drawDetails(result);
  try {
    await drawPerspectives(result);
    await drawScatter(result);
    await drawReliability(result);
    await drawRoc(result);
  } catch (e) { showError(e.message); }
  document.body.dataset.rendered = "1";
}

/** Follow a report to its end (from `first`, a status in hand, if any), then render it. */
const follow = jobPage({
  base: "/api/reports", name: "report", unit: "inputs", render,
  onUpdate: (status) => { pub.job = status; },
  done: () => { $("start-button").disabled = false; },
  onError: showError,
});

async function start() {
  hideError();
  $("start-button").disabled = true;
  document.body.dataset.rendered = "";
  try {
    const job = await startReport();
    writeView();
    follow(job.id, job);
  } catch (e) {
    showError(e.message);
    $("start-button").disabled = false;
  }
}

bindForm(start);

async function main() {
  try {
    await loadChoices();
    if (view.id) {
      const job = await request(`/api/reports/${encodeURIComponent(view.id)}?result=false`);
      fillSettings(job.settings);
      follow(view.id, job);
    }
  } catch (e) {
    showError(e.message);
  }
  document.body.dataset.ready = "1";
}
main();
