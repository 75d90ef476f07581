// The inspect page's faithfulness panel (model view, beside the agreement map): POST /api/inspect/faithfulness
// for the input shown, then a table of every explanation source (comprehensiveness and sufficiency AOPC,
// normalised AOPC) and a layers x heads map of each head's faithfulness (attention or norm-based attention).
// It reads the page's state (window.headscope.state, inspect.js) and fetches only when asked: the erasures
// cost about ten forwards per head. inspect.js loads it on the button's first click and hands it openHead, so a
// click on a map cell opens that head in the head view (as the agreement and knock-out maps do).

import { request } from "./request.js";
import { conceptLink } from "./dom.js";

const FIGURES = {
  normalised_comprehensiveness: "normalised comprehensiveness (1 = best reachable)",
  normalised_sufficiency: "normalised sufficiency (1 = best reachable)",
  aopc_comprehensiveness: "comprehensiveness AOPC",
  aopc_sufficiency: "sufficiency AOPC",
};
const SOURCE_NAMES = {
  head_mean: "head mean", norm_head_mean: "norm-based head mean", rollout: "rollout", flow: "flow",
  ig: "integrated gradients", grad_x_input: "gradient × input", random: "random (chance)", occlusion: "occlusion (reference)",
};

const make = (tag, props, style) => {
  const el = Object.assign(document.createElement(tag), props || {});
  if (style) Object.assign(el.style, style);
  return el;
};
const fmt = (v) => (v == null ? "–" : v.toFixed(4));

function color(figure, value, range) {
  if (value == null) return "#f2f4f7";
  const t = figure.startsWith("normalised") ? value : (value - range[0]) / (range[1] - range[0] || 1);
  const good = figure.endsWith("sufficiency") && !figure.startsWith("normalised") ? 1 - t : t;
  const a = Math.max(0, Math.min(1, good));
  return `rgb(255,${Math.round(255 - 175 * a)},${Math.round(255 - 185 * a)})`;
}

function sourceTable(found) {
  const table = make("table", { className: "faith-sources" });
  table.append(make("tr", { innerHTML: "<th>source</th><th>compr. AOPC</th><th>suff. AOPC</th><th>norm. compr.</th><th>norm. suff.</th>" }));
  for (const [name, s] of Object.entries(found.sources)) {
    const row = make("tr");
    row.dataset.source = name;
    for (const text of [SOURCE_NAMES[name] || name, fmt(s.aopc.comprehensiveness), fmt(s.aopc.sufficiency),
      fmt(s.normalised.comprehensiveness), fmt(s.normalised.sufficiency)]) row.append(make("td", { textContent: text }));
    table.append(row);
  }
  return table;
}

function headMap(found, kind, figure, open) {
  const values = found.heads[kind][figure];
  const flat = values.flat().filter((v) => v != null);
  const range = [Math.min(...flat), Math.max(...flat)];
  const grid = make("div", { className: "faith-grid" }, {
    display: "grid", gridTemplateColumns: `2.5em repeat(${found.num_heads}, 26px)`, gap: "2px", fontSize: "11px", marginTop: "6px" });
  grid.append(make("span"));
  for (let h = 0; h < found.num_heads; h++) grid.append(make("span", { textContent: "H" + h }, { textAlign: "center", color: "#475467" }));
  values.forEach((row, layer) => {
    grid.append(make("span", { textContent: "L" + layer }, { color: "#475467" }));
    row.forEach((value, head) => {
      const cell = make("button", { type: "button", className: "faith-cell", title: `head ${layer}.${head}: ${FIGURES[figure]} ${fmt(value)}` },
        { width: "26px", height: "20px", padding: "0", border: "1px solid #d0d5dd", borderRadius: "3px",
          background: color(figure, value, range), cursor: "pointer" });
      cell.dataset.layer = layer;
      cell.dataset.head = head;
      cell.dataset.value = value;
      grid.append(cell);
    });
  });
  grid.onclick = (e) => { const c = e.target.closest(".faith-cell"); if (c) open(+c.dataset.layer, +c.dataset.head); };
  return grid;
}

function draw(root, found, open) {
  const kind = make("select", { className: "faith-kind" });
  kind.append(...Object.keys(found.heads).map((k) => new Option(k === "norm_attention" ? "norm-based attention" : "attention", k)));
  const figure = make("select", { className: "faith-figure" });
  figure.append(...Object.entries(FIGURES).map(([k, name]) => new Option(name, k)));
  const mapBox = make("div");
  const redraw = () => mapBox.replaceChildren(headMap(found, kind.value, figure.value, open));
  kind.onchange = figure.onchange = redraw;
  const bar = make("div", { className: "toolbar" });
  bar.append(make("strong", { textContent: "Faithfulness of each head (erasure)" }), conceptLink("faithfulness"), kind, figure);
  const note = make("p", { className: "muted", textContent:
    `label ${found.label} (p = ${found.probability.toFixed(3)}), k = ${found.k_percents.join(", ")}% of ${found.erasable.length} ` +
    `erasable tokens, erasure ${found.erasure}; ${found.rows.asked} erased inputs scored, ${found.rows.run} of them ` +
    "distinct (heads that rank the same tokens first erase the same ones: each distinct input runs once). " +
    "Click a cell to open that head." });
  root.replaceChildren(bar, mapBox, note, sourceTable(found));
  redraw();
}

/** Erase and draw for the input shown; open(layer, head) on a map cell's click. */
export async function showFaithfulness({ open }) {
  const root = document.getElementById("faithfulness-map"), status = document.getElementById("faith-status");
  const state = (window.headscope || {}).state;
  if (!state || !state.text) { status.textContent = "inspect an input first"; return; }
  const body = { model: state.model, text: state.text, erasure: document.getElementById("faith-erasure").value };
  const task = (window.headscope.response || {}).task;
  if (task !== "re" && state.aspect) body.aspect = state.aspect;
  if (state.attr_query && state.attr_query !== "readout") body.query = state.attr_query;
  status.textContent = "erasing…";
  try {
    const found = await request("/api/inspect/faithfulness", { method: "POST", body });
    window.headscope.faithfulness = found; // for scripts and tests
    draw(root, found, open);
    status.textContent = "";
  } catch (err) {
    status.textContent = err.message; // request.js: already readable (the 422's message names what is accepted)
  }
}
