// Forms offer only what can run: ask the server what this checkpoint and data can do
// (GET /api/robustness/capabilities?model=&data=&train=) and disable every test that cannot run,
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
  if (mine !== asked) return;
  const byName = new Map(answer.tests.map((t) => [t.name, t]));
  for (const input of box.querySelectorAll("input[type=checkbox]")) {
    const test = byName.get(input.value), label = input.closest("label");
    const runnable = !test || test.runnable;
    input.disabled = !runnable;
    if (!runnable) input.checked = false;
    if (!label) continue;
    label.classList.toggle("disabled", !runnable);
    if (!runnable) {
      const why = el("span", "cannot-run", `cannot run: ${test.reason}`);
      label.append(why);
    }
  }
}
