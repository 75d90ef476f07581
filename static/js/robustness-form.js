// The /robustness form: the model or a seed group of the models folder (GET /api/robustness-groups/groups, offered
// below the checkpoints as /analysis offers them: seed-groups.js), the dataset and optional training data (the
// sources every job page lists: GET /api/analyses/datasets), the tests the model's task offers
// (GET /api/robustness/tests?model=, a group's first checkpoint standing for the group), the settings, and the
// request that starts a run (POST /api/robustness, or /api/robustness-groups for a group: each seed's own run first).

import { getModels, request } from "./api.js";
import { $, el } from "./dom.js";
import { view } from "./robustness-state.js";
import { markRobustnessTests } from "./capabilities.js";
import { groupOptions, isGroup, listGroups } from "./seed-groups.js";

export const GROUP_BASE = "/api/robustness-groups";
let models = [], groups = [], datasets = { demo: [], shared: [], uploads: [] };
/** The /api/models card of a model id (null when the server does not list it). */
export const modelCard = (id) => models.find((x) => x.id === id) || null;
const chosenGroup = () => groups.find((g) => g.label === $("model-select").value) || null;
/** The checkpoint the form's tests and capabilities are asked for: the model, or a group's first seed's. */
const testedModel = () => { const g = chosenGroup(); return g ? g.models[0] : $("model-select").value; };
const modelTask = () => { const m = models.find((x) => x.id === testedModel()); return m ? m.task : null; };

function fillData() {
  const task = modelTask();
  for (const [id, keep, blank] of [["data-select", view.data, null], ["train-select", view.train, "(none)"]]) {
    const sel = $(id), chosen = keep || sel.value, opts = blank ? [new Option(blank, "")] : [];
    for (const d of datasets.demo) if (!task || d.task === task) opts.push(new Option(`${d.name} (demo: the demo model's training data)`, d.name));
    for (const d of datasets.shared) if (!task || !d.task || d.task === task) opts.push(new Option(`${d.name} (${d.format})`, d.name));
    for (const d of datasets.uploads || []) opts.push(new Option(`${d.name} (upload)`, d.name));
    sel.replaceChildren(...opts);
    if ([...sel.options].some((o) => o.value === chosen)) sel.value = chosen;
  }
}

/** The model's tests as checkboxes (ticked: the ones in `chosen`). */
export async function fillTests(chosen = []) {
  const box = $("test-choices"), model = testedModel();
  box.replaceChildren();
  if (!model) return;
  const answer = await request(`/api/robustness/tests?model=${encodeURIComponent(model)}`);
  for (const t of answer.tests) {
    const input = el("input");
    Object.assign(input, { type: "checkbox", name: "tests", value: t.name, checked: chosen.includes(t.name) });
    const label = el("label");
    label.title = t.description + (t.needs && t.needs.length ? ` (needs: ${t.needs.join(", ")})` : "");
    label.append(input, " " + t.name + " ", el("span", "family", t.family));
    box.append(label);
  }
  await markRobustnessTests(box, model, $("data-select").value, $("train-select").value);
}

/** Models, datasets and tests into the form. */
export async function loadChoices() {
  const [m, d, g] = await Promise.all([getModels(), request("/api/analyses/datasets"), listGroups(GROUP_BASE)]);
  models = m.models || [];
  datasets = d;
  groups = g;
  $("model-select").replaceChildren(...models.map((x) => new Option(`${x.id} (${x.task})`, x.id)));
  if (groups.length) $("model-select").append(groupOptions(groups));
  const known = (id) => models.some((x) => x.id === id) || groups.some((x) => x.label === id);
  const initial = view.model && known(view.model) ? view.model
    : (m.defaults && m.defaults.absa) || (models[0] && models[0].id);
  if (initial) $("model-select").value = initial;
  fillData();
  await fillTests();
}

function settingsFromForm() {
  const num = (id) => { const v = parseInt($(id).value, 10); return Number.isFinite(v) ? v : null; };
  const s = { batch_size: num("batch-size") || null, bootstrap: num("bootstrap") || 1000, top_heads: num("top-heads") || 5,
              ablate_moved: $("ablate").checked, patch: $("patch").checked, patch_limit: num("patch-limit") || 20,
              tests: [...document.querySelectorAll("#test-choices input:checked")].map((b) => b.value) };
  const max = num("max-examples");
  if (max) s.max_examples = max;
  return s;
}

/** POST /api/robustness (or /api/robustness-groups for a seed group) with the form's choices; the job status
 *  (202 new, 200 running or cached). */
export async function startRun() {
  const model = $("model-select").value, group = isGroup(model);
  const body = { [group ? "group" : "model"]: model, data: $("data-select").value, settings: settingsFromForm() };
  if ($("train-select").value) body.train = $("train-select").value;
  const job = await request(group ? GROUP_BASE : "/api/robustness", { method: "POST", body });
  Object.assign(view, { model, data: body.data, train: body.train || "", id: job.id, test: "", layer: null, head: null });
  return job;
}

/** Set the view to a job (the URL's, one reopened from the history or rerun): model, data, the tests it ran. */
export async function showJob(job) {
  if (job.id !== view.id) Object.assign(view, { test: "", layer: null, head: null });
  Object.assign(view, { id: job.id, model: job.model || view.model, data: (job.data && job.data.name) || view.data, train: job.train || "" });
  if ([...$("model-select").options].some((o) => o.value === view.model)) $("model-select").value = view.model;
  fillData();
  const s = job.settings || {}, set = (id, v) => { if (v != null) $(id).value = v; };
  if (job.settings) $("max-examples").value = s.max_examples ?? "";  // none: the run took all (reads "all")
  $("batch-size").value = s.batch_size ?? ""; set("bootstrap", s.bootstrap); set("top-heads", s.top_heads);
  if ("ablate_moved" in s) $("ablate").checked = !!s.ablate_moved;
  if ("patch" in s) $("patch").checked = !!s.patch;
  set("patch-limit", s.patch_limit);
  syncPatchLimit();
  await fillTests(s.tests || []);
}

/** Keep the data and test choices in step with the model (the form's submit is job-page.js's). */
export function bindChoices(onError) {
  $("model-select").addEventListener("change", () => {
    view.model = $("model-select").value;
    view.data = view.train = "";
    fillData();
    fillTests().catch((e) => onError(e.message));
  });
  const recheck = () => markRobustnessTests($("test-choices"), testedModel(), $("data-select").value, $("train-select").value);
  for (const id of ["data-select", "train-select"]) $(id).addEventListener("change", recheck);
  $("patch").addEventListener("change", syncPatchLimit);
  syncPatchLimit();
}

/** The pairs-per-test limit applies to patching only: off (and saying so) while patching is off. */
function syncPatchLimit() {
  const off = !$("patch").checked;
  $("patch-limit").disabled = off;
  $("patch-limit").title = off ? "tick “patch heads over the flipped pairs” first: the limit is on the pairs patched" : "";
}
