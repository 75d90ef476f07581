// /analysis, "Across seeds": pick a seed group of the models folder (GET /api/analysis-groups/groups) and a
// dataset, start the comparison (POST /api/analysis-groups with the analysis form's settings: each seed's own
// analysis runs first), follow it (job-follower.js), then show per label the heads of each seed as a
// layers × heads map of k/n (in how many of the n seeds the head got the label), the Jaccard figures per pair of
// seeds against chance (both drawn by seed-groups.js), and links to each seed's own analysis. The job id lives in
// the URL (?group=). The page's "Recent runs" (summary.js) lists these comparisons beside the analyses and opens or
// reruns one here (openGroupRun, rerunGroupRun); whenGroupJobsChange tells it when one starts or ends.
// Hook for tests: window.headscope.seeds = the comparison shown; #seed-results[data-drawn] once its maps are drawn.

import { followJob } from "./job-follower.js";
import { request } from "./request.js";
import { settingsFromForm } from "./analysis-form.js";
import { drawHeadSetsMaps, drawHeadSetsTable, listGroups } from "./seed-groups.js";
import { $, el } from "./dom.js";
import { view, pub, writeView } from "./summary-state.js";

export const GROUP_BASE = "/api/analysis-groups";
let groups = [], datasets = { demo: [], shared: [] }, changed = () => {};
const loaded = load();

/** Call `callback` when a comparison starts or ends (the page's history lists them). */
export function whenGroupJobsChange(callback) { changed = callback; }

function fail(message) {
  $("seed-error").textContent = message;
  $("seed-error").hidden = false;
}

function fillData() {
  const group = groups.find((g) => g.label === $("group-select").value), sel = $("group-data-select");
  const opts = datasets.demo.filter((d) => !group || d.task === group.task).map((d) => new Option(`${d.name} (demo: the demo model's training data)`, d.name));
  for (const d of datasets.shared) if (!group || !d.task || d.task === group.task) opts.push(new Option(`${d.name} (${d.format})`, d.name));
  sel.replaceChildren(...opts);
}

async function load() {
  [groups, datasets] = await Promise.all([listGroups(GROUP_BASE), request("/api/analyses/datasets")]);
  $("group-select").replaceChildren(...groups.map((x) => new Option(`${x.label} (${x.task})`, x.label)));
  $("group-button").disabled = !groups.length;
  if (!groups.length) $("seed-progress").textContent = "No seed group in the models folder: train one with headscope train --recipe R --seeds 13,14,15.";
  fillData();
}

async function render(status) {
  const result = status.result, stability = result.stability;
  pub.seeds = result;
  const data = result.members[0].data;
  $("seed-meta").textContent = `${result.group}: ${stability.seeds.length} seeds on ${data.path}, ${data.pairs} pairs each; ` +
    `${stability.layers} layers × ${stability.heads} heads. Chance: ${stability.chance}.` + (status.cached ? " · from the cache" : "");
  $("seed-links").replaceChildren(...result.members.flatMap((m, i) => {
    const a = el("a", "seed-link", `seed ${m.seed} (${m.model})`);
    a.href = `/analysis?id=${encodeURIComponent(m.analysis_id)}&model=${encodeURIComponent(m.model)}`;
    return i ? [", ", a] : [a];
  }));
  if (!stability.labels.length) $("seed-meta").append(" No seed labelled any head.");
  drawHeadSetsTable($("seed-table"), stability.seeds, stability.labels);
  $("seed-results").hidden = false;
  await drawHeadSetsMaps($("seed-maps"), stability.seeds, stability.labels);
  $("seed-results").dataset.drawn = result.group;
}

async function follow(id, first = null) {
  $("seed-error").hidden = true;
  $("seed-results").hidden = true;
  delete $("seed-results").dataset.drawn;
  $("group-button").disabled = true;
  try {
    const status = await followJob(`${GROUP_BASE}/${encodeURIComponent(id)}?result=false`, {
      first, name: "seed-group analysis", unit: "seeds", phases: { queued: "queued behind each seed's own analysis", comparing: "comparing the seeds' labels" },
      panel: null, bar: null, text: $("seed-progress"),
    });
    const full = status.result ? status : await request(`${GROUP_BASE}/${encodeURIComponent(id)}`);
    await render(full);
  } catch (e) {
    fail(e.message);
  }
  $("group-button").disabled = !groups.length;
  changed();
}

/** Ask for a comparison (POST body: group, data, settings), put it in the URL and follow it. */
async function ask(body) {
  try {
    const job = await request(GROUP_BASE, { method: "POST", body });
    view.group = job.id;
    writeView();
    changed();
    $("seed-progress").textContent = `each seed's analysis first (${job.members.map((m) => m.model).join(", ")}), then the comparison`;
    await follow(job.id, job);
  } catch (e) {
    fail(e.message);
  }
}

function start(ev) {
  ev.preventDefault();
  return ask({ group: $("group-select").value, data: $("group-data-select").value, settings: settingsFromForm() });
}

/** Open a comparison of the history here: its group and dataset into this panel's form, then follow it. */
export async function openGroupRun(id) {
  $("seed-panel").scrollIntoView();
  try {
    await loaded;
    const status = await request(`${GROUP_BASE}/${encodeURIComponent(id)}?result=false`);
    if (groups.some((g) => g.label === status.group)) $("group-select").value = status.group;
    fillData();
    const data = status.data && status.data.name;
    if ([...$("group-data-select").options].some((o) => o.value === data)) $("group-data-select").value = data;
    view.group = id;
    writeView();
    await follow(id, status);
  } catch (e) {
    fail(e.message);
  }
}

/** Ask again for a comparison that was interrupted or failed, with its very request. */
export function rerunGroupRun(body) {
  $("seed-panel").scrollIntoView();
  return ask(body);
}

$("group-select").addEventListener("change", fillData);
$("seed-form").addEventListener("submit", start);
loaded.then(() => (view.group ? follow(view.group) : null)).catch((e) => fail(e.message));
