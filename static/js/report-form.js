// The /report form: the checkpoints to compare (GET /api/models) and the seed groups (GET /api/reports/groups),
// the settings, and the request that starts a report (POST /api/reports).

import { getModels, request } from "./api.js";
import { $, el } from "./dom.js";
import { view } from "./report-state.js";
import { markReportAttacks, markReportPerspectives } from "./capabilities.js";

/** The seed groups of the models folder as checkboxes (value NAME@SEEDS); the row hidden when there are none. */
async function loadGroups() {
  const groups = (await request("/api/reports/groups")).groups || [];
  $("group-row").hidden = !groups.length;
  $("group-choices").replaceChildren(...groups.map((g) => {
    const input = el("input");
    Object.assign(input, { type: "checkbox", name: "models", value: g.label, checked: view.models.includes(g.label) });
    const label = el("label");
    label.title = g.members.map((m) => `seed ${m.seed}: ${m.model}`).join("\n");
    label.append(input, " " + g.label + " ", el("span", "task", `${g.task} ${g.format}, ${g.seeds.length} seeds`));
    return label;
  }));
}

const ticked = () => [...document.querySelectorAll("#model-choices input:checked, #group-choices input:checked")].map((b) => b.value);

/** The checkpoints and seed groups as checkboxes; ticked: the URL's, else the default model of each task. */
export async function loadChoices() {
  await loadGroups();
  const answer = await getModels();
  const models = answer.models || [];
  const defaults = Object.values(answer.defaults || {});
  const chosen = view.models.length ? view.models : defaults;
  $("model-choices").replaceChildren(...models.map((m) => {
    const input = el("input");
    Object.assign(input, { type: "checkbox", name: "models", value: m.id, checked: chosen.includes(m.id) });
    const label = el("label");
    label.title = m.description || "";
    label.append(input, " " + m.id + " ", el("span", "task", `${m.task} ${m.format}`));
    if (m.untrained) label.append(" ", Object.assign(el("span", "untrained-tag", "untrained"), { title: m.untrained }));
    return label;
  }));
  await markReportAttacks($("attack-choices"));
  markReportPerspectives($("model-choices"));
  $("model-choices").addEventListener("change", () => markReportPerspectives($("model-choices")));
}

function settingsFromForm() {
  const num = (id) => { const v = parseInt($(id).value, 10); return Number.isFinite(v) ? v : null; };
  return {
    max_examples: num("max-examples") || null, batch_size: num("batch-size") || null, bins: num("bins") || 10,
    attacks: [...document.querySelectorAll("#attack-choices input:checked")].map((b) => b.value),
    attack_examples: num("attack-examples") || 20, budget: num("budget") || 100,
    interpretability: $("interpretability").checked,
    pretrained_baseline: $("interpretability").checked && $("pretrained-baseline").checked,
  };
}

/** The form's settings from a job's (a report opened from its URL). */
export function fillSettings(s) {
  if (!s) return;
  const set = (id, v) => { if (v != null) $(id).value = v; };
  $("max-examples").value = s.max_examples ?? "";  // none: the run took all (the field reads "all")
  $("batch-size").value = s.batch_size ?? ""; set("bins", s.bins);
  set("attack-examples", s.attack_examples); set("budget", s.budget);
  for (const box of document.querySelectorAll("#attack-choices input")) box.checked = (s.attacks || []).includes(box.value);
  $("interpretability").checked = !!s.interpretability;
  $("pretrained-baseline").checked = !!s.pretrained_baseline;
}

/** Set the view to a job (the URL's, one reopened from the history or rerun): its checkpoints and settings. */
export function showJob(job) {
  Object.assign(view, { id: job.id, models: job.models || view.models });
  for (const box of document.querySelectorAll("#model-choices input, #group-choices input")) box.checked = view.models.includes(box.value);
  fillSettings(job.settings);
}

/** POST /api/reports with the ticked checkpoints and the settings; the job status (202 new, 200 running or cached). */
export async function startReport() {
  const models = ticked();
  if (!models.length) throw new Error("Tick at least one checkpoint or seed group.");
  const job = await request("/api/reports", { method: "POST", body: { models, settings: settingsFromForm() } });
  Object.assign(view, { models, id: job.id });
  return job;
}
