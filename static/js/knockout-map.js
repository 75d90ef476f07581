// The knock-out map of the model view (POST /api/inspect/knockout): for the input shown, how much the
// predicted label's probability changes when each head alone is removed, and when each layer's heads
// are removed together; drawn as a layers × heads map, a column per layer, and a sortable table.
// A click on a head opens it in the head view. inspect.js loads this module on the button's first
// click and tells it when the input changes, so that a map is never shown for another input.

import { request, generations } from "./request.js";
import { $, el, fmt, headName, showError, clearError } from "./dom.js";

const BUTTON = "knockout-button"; // errors are shown beside it
const loads = generations();      // a newer click or a new input drops an older answer
let forKey = null;                // the input the map shown (or loading) is for
let shown = null;                 // { map, ctx } drawn now
let sortBy = "effect";

/** The fields the renderer reads, in one place: Δ = probability with the head removed - plain. */
function readMap(resp) {
  const delta = (effect) => (effect == null ? null : -effect); // effect = plain - removed; null: not computed
  return {
    label: resp.label,
    mode: resp.mode,
    plain: resp.plain,
    heads: resp.heads.effect.map((row, layer) => row.map((effect, head) => ({
      layer, head, delta: delta(effect), probability: resp.heads.probability[layer][head], logit: resp.heads.logit[layer][head],
    }))),
    layers: resp.layers.effect.map(delta),
  };
}

/** The input changed (inspect.js, on every refresh): a map of another input is cleared. */
export function inputChanged(key) {
  if (forKey !== null && key !== forKey) clearMap();
}

function clearMap() {
  loads.start();
  forKey = shown = null;
  $("knockout").hidden = true;
  $(BUTTON).disabled = false;
  $("knockout-status").textContent = "";
  clearError(BUTTON);
}

/**
 * Fetch and draw the map of the input shown. ctx: {body(mode) -> the request body, key (the input's),
 * open(layer, head), openLayer(layer)}.
 */
export async function showKnockout(ctx) {
  const my = loads.start();
  forKey = ctx.key;
  clearError(BUTTON);
  $(BUTTON).disabled = true;
  $("knockout-status").textContent = "removing each head in turn…";
  try {
    const resp = await request("/api/inspect/knockout", { method: "POST", body: ctx.body($("knockout-mode").value) });
    if (!loads.isNewest(my)) return;
    shown = { map: readMap(resp), ctx };
    draw();
  } catch (e) {
    if (loads.isNewest(my)) showError(BUTTON, e.message);
  } finally {
    if (loads.isNewest(my)) {
      $(BUTTON).disabled = false;
      $("knockout-status").textContent = shown ? `${shown.map.mode} removal, plain probability of ${shown.map.label} ${fmt(shown.map.plain.probability, 2)}` : "";
    }
  }
}

// Another removal mode: the map shown is of the other one, so fetch again.
$("knockout-mode").addEventListener("change", () => { if (shown) showKnockout(shown.ctx); });

/** Diverging: a drop in red, a rise in blue, white at 0; `max` is the largest |Δ| drawn. */
function deltaColor(delta, max) {
  if (delta == null || !Number.isFinite(delta)) return "#f2f4f7";
  const a = Math.min(1, Math.abs(delta) / (max || 1));
  return delta < 0
    ? `rgb(255,${Math.round(255 - 185 * a)},${Math.round(255 - 195 * a)})`
    : `rgb(${Math.round(255 - 195 * a)},${Math.round(255 - 125 * a)},255)`;
}

const signed = (v) => (v == null ? "–" : (v < 0 ? "−" : "+") + fmt(Math.abs(v), 3));

function draw() {
  const { map } = shown;
  // the heads' range sets the colours: a whole layer's larger effect saturates instead of washing the heads out
  const max = Math.max(1e-6, ...map.heads.flat().map((c) => Math.abs(c.delta ?? 0)));
  const root = $("knockout-map");
  root.dataset.label = map.label;
  root.replaceChildren(drawGrid(map, max), drawLegend(map, max));
  drawTable();
  $("knockout").hidden = false;
}

function cellButton(cls, delta, max, title) {
  const b = el("button", cls);
  b.type = "button";
  b.style.background = deltaColor(delta, max);
  b.title = title;
  b.dataset.delta = delta;
  return b;
}

/** Layers × heads, and the whole layer's effect at the end of each row. */
function drawGrid(map, max) {
  const H = map.heads[0].length, grid = el("div", "ko-grid");
  grid.style.setProperty("--heads", H);
  grid.append(el("span"), ...Array.from({ length: H }, (_, h) => el("span", "ko-hlabel", "H" + h)), el("span", "ko-hlabel", "layer"));
  map.heads.forEach((row, layer) => {
    grid.append(el("span", "ko-llabel", "L" + layer));
    for (const c of row) {
      const b = cellButton("ko-cell", c.delta, max, `head ${headName(layer, c.head)} removed: ${map.label} ${fmt(c.probability, 3)} (Δ ${signed(c.delta)})`);
      Object.assign(b.dataset, { layer, head: c.head });
      grid.append(b);
    }
    const whole = cellButton("ko-layer", map.layers[layer], max, `all heads of layer ${layer} removed: Δ ${signed(map.layers[layer])}`);
    whole.dataset.layer = layer;
    grid.append(whole);
  });
  grid.onclick = (e) => {
    const cell = e.target.closest(".ko-cell, .ko-layer");
    if (!cell) return;
    if (cell.classList.contains("ko-cell")) shown.ctx.open(+cell.dataset.layer, +cell.dataset.head);
    else shown.ctx.openLayer(+cell.dataset.layer);
  };
  return grid;
}

function drawLegend(map, max) {
  const legend = el("div", "ko-legend");
  const bar = el("span", "ko-scale");
  bar.style.background = `linear-gradient(to right, ${deltaColor(-max, max)}, #fff, ${deltaColor(max, max)})`;
  legend.append(el("span", null, signed(-max)), bar, el("span", null, signed(max)),
    el("span", "ko-unit", `Δ probability of ${map.label} when the head (or, in the last column, the whole layer) is removed — red: it drops; a layer beyond the scale is at full colour`));
  return legend;
}

const ORDERS = {
  effect: (a, b) => (a.delta ?? Infinity) - (b.delta ?? Infinity) || a.layer - b.layer || a.head - b.head, // the largest drop first
  position: (a, b) => a.layer - b.layer || a.head - b.head,
};

/** Every head, sorted by effect or by layer.head; a row click opens the head. */
function drawTable() {
  const { map } = shown;
  const rows = map.heads.flat().sort(ORDERS[sortBy]);
  const table = el("table", "metrics ko-table");
  const head = table.createTHead().insertRow();
  for (const [name, order] of [["head", "position"], ["Δ probability", "effect"], ["probability", null], ["logit", null]]) {
    const th = el("th");
    if (order) {
      const b = el("button", "link" + (order === sortBy ? " sorted" : ""), name);
      Object.assign(b, { type: "button", title: `sort by ${order === "effect" ? "effect (largest drop first)" : "layer.head"}` });
      b.dataset.sort = order;
      b.onclick = () => { sortBy = order; drawTable(); };
      th.append(b);
    } else th.textContent = name;
    head.append(th);
  }
  const body = table.createTBody();
  for (const c of rows) {
    const tr = body.insertRow();
    tr.className = "ko-row";
    Object.assign(tr.dataset, { layer: c.layer, head: c.head });
    tr.append(el("td", null, headName(c.layer, c.head)), el("td", null, signed(c.delta)), el("td", null, fmt(c.probability, 3)), el("td", null, fmt(c.logit, 3)));
  }
  body.onclick = (e) => { const tr = e.target.closest(".ko-row"); if (tr) shown.ctx.open(+tr.dataset.layer, +tr.dataset.head); };
  $("knockout-table").dataset.sort = sortBy;
  $("knockout-table").replaceChildren(table);
}
