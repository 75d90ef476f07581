// The /compare page's change read-outs (POST /api/compare `change`, docs/reference/api.md): per-head bars
// for the shown layer, one column per query set, and a layers × heads grid of one query set.
// Bars are scaled to the largest change of their query set over all layers, so layers compare.
// The unit is the Jensen–Shannon divergence (0 = the same attention, 1 = disjoint): the bars' values
// show it as is, the grid's cells × 100 (two digits fit a cell), and each says so.
// Everything is built with textContent and style properties (data, never markup).

import { el, fmt } from "./dom.js";

function maxOf(grid) {
  let m = 0;
  for (const row of grid || []) for (const v of row) if (v != null && v > m) m = v;
  return m || 1;
}

/**
 * Fill `root` with one row per head of `layer`: head, focus bar and value, [CLS] bar and value.
 * selected: the heads shown (others dimmed); colors: per head; onToggle(head) on a click.
 */
export const GRID_UNIT = "JS divergence × 100 (0 = the same attention, 100 = disjoint)";

export function drawBars(root, change, layer, { selected, colors, onToggle, querySets = ["focus", "cls"] }) {
  root.replaceChildren();
  if (!change) return;
  const names = { focus: "focus queries, JS", cls: "[CLS], JS" };
  root.append(el("span", "hdr", "head"));
  for (const q of querySets) root.append(el("span", "hdr", names[q] || q), el("span", "hdr", ""));
  const scale = Object.fromEntries(querySets.map((q) => [q, maxOf(change[q])]));
  const on = new Set(selected);
  const H = change[querySets[0]][layer].length;
  for (let h = 0; h < H; h++) {
    const off = on.has(h) ? "" : " off";
    const name = el("span", "hname" + off, `${layer}.${h}`);  // heads are named layer.head on every page
    name.style.color = colors[h];
    name.dataset.head = h;
    name.title = `head ${layer}.${h} (click: show or hide it in both head views)`;
    root.append(name);
    for (const q of querySets) {
      const v = change[q][layer][h];
      const bar = el("span", "cbar" + off), fill = el("i");
      bar.dataset.head = h;
      bar.dataset.query = q;
      bar.dataset.value = v == null ? "" : String(v);
      bar.title = `head ${layer}.${h}, ${names[q] || q} divergence: ${fmt(v)}`;
      fill.style.width = v == null ? "0" : `${(100 * v / scale[q]).toFixed(1)}%`;
      fill.style.setProperty("--c", colors[h]);
      bar.append(fill);
      root.append(bar, el("span", "val" + off, fmt(v)));
    }
  }
  root.onclick = (e) => {
    const t = e.target.closest("[data-head]");
    if (t) onToggle(+t.dataset.head);
  };
}

/** A layers × heads table of `grid` (one query set); onPick(layer, head) on a click. */
export function drawGrid(table, grid, { layer, onPick }) {
  table.replaceChildren();
  if (!grid) return;
  const m = maxOf(grid), H = grid[0].length;
  table.createCaption().textContent = GRID_UNIT;
  const head = el("tr");
  head.append(el("th", null, "L\\H"));
  for (let h = 0; h < H; h++) head.append(el("th", null, String(h)));
  table.append(head);
  grid.forEach((row, l) => {
    const tr = el("tr");
    tr.append(el("th", null, String(l)));
    row.forEach((v, h) => {
      const td = el("td", l === layer ? "current" : null, v == null ? "" : (100 * v).toFixed(0));
      const t = v == null ? 0 : v / m;
      td.style.background = `rgba(217, 45, 32, ${(0.08 + 0.92 * t).toFixed(3)})`;
      td.style.color = t > 0.45 ? "#fff" : "#5d1a14";
      td.title = `head ${l}.${h}: JS divergence ${fmt(v)}`;
      td.dataset.layer = l;
      td.dataset.head = h;
      tr.append(td);
    });
    table.append(tr);
  });
  table.onclick = (e) => {
    const td = e.target.closest("td[data-layer]");
    if (td) onPick(+td.dataset.layer, +td.dataset.head);
  };
}
