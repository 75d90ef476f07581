// /analysis, "Across seeds": pick a seed group of the models folder (GET /api/analysis-groups/groups) and a
// dataset, start the comparison (POST /api/analysis-groups with the analysis form's settings: each seed's own
// analysis runs first), follow it (job-follower.js), then show per label the heads of each seed as a
// layers × heads map of k/n (in how many of the n seeds the head got the label), the Jaccard figures per pair of
// seeds against chance, and links to each seed's own analysis. The job id lives in the URL (?group=).
// Hook for tests: window.headscope.seeds = the comparison shown; #seed-results[data-drawn] once its maps are drawn.

import { followJob } from "./job-follower.js";
import { request } from "./request.js";
import { settingsFromForm } from "./analysis-form.js";
import { loadPlotly } from "./plotly-loader.js";
import { $, el, fmt } from "./dom.js";
import { view, pub, writeView } from "./summary-state.js";

const BASE = "/api/analysis-groups";
let groups = [], datasets = { demo: [], shared: [] };

function fail(message) {
  $("seed-error").textContent = message;
  $("seed-error").hidden = false;
}

function fillData() {
  const group = groups.find((g) => g.label === $("group-select").value), sel = $("group-data-select");
  const opts = datasets.demo.filter((d) => !group || d.task === group.task).map((d) => new Option(`${d.name} (demo)`, d.name));
  for (const d of datasets.shared) opts.push(new Option(`${d.name} (${d.format})`, d.name));
  sel.replaceChildren(...opts);
}

async function load() {
  const [g, d] = await Promise.all([request(`${BASE}/groups`), request("/api/analyses/datasets")]);
  groups = g.groups;
  datasets = d;
  $("group-select").replaceChildren(...groups.map((x) => new Option(`${x.label} (${x.task})`, x.label)));
  $("group-button").disabled = !groups.length;
  if (!groups.length) $("seed-progress").textContent = "No seed group in the models folder: train one with headscope train --recipe R --seeds 13,14,15.";
  fillData();
}

const pct = (v) => (v == null ? "–" : fmt(v, 2));

function drawTable(stability) {
  const n = stability.seeds.length;
  const head = el("tr");
  for (const t of ["label", ...stability.seeds.map((s) => `seed ${s}`), "Jaccard per pair (chance)", "mean Jaccard (chance)", `in all ${n} seeds (by chance)`, "heads in 2+ seeds (k/n)"]) head.append(el("th", null, t));
  const rows = stability.labels.map((entry) => {
    const tr = el("tr");
    tr.dataset.label = entry.label;
    const cells = [
      entry.label,
      ...entry.heads.map((hs) => hs.map(([l, h]) => `${l}.${h}`).join(" ") || "–"),
      entry.pairs.map((p) => `${p.seeds[0]}–${p.seeds[1]}: ${pct(p.jaccard)} (${pct(p.chance)})`).join("; "),
      `${pct(entry.mean_jaccard)} (${pct(entry.mean_chance)})`,
      `${entry.in_all.length} (${fmt(entry.in_all_by_chance, 2)})`,
      entry.stable.map(([l, h, k]) => `${l}.${h} ${k}/${n}`).join(", ") || "–",
    ];
    for (const c of cells) tr.append(el("td", null, c));
    return tr;
  });
  $("seed-table").replaceChildren(head, ...rows);
}

async function drawMaps(stability) {
  const Plotly = await loadPlotly(), box = $("seed-maps"), n = stability.seeds.length;
  box.replaceChildren();
  for (const entry of stability.labels) {
    const div = el("div", "seed-map");
    div.dataset.label = entry.label;
    box.append(div);
    const text = entry.counts.map((row) => row.map((k) => (k ? `${k}/${n}` : "")));
    await Plotly.react(div, [{
      type: "heatmap", z: entry.counts, text, texttemplate: "%{text}", zmin: 0, zmax: n, colorscale: "Blues",
      hovertemplate: `layer %{y}, head %{x}<br>labelled ${entry.label} in %{z} of ${n} seeds<extra></extra>`,
      colorbar: { title: { text: "k" }, dtick: 1, thickness: 10 },
    }], {
      title: { text: `${entry.label} · Jaccard ${pct(entry.mean_jaccard)} (chance ${pct(entry.mean_chance)})`, font: { size: 12 } },
      xaxis: { title: "head", dtick: 2 }, yaxis: { title: "layer", dtick: 1, autorange: "reversed" },
      margin: { l: 40, r: 6, t: 30, b: 34 },
    }, { displaylogo: false });
  }
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
  drawTable(stability);
  $("seed-results").hidden = false;
  await drawMaps(stability);
  $("seed-results").dataset.drawn = result.group;
}

async function follow(id, first = null) {
  $("seed-error").hidden = true;
  $("group-button").disabled = true;
  try {
    const status = await followJob(`${BASE}/${encodeURIComponent(id)}?result=false`, {
      first, name: "seed-group analysis", unit: "seeds", phases: { queued: "queued behind each seed's own analysis", comparing: "comparing the seeds' labels" },
      panel: null, bar: null, text: $("seed-progress"),
    });
    const full = status.result ? status : await request(`${BASE}/${encodeURIComponent(id)}`);
    await render(full);
  } catch (e) {
    fail(e.message);
  }
  $("group-button").disabled = !groups.length;
}

async function start(ev) {
  ev.preventDefault();
  $("seed-results").hidden = true;
  delete $("seed-results").dataset.drawn;
  const body = { group: $("group-select").value, data: $("group-data-select").value, settings: settingsFromForm() };
  try {
    const job = await request(BASE, { method: "POST", body });
    view.group = job.id;
    writeView();
    $("seed-progress").textContent = `each seed's analysis first (${job.members.map((m) => m.model).join(", ")}), then the comparison`;
    await follow(job.id, job);
  } catch (e) {
    fail(e.message);
  }
}

$("group-select").addEventListener("change", fillData);
$("seed-form").addEventListener("submit", start);
load().then(() => (view.group ? follow(view.group) : null)).catch((e) => fail(e.message));
