// Controller of /report: a job page (job-page.js) whose form starts a report (report-form.js); once it is
// done it shows the checkpoints across the perspectives, the summary table, performance against interpretability,
// reliability diagrams and ROC curves (report-charts.js), each seed group's spread and the paired comparison
// (report-groups.js), and each checkpoint's details (report-tables.js).
// View state lives in the URL (report-state.js).

import { jobPage } from "./job-page.js";
import { loadChoices, showJob, startReport } from "./report-form.js";
import { drawPerspectives, drawReliability, drawRoc, drawScatter } from "./report-charts.js";
import { drawDetails, drawSummary } from "./report-tables.js";
import { drawGroups } from "./report-groups.js";
import { $ } from "./dom.js";
import { view, pub, writeView } from "./report-state.js";

async function render(result, job) {
  pub.result = result;
  writeView();
  const entries = result.seed_groups ? result.seed_groups.entries.map((e) => e.label) : result.models.map((m) => m.id);
  const names = entries.join(", ");
  $("result-meta").textContent = `${names} · computed ${result.computed_at}` + (job && job.cached ? " · from the cache" : "");
  $("download-link").href = `/api/reports/${encodeURIComponent(view.id)}/result.json`;
  $("results").hidden = false;
  drawGroups(result);
  drawSummary(result);
  drawDetails(result);
  try {
    await drawPerspectives(result);
    await drawScatter(result);
    await drawReliability(result);
    await drawRoc(result);
  } catch (e) { page.fail(e.message); }
}

const page = jobPage({
  form: "report-form", base: "/api/reports", name: "report", unit: "inputs",
  jobId: () => view.id, load: loadChoices, start: startReport, saveView: writeView, render,
  reopened: showJob,  // a report reopened from its URL or the history shows its checkpoints and settings
  onStatus: (status) => { pub.job = status; },
});

page.open();
