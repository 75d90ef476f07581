// /analysis: start a head analysis (POST /api/analyses), poll its progress, then show the
// result: layers × heads heatmaps (plotly, served from /static/vendor), a ranked table,
// interpretability, ablation, fine-tune change, and each head's most typical examples as
// links into the live head view. Every value is set with textContent (data, not markup).
// View state (model, data, analysis id, statistic, head) lives in the URL.

import { getModels, detailText } from "./api.js";
import { loadPlotly } from "./plotly-loader.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 400;
const VIRTUAL = { finetune_js: "fine-tune change (JS divergence)", importance: "head importance" };
const FINDING_LABELS = { "no-op": "noop", "cls-entity": "entity" };
const FINDING_LABEL_SET = new Set(["aspect", "aspect-sentiment", "opposite-aspect", "noop", "phrase", "entity", "other"]);

const q = new URLSearchParams(location.search);
const view = {
  model: q.get("model") || "", data: q.get("data") || "", id: q.get("id") || "",
  stat: q.get("stat") || "", value: q.get("value") || "score",
  layer: q.has("layer") ? +q.get("layer") : null, head: q.has("head") ? +q.get("head") : null,
};
const pub = (window.headscope = { view, job: null, result: null, plots: 0 });
let models = [], datasets = { demo: [], shared: [] }, pollTimer = null;

function writeView() {
  const p = new URLSearchParams();
  for (const k of ["model", "data", "id", "stat", "value"]) if (view[k]) p.set(k, view[k]);
  if (view.layer != null) p.set("layer", view.layer);
  if (view.head != null) p.set("head", view.head);
  history.replaceState(null, "", location.pathname + "?" + p.toString());
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

const fmt = (v, digits = 3) => (v == null || Number.isNaN(v) ? "–" : typeof v === "number" ? v.toFixed(digits) : String(v));

function showError(msg) { $("error-box").textContent = msg; $("error-box").hidden = false; }
const hideError = () => { $("error-box").hidden = true; };

async function call(url, init) {
  let res;
  try { res = await fetch(url, init); } catch (e) { throw new Error("Cannot reach the headscope server: " + e.message); }
  let payload = null;
  try { payload = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    let msg = detailText(res.status, payload);
    if (payload && Array.isArray(payload.accepted)) msg += "\nAccepted: " + payload.accepted.join("; ");
    const err = new Error(msg);
    err.status = res.status;
    throw err;
  }
  return payload;
}

// ---- form ----
function modelTask() { const m = models.find((x) => x.id === $("model-select").value); return m ? m.task : null; }

function fillDatasets() {
  const task = modelTask(), sel = $("data-select"), keep = view.data || sel.value;
  const opts = [];
  for (const d of datasets.demo) if (!task || d.task === task) opts.push(new Option(`${d.name} (demo)`, d.name));
  for (const d of datasets.shared) opts.push(new Option(`${d.name} (${d.format})`, d.name));
  sel.replaceChildren(...opts);
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

function settingsFromForm() {
  const num = (id) => { const v = parseInt($(id).value, 10); return Number.isFinite(v) ? v : null; };
  const s = { batch_size: num("batch-size") || 16, bootstrap: num("bootstrap") || 1000,
              pretrained: $("pretrained").checked, importance: $("importance").checked };
  const max = num("max-examples");
  if (max) s.max_examples = max;
  return s;
}

async function start(ev) {
  ev.preventDefault();
  hideError();
  const body = { model: $("model-select").value, settings: settingsFromForm() };
  const file = $("upload-input").files[0];
  if (file) body.upload = await file.text();
  else body.data = $("data-select").value;
  $("start-button").disabled = true;
  try {
    const job = await call("/api/analyses", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    view.model = body.model; view.data = job.data.name; view.id = job.id;
    view.layer = view.head = null;
    writeView();
    follow(job);
  } catch (e) {
    showError(e.message);
    $("start-button").disabled = false;
  }
}

// ---- job progress ----
function showProgress(job) {
  const p = job.progress || {};
  $("progress-panel").hidden = false;
  $("progress-bar").value = p.total ? p.done / p.total : 0;
  const eta = p.eta_s != null ? `, about ${Math.ceil(p.eta_s)} s left` : "";
  const phase = { queued: "queued", loading: "loading the models", statistics: "statistics pass",
                  importance: "head importance and ablation", done: "done" }[p.phase] || p.phase;
  $("progress-text").textContent = `${p.done ?? 0} / ${p.total ?? 0} pairs · ${phase}${eta}` + (job.cached ? " · from the cache" : "");
}

function follow(job) {
  clearTimeout(pollTimer);
  pub.job = job;
  showProgress(job);
  if (job.status === "done") {
    $("start-button").disabled = false;
    if (job.result) return render(job.result, job);
    return call(`/api/analyses/${job.id}`).then((full) => render(full.result, full)).catch((e) => showError(e.message));
  }
  if (job.status === "failed") {
    $("start-button").disabled = false;
    return showError(`The analysis failed: ${job.error}`);
  }
  pollTimer = setTimeout(async () => {
    try { follow(await call(`/api/analyses/${job.id}?result=false`)); } catch (e) { showError(e.message); $("start-button").disabled = false; }
  }, POLL_MS);
}

// ---- result ----
let R = null;          // the result shown
let byHead = [];       // heads[layer * H + head]

function statNames(result) {
  const names = [...result.statistics];
  if (result.finetune_change) names.push("finetune_js");
  if (result.importance) names.push("importance");
  return names;
}

function entry(h, stat) {
  if (stat === "finetune_js") return h.finetune_change ? { score: h.finetune_change.js, ci: h.finetune_change.ci, typical: h.finetune_change.typical } : null;
  if (stat === "importance") return R.importance ? { score: R.importance.scores[h.layer][h.head], ci: null, typical: [] } : null;
  return h.statistics[stat] || null;
}

function bestBaseline(e) {
  const b = e && e.baselines;
  if (!b) return null;
  const vals = [b.uniform, b.positional, b.pretrained].filter((v) => v != null);
  return vals.length ? Math.max(...vals) : null;
}

function valueOf(h, stat, kind) {
  const e = entry(h, stat);
  if (!e) return null;
  if (kind === "margin" && e.ci) { const b = bestBaseline(e); return e.ci[0] == null || b == null ? null : e.ci[0] - b; }
  if (kind === "pretrained") return e.baselines ? e.baselines.pretrained : null;
  return e.score;
}

function grid(stat, kind) {
  const L = R.model.num_layers, H = R.model.num_heads;
  return Array.from({ length: L }, (_, l) => Array.from({ length: H }, (_, h) => valueOf(byHead[l * H + h], stat, kind)));
}

async function drawMain() {
  const Plotly = await loadPlotly();
  const stat = view.stat, z = grid(stat, view.value), H = R.model.num_heads;
  const text = z.map((row, l) => row.map((v, h) => {
    const e = entry(byHead[l * H + h], stat);
    return `layer ${l}, head ${h}<br>${stat}: ${fmt(v)}` + (e && e.ci ? `<br>95% CI [${fmt(e.ci[0])}, ${fmt(e.ci[1])}]` : "");
  }));
  const node = $("heatmap-main");
  await Plotly.react(node, [{
    type: "heatmap", z, text, hoverinfo: "text", colorscale: view.value === "margin" ? "RdBu" : "Viridis",
    zmid: view.value === "margin" ? 0 : undefined, reversescale: view.value === "margin",
    x: Array.from({ length: H }, (_, i) => i), y: Array.from({ length: R.model.num_layers }, (_, i) => i),
  }], {
    title: { text: (VIRTUAL[stat] || stat) + (view.value === "score" ? "" : ` (${$("value-select").selectedOptions[0].textContent})`), font: { size: 13 } },
    xaxis: { title: "head", dtick: 1 }, yaxis: { title: "layer", dtick: 1, autorange: "reversed" },
    margin: { l: 50, r: 10, t: 36, b: 40 },
  }, { displaylogo: false, responsive: true });
  if (!node.dataset.bound) {
    node.on("plotly_click", (ev) => { const p = ev.points[0]; selectHead(p.y, p.x); });
    node.dataset.bound = "1";
  }
  pub.plots += 1;
  node.dataset.drawn = String(pub.plots);
}

async function drawLabelMaps() {
  const box = $("label-maps");
  box.replaceChildren();
  const labels = (R.rule && R.rule.labels) || {};
  const Plotly = await loadPlotly();
  const H = R.model.num_heads;
  for (const [label, stats] of Object.entries(labels)) {
    const stat = stats.find((s) => R.statistics.includes(s));
    if (!stat) continue;
    const div = el("div", "label-map");
    div.dataset.label = label;
    box.append(div);
    const z = grid(stat, "score");
    const members = new Set((R.labelled[label] || []).map(([l, h]) => l * H + h));
    const text = z.map((row, l) => row.map((_, h) => (members.has(l * H + h) ? "●" : "")));
    await Plotly.react(div, [{ type: "heatmap", z, text, texttemplate: "%{text}", hovertemplate: `layer %{y}, head %{x}<br>${stat}: %{z:.3f}<extra></extra>`,
                               colorscale: "Viridis", showscale: false }], {
      title: { text: `${label} (${stat}) · ${members.size} heads`, font: { size: 12 } },
      xaxis: { dtick: 2 }, yaxis: { dtick: 1, autorange: "reversed" }, margin: { l: 28, r: 6, t: 30, b: 24 },
    }, { displaylogo: false, staticPlot: false });
    div.on("plotly_click", (ev) => { const p = ev.points[0]; view.stat = stat; $("stat-select").value = stat; selectHead(p.y, p.x); drawMain(); });
  }
}

function inspectUrl(example, layer, head) {
  const p = new URLSearchParams();
  p.set("model", R.model.id);
  p.set("text", example.inspect.text);
  if (example.inspect.aspect) p.set("aspect", example.inspect.aspect);
  p.set("view", "head");
  p.set("layer", layer);
  p.set("heads", String(head));
  return "/inspect?" + p.toString();
}

function typicalLinks(h, stat, limit = 3) {
  const e = entry(h, stat);
  return ((e && e.typical) || []).slice(0, limit).map(([index, score]) => ({ index, score, example: R.examples[String(index)] }))
    .filter((t) => t.example);
}

function exampleLabel(ex) {
  const text = ex.text.length > 90 ? ex.text.slice(0, 87) + "…" : ex.text;
  return ex.aspect ? `${text} — aspect: ${ex.aspect}` : text;
}

function drawTable() {
  const stat = view.stat, table = $("ranked-table"), H = R.model.num_heads;
  const head = el("tr");
  for (const c of ["#", "head", "score", "95% CI", "uniform", "positional", "pretrained", "importance", "fine-tune JS", "labels", "typical examples"]) head.append(el("th", null, c));
  const rows = byHead.map((h) => ({ h, v: valueOf(h, stat, "score") }))
    .sort((a, b) => (b.v ?? -Infinity) - (a.v ?? -Infinity));
  const body = rows.map(({ h, v }, rank) => {
    const e = entry(h, stat), b = (e && e.baselines) || {};
    const tr = el("tr");
    tr.dataset.layer = h.layer; tr.dataset.head = h.head;
    if (h.layer === view.layer && h.head === view.head) tr.className = "selected";
    const imp = R.importance ? R.importance.scores[h.layer][h.head] : null;
    const ci = e && e.ci ? `[${fmt(e.ci[0])}, ${fmt(e.ci[1])}]` : "–";
    const cells = [String(rank + 1), `${h.layer}.${h.head}`, fmt(v), ci, fmt(b.uniform),
                   b.positional != null ? `${fmt(b.positional)} (${b.positional_rule})` : "–", fmt(b.pretrained), fmt(imp),
                   h.finetune_change ? fmt(h.finetune_change.js, 4) : "–"];
    cells.forEach((c, i) => tr.append(el("td", i >= 2 && i <= 8 ? "num" : null, c)));
    const labels = el("td");
    for (const l of h.labels) labels.append(el("span", "tag", l));
    tr.append(labels);
    const typ = el("td");
    typicalLinks(h, stat, 2).forEach((t, i) => {
      const a = el("a", "typical-link", `ex. ${t.index}`);
      a.href = inspectUrl(t.example, h.layer, h.head);
      a.title = exampleLabel(t.example);
      if (i) typ.append(" ");
      typ.append(a);
    });
    tr.append(typ);
    tr.addEventListener("click", (ev) => { if (ev.target.tagName !== "A") selectHead(h.layer, h.head); });
    return tr;
  });
  table.replaceChildren(head, ...body);
}

function fact(dl, name, value) { dl.append(el("dt", null, name), el("dd", null, value)); }

function drawHead() {
  const H = R.model.num_heads;
  const h = byHead[view.layer * H + view.head];
  if (!h) return;
  $("head-title").textContent = `Layer ${h.layer}, head ${h.head}`;
  const labels = $("head-labels");
  labels.replaceChildren(...(h.labels.length ? h.labels.map((l) => el("span", "tag", l)) : [el("span", "muted", "no label")]));
  const dl = $("head-facts");
  dl.replaceChildren();
  const e = entry(h, view.stat);
  fact(dl, view.stat, e ? `${fmt(e.score)}` + (e.ci ? `  95% CI [${fmt(e.ci[0])}, ${fmt(e.ci[1])}] · n = ${e.n ?? "–"}` : "") : "–");
  if (e && e.baselines) {
    const b = e.baselines;
    fact(dl, "baselines", `uniform ${fmt(b.uniform)} · positional ${fmt(b.positional)} (${b.positional_rule}) · pretrained ${fmt(b.pretrained)}`);
  }
  for (const [label, stats] of Object.entries(h.evidence || {})) fact(dl, `${label} because`, stats.join(", "));
  if (h.finetune_change) fact(dl, "fine-tune change", `JS ${fmt(h.finetune_change.js, 4)} [${fmt(h.finetune_change.ci[0], 4)}, ${fmt(h.finetune_change.ci[1], 4)}]`);
  if (R.importance) fact(dl, "importance", fmt(R.importance.scores[h.layer][h.head]));
  const list = $("typical-list");
  const items = typicalLinks(h, view.stat, 10).map((t) => {
    const li = el("li");
    const a = el("a", "typical-link", exampleLabel(t.example));
    a.href = inspectUrl(t.example, h.layer, h.head);
    a.dataset.layer = h.layer; a.dataset.head = h.head;
    li.append(a, el("span", "muted", `  (${view.stat} ${fmt(t.score)}, gold ${t.example.label ?? "–"})`));
    return li;
  });
  list.replaceChildren(...(items.length ? items : [el("li", "muted", "no example carried this statistic")]));
  $("finding-status").textContent = "";
}

function selectHead(layer, head) {
  view.layer = layer; view.head = head;
  writeView();
  for (const tr of $("ranked-table").querySelectorAll("tr[data-layer]")) {
    tr.classList.toggle("selected", +tr.dataset.layer === layer && +tr.dataset.head === head);
  }
  drawHead();
}

function drawPanels() {
  const it = R.interpretability, dl = $("interpretability");
  dl.replaceChildren();
  fact(dl, "rate", `${fmt(it.rate)} (${it.examples} examples, top-${it.k}, gold: ${it.gold})`);
  fact(dl, "random", fmt(it.random));
  fact(dl, "pretrained", fmt(it.pretrained));
  if (it.best_head) fact(dl, "best single head", `${it.best_head.layer}.${it.best_head.head}: ${fmt(it.best_head.rate)}`);
  if (it.pretrained_best_head) fact(dl, "pretrained best head", `${it.pretrained_best_head.layer}.${it.pretrained_best_head.head}: ${fmt(it.pretrained_best_head.rate)}`);
  const adl = $("ablation");
  adl.replaceChildren();
  // Older results have only `ablation`; newer ones list every ablated label under `ablations`.
  const ablations = Object.values(R.ablations || (R.ablation ? { [R.ablation.label]: R.ablation } : {}));
  for (const ab of ablations) {
    fact(adl, `${ab.label} heads masked`, `${ab.heads.length}: ${ab.heads.map(([l, h]) => `${l}.${h}`).join(" ")}`);
    fact(adl, "accuracy", `${fmt(ab.accuracy)} → ${fmt(ab.masked)} (drop ${fmt(ab.drop)})`);
    fact(adl, "random heads", `${fmt(ab.random.mean)} (drop ${fmt(ab.random_drop)}, ${ab.draws} draws)`);
    fact(adl, "examples", String(ab.examples));
  }
  if (!ablations.length) {
    fact(adl, "not computed", (R.not_computed && R.not_computed.ablation) || "–");
  }
  if (R.importance) fact(adl, "importance", `${R.importance.examples} examples, ${R.importance.normalised}`);
  const ft = R.finetune_change, fdl = $("finetune");
  fdl.replaceChildren();
  if (ft) {
    const ranked = byHead.filter((h) => h.finetune_change && h.finetune_change.js != null)
      .sort((a, b) => b.finetune_change.js - a.finetune_change.js);
    const mean = ranked.reduce((s, h) => s + h.finetune_change.js, 0) / Math.max(1, ranked.length);
    fact(fdl, "mean JS", fmt(mean, 4));
    fact(fdl, "most changed", ranked.slice(0, 5).map((h) => `${h.layer}.${h.head} (${fmt(h.finetune_change.js, 3)})`).join(" "));
    fact(fdl, "examples", String(ft.examples));
  } else {
    fact(fdl, "not computed", "pretrained baseline off");
  }
}

async function render(result, job) {
  R = pub.result = result;
  const H = result.model.num_heads;
  byHead = [];
  for (const h of result.heads) byHead[h.layer * H + h.head] = h;
  const names = statNames(result);
  if (!names.includes(view.stat)) {
    const preferred = result.model.task === "re" ? "entity_mass" : "aspect_mass";
    view.stat = names.includes(preferred) ? preferred : names[0];
  }
  $("stat-select").replaceChildren(...names.map((n) => new Option(VIRTUAL[n] || n, n)));
  $("stat-select").value = view.stat;
  $("value-select").value = ["score", "margin", "pretrained"].includes(view.value) ? view.value : "score";
  if (view.layer == null || view.head == null || !byHead[view.layer * H + view.head]) {
    const best = byHead.map((h) => ({ h, v: valueOf(h, view.stat, "score") })).sort((a, b) => (b.v ?? -Infinity) - (a.v ?? -Infinity))[0].h;
    view.layer = best.layer; view.head = best.head;
  }
  writeView();
  const d = result.data;
  $("result-meta").textContent = `${result.model.id} on ${(job && job.data && job.data.name) || d.path}: ${d.pairs} pairs (${d.pairing}), ` +
    `${fmt(result.pairs_per_s, 1)} pairs/s, computed ${result.computed_at}` + (job && job.cached ? " · from the cache" : "");
  $("download-link").href = `/api/analyses/${result.analysis_id}/result.json`;
  $("results").hidden = false;
  updateSupport();
  drawTable();
  drawHead();
  drawPanels();
  try {
    await drawMain();
    await drawLabelMaps();
  } catch (e) { showError(e.message); }
  document.body.dataset.rendered = "1";
}

function updateSupport() {
  const family = Object.entries(R.support || {}).find(([label]) => ((R.rule.labels || {})[label] || []).includes(view.stat));
  $("stat-support").textContent = family ? `${family[0]}: ${family[1].examples} examples, ${family[1].source}` : "";
}

// ---- save as finding (POST /api/findings, built by the findings feature) ----
async function saveFinding() {
  const H = R.model.num_heads, h = byHead[view.layer * H + view.head];
  const top = typicalLinks(h, view.stat, 1)[0];
  const jobData = (pub.job && pub.job.data) || {};
  const input = top
    ? { text: top.example.inspect.text, aspect: top.example.inspect.aspect || null, example: { dataset: jobData.name || R.data.path, index: top.index } }
    : { text: R.data.path };
  const labels = [...new Set(h.labels.map((l) => FINDING_LABELS[l] || l).filter((l) => FINDING_LABEL_SET.has(l)))];
  const body = {
    title: `${R.model.id} head ${h.layer}.${h.head}: ${view.stat}` + (h.labels.length ? ` (${h.labels.join(", ")})` : ""),
    note: `Summary of analysis ${R.analysis_id} on ${jobData.name || R.data.path} (${R.data.pairs} pairs): ${view.stat} = ` +
          `${fmt(valueOf(h, view.stat, "score"))}.`,
    model: { id: R.model.id },
    input,
    view: { kind: "summary", layer: h.layer, head: h.head, heads: [[h.layer, h.head]], statistic: view.stat, analysis_id: R.analysis_id },
    labels,
  };
  const status = $("finding-status");
  status.textContent = "saving…";
  try {
    const saved = await call("/api/findings", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    status.textContent = "";
    const link = el("a", null, `saved as finding ${saved && saved.id != null ? saved.id : ""}`.trim());
    link.href = saved && saved.id != null ? `/findings/${saved.id}` : "/findings";
    status.append(link);
  } catch (e) {
    status.textContent = "";
    showError(`Could not save the finding: ${e.message}`);
  }
}

// ---- wiring ----
$("analysis-form").addEventListener("submit", start);
$("model-select").addEventListener("change", () => { view.model = $("model-select").value; view.data = ""; fillDatasets(); });
$("data-select").addEventListener("change", () => { view.data = $("data-select").value; $("upload-input").value = ""; });
$("stat-select").addEventListener("change", () => { view.stat = $("stat-select").value; writeView(); updateSupport(); drawTable(); drawHead(); drawMain(); });
$("value-select").addEventListener("change", () => { view.value = $("value-select").value; writeView(); drawMain(); });
$("save-finding").addEventListener("click", saveFinding);

async function main() {
  try {
    const [m, d] = await Promise.all([getModels(), call("/api/analyses/datasets")]);
    models = m.models || [];
    datasets = d;
    $("model-select").replaceChildren(...models.map((x) => new Option(`${x.id} (${x.task})`, x.id)));
    const initial = view.model && models.some((x) => x.id === view.model) ? view.model : (m.defaults && m.defaults.absa) || (models[0] && models[0].id);
    if (initial) $("model-select").value = initial;
    fillDatasets();
    if (view.id) follow(await call(`/api/analyses/${view.id}?result=false`));
  } catch (e) {
    showError(e.message);
  }
  document.body.dataset.ready = "1";
}
main();
