// Seed groups on /report (a report whose models include NAME@13,14,15; the result's `seed_groups`, built by
// app/core/report/seed_summary.py): what the charts draw per entry (a group's means, with the spread over its
// seeds as error bars and the per-seed values in the hover), the table of each entry's figures and the paired
// comparison of two groups seed by seed. A report of single checkpoints draws as before.

import { $, conceptLink, el, fmt, MISSING } from "./dom.js";

/** The summary rows the charts draw: one per entry, its figures' means, `spread` the figures' spreads
 *  ({mean, sd, min, max, n, values: [{seed, model, value}]}); without seed groups, the checkpoints' rows. */
export function entryRows(result) {
  const groups = result.seed_groups;
  if (!groups) return result.summary.rows;
  return groups.entries.map((e) => {
    const row = { model: e.label, task: e.task, method: e.method, accuracy_name: e.accuracy_name,
                  f1_name: e.f1_name, group: e.group, members: e.members, spread: e.figures };
    for (const [key, figure] of Object.entries(e.figures)) row[key] = figure.mean;
    return row;
  });
}

const meanBins = (bins) => bins && bins.map((b) => ({ low: b.low, high: b.high, count: b.count, accuracy: b.mean, spread: b }));

/** The models the reliability and ROC charts draw: one per entry, in the shape of a checkpoint's section (the
 *  bins' and curves' means, each with its `spread`); without seed groups, the checkpoints' sections. */
export function entryModels(result) {
  const groups = result.seed_groups;
  if (!groups) return result.models;
  const byId = Object.fromEntries(result.models.map((m) => [m.id, m]));
  return groups.entries.map((e) => {
    const first = byId[e.members[0].model], r = e.reliability;
    return {
      id: e.label, group: e.group, seeds: e.members.length,
      calibration: {
        bins: first.calibration.bins, temperature: r.temperature.mean,
        in_distribution: { name: r.name, ece: r.ece.mean, ece_scaled: r.ece_scaled.mean,
                           reliability: meanBins(r.bins), reliability_scaled: meanBins(r.bins_scaled) },
        shift: r.shift.map((s) => ({ name: s.name, ece: s.ece.mean, reliability: meanBins(s.bins) })),
      },
      anomaly: {
        in_distribution: first.anomaly.in_distribution, not_available: first.anomaly.not_available,
        sets: e.roc.map((s) => ({ name: s.name, auroc: s.auroc.mean, averaged: true,
                                  roc: { fpr: s.fpr, tpr: s.tpr.map((t) => t.mean), spread: s.tpr } })),
      },
    };
  });
}

/** Plotly error bars of ±SD over the seeds for these spreads (none where no spread has an SD: one checkpoint). */
export function errorBars(spreads, color, axis = "y") {
  if (!spreads || !spreads.some((s) => s && s.sd != null)) return {};
  const bar = { type: "data", array: spreads.map((s) => (s && s.sd != null ? s.sd : 0)), visible: true,
                color, thickness: 1.5, width: 4 };
  return { [`error_${axis}`]: bar };
}

/** "13: 0.812, 14: 0.820" — a spread's per-seed values (the hover and the table). */
export function perSeed(spread) {
  if (!spread || !spread.values) return "";
  return spread.values.map((v) => `${v.seed == null ? v.model : v.seed}: ${fmt(v.value)}`).join(", ");
}

/** A figure's spread in words: mean ± SD [min–max] (n seeds); one value as itself. */
export function spreadText(s) {
  if (!s || s.mean == null) return MISSING;
  if (s.sd == null) return fmt(s.mean);
  return `${fmt(s.mean)} ± ${fmt(s.sd)} [${fmt(s.min)}–${fmt(s.max)}] (n=${s.n})`;
}

/** The hover text of a chart point with a spread: the mean ± SD, min–max and the per-seed values. */
export function spreadHover(s) {
  return s && s.sd != null ? `<br>${spreadText(s)}<br>per seed: ${perSeed(s)}` : "";
}

// The figures of the group table and the paired table, as the summary table names them.
const FIGURES = [["in_distribution", "in distribution"], ["in_distribution_f1", "in distribution (F1)"],
  ["shift", "distribution shift"], ["adversarial", "accuracy under attack"], ["ece", "ECE"],
  ["ece_scaled", "ECE after scaling"], ["auroc", "OOD AUROC"], ["interpretability", "interpretability rate"]];

function cell(tag, text, cls = "") {
  return el(tag, cls, text);
}

function groupTable(groups) {
  const table = el("table", "rp-table");
  table.id = "group-table";
  const head = el("tr");
  head.append(cell("th", "entry"), cell("th", "seeds"), ...FIGURES.map(([, name]) => cell("th", name)));
  table.append(head);
  for (const e of groups.entries) {
    const tr = el("tr");
    tr.dataset.entry = e.label;
    tr.append(cell("td", e.label), cell("td", e.group ? e.members.map((m) => m.seed).join(", ") : "one checkpoint"));
    for (const [key] of FIGURES) {
      const s = e.figures[key], td = cell("td", spreadText(s), "num");
      if (e.group && s.mean != null) td.append(el("div", "muted per-seed", perSeed(s)));
      tr.append(td);
    }
    table.append(tr);
  }
  return table;
}

function pairedTable(groups) {
  const table = el("table", "rp-table");
  table.id = "paired-table";
  const level = `${Math.round(groups.level * 100)}% t-interval`;
  const head = el("tr");
  head.append(...["groups (second minus first)", "figure", "n seeds", "difference per seed", "mean difference",
    level, "excludes 0"].map((t) => cell("th", t)));
  head.cells[5].append(" ", conceptLink("seed-group-figures"));  // the t-interval's definition
  table.append(head);
  for (const p of groups.paired) {
    for (const [key, name] of FIGURES) {
      const d = p.figures[key], tr = el("tr");
      Object.assign(tr.dataset, { a: p.a, b: p.b, figure: key });
      const interval = d.low == null ? "needs two seeds" : `[${fmt(d.low)}, ${fmt(d.high)}]`;
      tr.append(cell("td", `${p.b} − ${p.a}`), cell("td", name), cell("td", String(d.n), "num"),
        cell("td", d.per_seed.map((x) => `${x.seed}: ${fmt(x.difference)}`).join(", ") || MISSING, "num"),
        cell("td", fmt(d.mean), "num"), cell("td", interval, "num"),
        cell("td", d.excludes_zero == null ? MISSING : d.excludes_zero ? "yes" : "no"));
      table.append(tr);
    }
  }
  return table;
}

/** The seed-group section: each entry's figures (mean ± SD [min–max], per-seed values) and the paired table;
 *  hidden for a report of single checkpoints. */
export function drawGroups(result) {
  const groups = result.seed_groups;
  $("seed-groups").hidden = !groups;
  if (!groups) return;
  const notes = el("p", "muted", `Paired: the difference per seed both groups have (second group minus first), its ` +
    `mean and the ${groups.interval}. n is the number of seeds; an interval that excludes 0 is a difference that ` +
    `survives another seed, at that level, for these test inputs.`);
  $("group-tables").replaceChildren(groupTable(groups),
    ...(groups.paired.length ? [notes, pairedTable(groups)] : [el("p", "muted", "No two groups share seeds: nothing to pair.")]));
}
