// Forms offer only what can run: ask the server what this checkpoint and data can do
// (GET /api/robustness/capabilities?model=&data=&train=, GET /api/analyses/capabilities?model=&data=,
// GET /api/reports/capabilities) and disable every test, option or attack that cannot run,
// unticked, with the server's reason written beside it (not only in a tooltip).

import { request } from "./api.js";
import { el } from "./dom.js";

let asked = 0; // only the latest question's answer is applied (the form may change while one is on its way)

/** Mark each checkbox in `box` (value = test name) runnable or not on model + data (+ train). */
export async function markRobustnessTests(box, model, data, train) {
  const mine = ++asked;
  for (const note of box.querySelectorAll(".cannot-run, .capability-note")) note.remove();
  if (!model || !data) return;
  const q = new URLSearchParams({ model, data });
  if (train) q.set("train", train);
  let answer;
  try {
    answer = await request(`/api/robustness/capabilities?${q}`);
  } catch (e) {
    if (mine === asked) box.append(el("div", "capability-note muted", `which tests can run is unknown: ${e.message}`));
    return;
  }
  if (mine === asked) applyCapabilities(box, answer.tests);
}

/** The analysis form's options on model + data (GET /api/analyses/capabilities): opinion words,
 *  the pretrained baseline, importance. An upload (no data name yet) is checked when it runs. */
export async function markAnalysisOptions(box, model, data) {
  const mine = ++asked;
  for (const note of box.querySelectorAll(".cannot-run, .capability-note")) note.remove();
  if (!model || !data) return applyCapabilities(box, []);
  let answer;
  try {
    answer = await request(`/api/analyses/capabilities?${new URLSearchParams({ model, data })}`);
  } catch (e) {
    if (mine === asked) box.append(el("div", "capability-note muted", `which options can run is unknown: ${e.message}`));
    return;
  }
  if (mine === asked) applyCapabilities(box, answer.options);
}

/** The report form's attacks (GET /api/reports/capabilities): PWWS needs WordNet. */
export async function markReportAttacks(box) {
  try {
    applyCapabilities(box, (await request("/api/reports/capabilities")).attacks);
  } catch (e) {
    box.append(el("div", "capability-note muted", `which attacks can run is unknown: ${e.message}`));
  }
}

const PERSPECTIVE_NAMES = { in_distribution: "in distribution", shift: "distribution shift", anomaly: "anomaly detection" };

/** Beside each ticked checkpoint in `box`: the report perspectives that have no data here, and why
 *  (GET /api/reports/capabilities?models=...); the report still runs, those sections say "not available". */
export async function markReportPerspectives(box) {
  const mine = ++asked;
  const boxes = [...box.querySelectorAll("input[type=checkbox]:checked")];
  let answer;
  try {
    answer = boxes.length ? await request(`/api/reports/capabilities?${new URLSearchParams({ models: boxes.map((b) => b.value).join(",") })}`) : { checkpoints: [] };
  } catch (e) {
    answer = { checkpoints: [], error: e.message };
  }
  if (mine !== asked) return;
  for (const note of box.querySelectorAll(".perspective-note")) note.remove();
  if (answer.error) box.append(el("div", "perspective-note capability-note muted", `which perspectives have data is unknown: ${answer.error}`));
  for (const checkpoint of answer.checkpoints) {
    const label = boxes.find((b) => b.value === checkpoint.model)?.closest("label");
    const missing = checkpoint.perspectives.filter((p) => !p.runnable);
    if (label && missing.length) {
      label.append(el("span", "cannot-run perspective-note", missing.map((p) => `no ${PERSPECTIVE_NAMES[p.name] || p.name}: ${p.reason}`).join("; ")));
    }
  }
}

/** Disable and untick each checkbox whose item (by value) cannot run, with its reason beside it. */
function applyCapabilities(box, items) {
  const byName = new Map(items.map((t) => [t.name, t]));
  for (const note of box.querySelectorAll(".cannot-run")) note.remove();
  for (const input of box.querySelectorAll("input[type=checkbox]")) {
    const item = byName.get(input.value), label = input.closest("label");
    const runnable = !item || item.runnable;
    input.disabled = !runnable;
    if (!runnable) input.checked = false;
    if (!label) continue;
    label.classList.toggle("disabled", !runnable);
    if (!runnable) label.append(el("span", "cannot-run", `cannot run: ${item.reason}`));
  }
}
