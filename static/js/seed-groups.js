// Seed groups on any page (/analysis's "Across seeds", /robustness's model picker): the groups of the models folder
// (GET /api/<kind>/groups) and the drawing of sets of heads across the seeds of a group. Both comparisons give each
// row the same fields (app/web/seed_group_schema.py HeadSetsAcrossSeeds): `heads` (per seed [[layer, head], ...]),
// `counts` ([layer][head]: k of the n seeds), `pairs` ({seeds, jaccard, chance, ...} per pair of seeds),
// `mean_jaccard`, `mean_chance`, `in_all`, `in_all_by_chance` and `stable` ([layer, head, k] for k >= 2). A row is
// one label (head roles) or one test and query set (moved heads); the caller says how a row is named.

import { request } from "./request.js";
import { loadPlotly } from "./plotly-loader.js";
import { el, fmt } from "./dom.js";

/** The seed groups a kind of group job offers: [{label, name, task, seeds, models}]. */
export async function listGroups(base) {
  return (await request(`${base}/groups`)).groups;
}

/** An <optgroup> of `groups` for a model select (value: NAME@SEEDS). */
export function groupOptions(groups, title = "Seed groups") {
  const box = document.createElement("optgroup");
  box.label = title;
  box.append(...groups.map((g) => new Option(`${g.label} (${g.task}, ${g.seeds.length} seeds)`, g.label)));
  return box;
}

export const isGroup = (text) => typeof text === "string" && text.includes("@");

const pct = (v) => (v == null ? "–" : fmt(v, 2));

/** One table row per entry of `rows` (named by `nameOf(row)`, kept in the row's data-<key>): each seed's heads, the Jaccard per
 *  pair of seeds against chance, its mean, the heads in every seed against chance, and each head's k/n. */
export function drawHeadSetsTable(table, seeds, rows, { rowTitle = "label", key = "label", nameOf = (row) => row.label } = {}) {
  const n = seeds.length, head = el("tr");
  for (const t of [rowTitle, ...seeds.map((s) => `seed ${s}`), "Jaccard per pair (chance)", "mean Jaccard (chance)", `in all ${n} seeds (by chance)`, "heads in 2+ seeds (k/n)"]) head.append(el("th", null, t));
  const trs = rows.map((entry) => {
    const tr = el("tr");
    tr.dataset[key] = nameOf(entry);
    const cells = [
      nameOf(entry),
      ...entry.heads.map((hs) => hs.map(([l, h]) => `${l}.${h}`).join(" ") || "–"),
      entry.pairs.map((p) => `${p.seeds[0]}–${p.seeds[1]}: ${pct(p.jaccard)} (${pct(p.chance)})`).join("; "),
      `${pct(entry.mean_jaccard)} (${pct(entry.mean_chance)})`,
      `${entry.in_all.length} (${fmt(entry.in_all_by_chance, 2)})`,
      entry.stable.map(([l, h, k]) => `${l}.${h} ${k}/${n}`).join(", ") || "–",
    ];
    for (const c of cells) tr.append(el("td", null, c));
    return tr;
  });
  table.replaceChildren(head, ...trs);
  return trs;
}

/** One layers × heads map of k/n per entry of `rows` into `box` (each a div.seed-map with data-<key> its name): in how many of
 *  the n seeds the head is in the row's set; `what` says what the set is, for the hover ("labelled x", "moved"). */
export async function drawHeadSetsMaps(box, seeds, rows, { key = "label", nameOf = (row) => row.label, what = (row) => `labelled ${row.label}` } = {}) {
  const Plotly = await loadPlotly(), n = seeds.length;
  box.replaceChildren();
  for (const entry of rows) {
    const div = el("div", "seed-map");
    div.dataset[key] = nameOf(entry);
    box.append(div);
    const text = entry.counts.map((row) => row.map((k) => (k ? `${k}/${n}` : "")));
    await Plotly.react(div, [{
      type: "heatmap", z: entry.counts, text, texttemplate: "%{text}", zmin: 0, zmax: n, colorscale: "Blues",
      hovertemplate: `layer %{y}, head %{x}<br>${what(entry)} in %{z} of ${n} seeds<extra></extra>`,
      colorbar: { title: { text: "k" }, dtick: 1, thickness: 10 },
    }], {
      title: { text: `${nameOf(entry)} · Jaccard ${pct(entry.mean_jaccard)} (chance ${pct(entry.mean_chance)})`, font: { size: 12 } },
      xaxis: { title: "head", dtick: 2 }, yaxis: { title: "layer", dtick: 1, autorange: "reversed" },
      margin: { l: 40, r: 6, t: 30, b: 34 },
    }, { displaylogo: false });
  }
}
