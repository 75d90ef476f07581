// Controller of /findings: filters in the URL <-> the form, one page of
// GET /api/findings at a time, and export links that carry the same filters.

import { getModels } from "./api.js";
import { listFindings } from "./findings-api.js";
import { LABELS, labelName } from "./findings-form.js";
import { generations } from "./request.js";
import { $, clearError, el, fillConceptLinks, headName, readQuery, showError, writeQuery } from "./dom.js";
const FIELDS = ["model", "layer", "head", "label", "author", "q"];
const PAGE = 20;

const cell = (tag, props, ...children) => {
  const el = Object.assign(document.createElement(tag), props || {});
  el.append(...children);
  return el;
};

/** Filters from the URL (only the known ones, empty dropped) and the page offset. */
function readFilters() {
  const q = readQuery(), f = {};
  for (const k of FIELDS) if (q.get(k)) f[k] = q.get(k);
  return { filters: f, offset: Math.max(0, parseInt(q.get("offset"), 10) || 0) };
}

function writeFilters(filters, offset) {
  const q = new URLSearchParams(filters);
  if (offset) q.set("offset", offset);
  writeQuery(q);
  const exportQuery = new URLSearchParams(filters).toString();
  $("export-report").href = "/findings/export.html" + (exportQuery ? "?" + exportQuery : "");
  $("export-json").href = "/api/findings/export" + (exportQuery ? "?" + exportQuery : "");
}

function viewText(view) {
  // heads as "layer.head" like every other page: bare head indices belong to the view's layer
  const v = view || {};
  const heads = (v.heads || []).map((h) => (Array.isArray(h) ? headName(h[0], h[1]) : v.layer != null ? headName(v.layer, h) : String(h)));
  return `${v.kind || "head"}` + (v.layer != null ? ` · layer ${v.layer}` : "") + (heads.length ? ` · ${heads.join(", ")}` : "");
}

/** Who can read the finding, as it is: private (its author), shared (signed-in users), and whether a public link exists. */
function visibilityText(f) {
  const who = f.visibility === "shared" ? "shared" : "private";
  return f.public_token ? `${who}, public link` : who;
}

function row(f) {
  const link = cell("a", { href: "/findings/" + encodeURIComponent(f.id), className: "finding-link", textContent: f.title });
  const model = typeof f.model === "string" ? f.model : (f.model && f.model.id) || "";
  const marks = cell("td", {},
    ...(f.labels || []).map((l) => cell("span", { className: "badge label", textContent: labelName(l) })),
    ...(f.tags || []).map((t) => cell("span", { className: "tag", textContent: t })));
  const tr = cell("tr", {},
    cell("td", {}, link, cell("span", { className: "muted visibility", textContent: ` · ${visibilityText(f)}` })),
    cell("td", {}, cell("code", { textContent: model }),
      f.checkpoint_status && f.checkpoint_status !== "available" ? cell("span", { className: "muted", textContent: ` (${f.checkpoint_status})` }) : ""),
    cell("td", { textContent: viewText(f.view) }),
    marks,
    cell("td", { textContent: f.author || "" }),
    cell("td", { textContent: String(f.updated_at || "").slice(0, 16).replace("T", " ") }));
  tr.dataset.findingId = f.id;
  return tr;
}

let { filters, offset } = readFilters();

const loads = generations();  // the page's first, unfiltered list may answer after a filtered one

async function load() {
  const mine = loads.start();
  writeFilters(filters, offset);
  clearError("error-box");
  try {
    const page = await listFindings({ ...filters, limit: PAGE, offset });
    if (!loads.isNewest(mine)) return;
    const items = page.findings || [];
    $("findings-rows").replaceChildren(...items.map(row));
    $("findings-table").hidden = !items.length;
    const total = page.total ?? items.length;
    $("findings-summary").textContent = total ? "" : (Object.keys(filters).length ? "No findings match these filters." : "No findings yet: save one from the inspect page.");
    $("page-info").textContent = total ? `${offset + 1}–${offset + items.length} of ${total}` : "";
    $("page-prev").disabled = offset <= 0;
    $("page-next").disabled = offset + items.length >= total;
    document.body.dataset.ready = "1";
  } catch (e) {
    if (!loads.isNewest(mine)) return;
    if (e.status !== 401) return showError("error-box", e.message);
    // accounts are on and nobody is logged in
    const login = el("a", null, "Log in");
    login.href = "/login?" + new URLSearchParams({ next: location.pathname + location.search });
    showError("error-box", [e.message, " ", login]);
  }
}

function fillForm() {
  for (const k of FIELDS) $("f-" + k).value = filters[k] || "";
}

$("findings-filters").addEventListener("submit", (e) => {
  e.preventDefault();
  filters = {};
  for (const k of FIELDS) { const v = $("f-" + k).value.trim(); if (v) filters[k] = v; }
  offset = 0;
  load();
});
$("f-clear").addEventListener("click", () => { filters = {}; offset = 0; fillForm(); load(); });
$("page-prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); load(); });
$("page-next").addEventListener("click", () => { offset += PAGE; load(); });

async function init() {
  fillConceptLinks();
  $("f-label").append(...LABELS.map((l) => new Option(labelName(l), l)));
  try {
    const data = await getModels();
    $("f-model").append(...(data.models || []).map((m) => new Option(m.id, m.id)));
  } catch { /* the list still works without the model names */ }
  // a model no longer on the server can still be filtered for
  if (filters.model && ![...$("f-model").options].some((o) => o.value === filters.model)) $("f-model").append(new Option(filters.model, filters.model));
  fillForm();
  await load();
}
init();
