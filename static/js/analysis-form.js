// The /analysis form: the model and dataset choices (datasets of the model's task, shared data
// files, or an uploaded JSONL), the settings, and the request that starts an analysis
// (job-page.js sends it when the form is submitted).

import { getModels, request } from "./api.js";
import { $ } from "./dom.js";
import { view } from "./summary-state.js";
import { markAnalysisOptions } from "./capabilities.js";

/** Disable the options this checkpoint and data cannot run, with the server's reason beside each. */
function markOptions() {
  const upload = $("upload-input").files.length > 0;
  return markAnalysisOptions($("analysis-options"), $("model-select").value, upload ? "" : $("data-select").value);
}

let models = [], datasets = { demo: [], shared: [] };

/** The listed checkpoint `id` (GET /api/models), or undefined. */
export const modelById = (id) => models.find((x) => x.id === id);

function modelTask() { const m = models.find((x) => x.id === $("model-select").value); return m ? m.task : null; }

/** The dataset choices for the chosen model (keeps the one in the URL or the current one if offered). */
export function fillDatasets() {
  const task = modelTask(), sel = $("data-select"), keep = view.data || sel.value;
  const opts = [];
  for (const d of datasets.demo) if (!task || d.task === task) opts.push(new Option(`${d.name} (demo: the demo model's training data)`, d.name));
  for (const d of datasets.shared) if (!task || !d.task || d.task === task) opts.push(new Option(`${d.name} (${d.format})`, d.name));
  sel.replaceChildren(...opts);
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
  markOptions();
}

/** Load the models and datasets into the form (GET /api/models, /api/analyses/datasets). */
export async function loadChoices() {
  const [m, d] = await Promise.all([getModels(), request("/api/analyses/datasets")]);
  models = m.models || [];
  datasets = d;
  $("model-select").replaceChildren(...models.map((x) => new Option(`${x.id} (${x.task})`, x.id)));
  const initial = view.model && models.some((x) => x.id === view.model) ? view.model : (m.defaults && m.defaults.absa) || (models[0] && models[0].id);
  if (initial) $("model-select").value = initial;
  fillDatasets();
}

export function settingsFromForm() {
  const num = (id) => { const v = parseInt($(id).value, 10); return Number.isFinite(v) ? v : null; };
  const s = { batch_size: num("batch-size") || null, bootstrap: num("bootstrap") || 1000,
              pretrained: $("pretrained").checked, importance: $("importance").checked, lexicon: $("lexicon").checked };
  const max = num("max-examples");
  if (max) s.max_examples = max;
  // integrated gradients feed the agreement statistics, so asking for them turns agreement on
  s.agreement = $("agreement").checked || $("ig").checked;
  if ($("ig").checked) Object.assign(s, { ig: true, ig_steps: num("ig-steps") || 32 });
  if ($("attention-kind").value === "norm") s.attention = "norm";  // every statistic reads norm-based attention
  return s;
}

/** POST /api/analyses with the form's choices; the job status (202 new, 200 running or cached). */
export async function startAnalysis() {
  const body = { model: $("model-select").value, settings: settingsFromForm() };
  const faithLimit = parseInt($("faith-limit").value, 10);
  if (faithLimit > 0) body.faithfulness = { limit: faithLimit };
  const file = $("upload-input").files[0];
  if (file) body.upload = await file.text();
  else body.data = $("data-select").value;
  let job;
  try {
    job = await request("/api/analyses", { method: "POST", body });
  } catch (e) {
    // the server names an upload by its content's hash (upload:<sha256>); the user knows the file by its name
    if (file) e.message = e.message.replace(/upload:[0-9a-f]{64}/g, `your file "${file.name}"`);
    throw e;
  }
  view.model = body.model; view.data = job.data.name; view.id = job.id;
  view.layer = view.head = null;
  return job;
}

/** Set the view to a job (the URL's, one reopened from the history or rerun) and its settings into the form. */
export function showJob(job) {
  if (job.id !== view.id) view.layer = view.head = null;
  Object.assign(view, { id: job.id, model: job.model || view.model, data: (job.data && job.data.name) || view.data });
  if ([...$("model-select").options].some((o) => o.value === view.model)) $("model-select").value = view.model;
  fillDatasets();
  const s = job.settings || {}, set = (id, v) => { if (v != null) $(id).value = v; };
  if (job.settings) $("max-examples").value = s.max_examples ?? "";  // none: the run took all (reads "all")
  $("batch-size").value = s.batch_size ?? ""; set("bootstrap", s.bootstrap); set("ig-steps", s.ig_steps);
  for (const key of ["pretrained", "importance", "lexicon", "agreement", "ig"]) if (key in s) $(key).checked = !!s[key];
  $("attention-kind").value = s.attention === "norm" ? "norm" : "weights";
  $("faith-limit").value = (job.faithfulness && job.faithfulness.limit) || 0;
}

/** Keep the dataset choices in step with the model (the form's submit is job-page.js's). */
export function bindChoices() {
  $("model-select").addEventListener("change", () => { view.model = $("model-select").value; view.data = ""; fillDatasets(); });
  $("data-select").addEventListener("change", () => { view.data = $("data-select").value; $("upload-input").value = ""; markOptions(); });
  $("upload-input").addEventListener("change", markOptions);
}
