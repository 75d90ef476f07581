// The /report tables: one summary row per checkpoint, then per checkpoint its data, shifted sets, attacks,
// calibration, out-of-domain sets and whatever was not available (and why).

import { $, conceptLink, el, fmt, MISSING, numEl } from "./dom.js";

function row(cells, tag = "td") {
  const tr = el("tr");
  for (const c of cells) tr.append(typeof c === "number" ? numEl(tag, "num", c) : el(tag, c === MISSING ? "num" : "", c));
  return tr;
}

const pair = (a, b) => `${fmt(a)} / ${fmt(b)}`;
// each figure with its own name: an ABSA category checkpoint's headline is 3-way sentiment accuracy and
// aspect-detection F1, a relation checkpoint's accuracy and the official macro-F1
const named = (r, a, b) => `${r.accuracy_name} ${fmt(a)} · ${r.f1_name} ${fmt(b)}`;

/** One row per checkpoint with each perspective's headline figures, named per task. */
export function drawSummary(result) {
  const table = $("summary-table");
  table.replaceChildren(row(["checkpoint", "method", "in distribution", "distribution shift",
    "accuracy under attack (mean)", "ECE → after scaling (lower is better)", "OOD AUROC (mean)",
    "interpretability rate (random, pretrained baselines)"], "th"));
  linkHeads(table, [null, null, "accuracy-and-f1-per-task", "distribution-shift", "accuracy-under-attack", "ece", "ood-auroc",
    "interpretability-rate"]);
  const untrained = Object.fromEntries(result.models.map((m) => [m.id, m.untrained]));
  for (const r of result.summary.rows) {
    const tr = row([r.model, r.method || "vanilla", named(r, r.in_distribution, r.in_distribution_f1),
      r.shift == null ? "not available" : named(r, r.shift, r.shift_f1), r.adversarial == null ? "not run" : fmt(r.adversarial),
      `${fmt(r.ece)} → ${fmt(r.ece_scaled)}`, r.auroc == null ? "not available" : fmt(r.auroc),
      `${fmt(r.interpretability)} (${fmt(r.interpretability_random)}, ${fmt(r.interpretability_pretrained)})`]);
    tr.dataset.model = r.model;
    if (untrained[r.model]) tr.cells[0].append(" ", untrainedTag(untrained[r.model]));
    table.append(tr);
  }
}

/** The in-distribution sentence: the headline pair, then accuracy and macro-F1 over the labels only where the
 *  headline is another figure (a relation checkpoint's headline accuracy is that accuracy: said once). */
function inDistribution(set) {
  const head = set.headline;
  // a headline accuracy over fewer inputs than the set (3-way accuracy: the pairs whose gold is a sentiment) says so
  const over = head.accuracy_n != null && head.accuracy_n !== set.n ? ` (over ${head.accuracy_n} of them)` : "";
  const figures = [`${head.accuracy_name} ${fmt(head.accuracy)}${over}`, `${head.f1_name} ${fmt(head.f1)}`];
  const accuracyKey = head.accuracy_key || (head.accuracy_name === "accuracy" ? "accuracy" : null);
  if (accuracyKey !== "accuracy") figures.push(`accuracy over the labels ${fmt(set.accuracy)}`);
  if ((head.f1_key || null) !== "macro_f1") figures.push(`macro-F1 over the labels ${fmt(set.macro_f1)}`);
  const unknown = set.unknown_gold ? ` ${set.unknown_gold} of the ${set.n} inputs have a gold label this model ` +
    "does not have: they count as wrong." : "";
  return `In distribution on ${set.name} (n=${set.n}): ${figures.join(", ")}.${unknown}`;
}

/** A "?" after each header cell of `table` that has an anchor in `anchors` (by column; null: none). */
function linkHeads(table, anchors) {
  table.querySelectorAll("tr:first-child th").forEach((th, i) => {
    if (anchors[i]) th.append(" ", conceptLink(anchors[i]));
  });
  return table;
}

/** The mark beside an untrained checkpoint's figures (its predictions are near-random): the reason as its tooltip. */
const untrainedTag = (why) => Object.assign(el("span", "untrained-tag", "untrained"), { title: `Untrained checkpoint: ${why}.` });

function list(items) {
  const ul = el("ul", "rp-notes");
  for (const text of items) ul.append(el("li", "", text));
  return ul;
}

/** A table; with `ns` (each row's n) and `minN`, the rows resting on fewer inputs are greyed out and say so. */
function table(head, rows, ns = null, minN = 1) {
  const t = el("table", "rp-table");
  t.append(row(head, "th"));
  rows.forEach((r, i) => {
    const tr = row(r);
    if (ns && ns[i] != null && ns[i] < minN) {
      tr.classList.add("small-n");
      tr.title = `n = ${ns[i]}, below the minimum n of ${minN}: too few inputs to compare on`;
    }
    t.append(tr);
  });
  return t;
}

/** The note under a table with greyed rows (none when every row has its minimum n). */
function smallNote(ns, minN) {
  const small = ns.filter((n) => n != null && n < minN).length;
  if (!small) return [];
  const p = el("p", "small-n-note muted", `greyed: ${small} row(s) rest on fewer than ${minN} inputs (the minimum n, HEADSCOPE_MIN_N), too few to compare on `);
  p.append(conceptLink("minimum-n"));
  return [p];
}

function modelSection(m, minN) {
  const box = el("section", "rp-model");
  box.dataset.model = m.id;
  box.append(el("h3", "", `${m.id} (${m.task}, ${m.format}; ${(m.method && m.method.name) || "vanilla"})`));
  if (m.untrained) box.append(el("p", "notice untrained", `Untrained checkpoint: ${m.untrained}. Its figures below say little.`));
  const inDist = el("p", "in-distribution", inDistribution(m.in_distribution) + " ");
  inDist.append(conceptLink("accuracy-and-f1-per-task"));
  box.append(inDist);
  box.append(table(["data", "role", "inputs", "note"], m.data.sets.map((s) => [s.name, s.role, String(s.inputs), s.note || ""])));
  if (m.shift.sets.length) {
    const head = m.in_distribution.headline;  // the shifted sets' figures are the same pair, named once here
    const ns = m.shift.sets.map((s) => s.n);
    box.append(linkHeads(table(["shifted set", head.accuracy_name, head.f1_name, "change (both) against the test set", "n", "note"], m.shift.sets.map((s) =>
      [s.name, fmt(s.headline.accuracy), fmt(s.headline.f1), pair(s.change.accuracy, s.change.f1), s.n == null ? MISSING : String(s.n), s.note || ""]), ns, minN),
      ["distribution-shift", "accuracy-and-f1-per-task", "accuracy-and-f1-per-task", null, "minimum-n"]),
      ...smallNote(ns, minN));
  }
  const attacks = Object.entries(m.adversarial.attacks);
  if (attacks.length) {
    const ns = attacks.map(([, a]) => a.n);
    box.append(linkHeads(table(["attack", "accuracy under attack", "clean accuracy", "success rate", "pairs (n)"], attacks.map(([name, a]) =>
      [name, fmt(a.accuracy), fmt(a.clean_accuracy), fmt(a.success_rate), String(a.n)]), ns, minN),
      [null, "accuracy-under-attack", null, "accuracy-under-attack", "minimum-n"]), ...smallNote(ns, minN));
  }
  const c = m.calibration;
  const calibration = el("p", "calibration", `Calibration: ECE ${fmt(c.in_distribution.ece)} → ${fmt(c.in_distribution.ece_scaled)} after ` +
    `temperature ${fmt(c.temperature, 2)} fitted on ${c.dev} (${c.dev_inputs} inputs); lower is better `);
  calibration.append(conceptLink("ece"));
  box.append(calibration);
  if (m.anomaly.sets.length) {
    box.append(linkHeads(table(["out-of-domain set", "AUROC", "AUPR-In", "FPR at 95% TPR", "n in / out"], m.anomaly.sets.map((s) =>
      [s.name, fmt(s.auroc), fmt(s.aupr), fmt(s.fpr_at_95_tpr), `${s.n_in} / ${s.n_out}`])), [null, "ood-auroc", "ood-auroc", "ood-auroc"]));
  }
  const notes = [
    ...Object.entries(m.shift.not_available || {}).map(([k, why]) => `${k}: ${why}`),
    ...Object.entries(m.adversarial.not_run || {}).map(([k, why]) => `${k} not run: ${why}`),
    ...(c.temperature_note ? [c.temperature_note] : []),
    ...(m.anomaly.not_available ? [m.anomaly.not_available] : []),
    ...(m.interpretability ? [] : ["interpretability: not computed"]),
  ];
  if (notes.length) box.append(list(notes));
  return box;
}

export function drawDetails(result) {
  $("model-details").replaceChildren(...result.models.map((m) => modelSection(m, result.min_n || 1)));
}
