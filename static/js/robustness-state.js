// What the /robustness page modules share: the view state mirrored into the URL (model, data,
// training data, job id, selected test, query set, picked head), the window.headscope hooks for
// scripts and tests, and how a rate with its CI reads.

import { fmt, MISSING, queryInt, readQuery, writeQuery } from "./dom.js";

const q = readQuery();
export const view = {
  model: q.get("model") || "", data: q.get("data") || "", train: q.get("train") || "", id: q.get("id") || "",
  test: q.get("test") || "", query: q.get("query") === "cls" ? "cls" : "focus",
  layer: queryInt(q, "layer"), head: queryInt(q, "head"),
  scale: ["log", "rank"].includes(q.get("scale")) ? q.get("scale") : "linear", // the heads chart's colours
};

/** window.headscope: the view, the job status and the result shown, and a count of chart draws. */
export const pub = (window.headscope = { view, job: null, result: null, plots: 0 });

export function writeView() {
  const p = new URLSearchParams();
  for (const k of ["model", "data", "train", "id", "test"]) if (view[k]) p.set(k, view[k]);
  if (view.query !== "focus") p.set("query", view.query);
  if (view.scale !== "linear") p.set("scale", view.scale);
  if (view.layer != null && view.head != null) { p.set("layer", view.layer); p.set("head", view.head); }
  writeQuery(p);
}

/** "0.833 [0.700, 0.933] n=30" for a Rate {value, ci, n}; MISSING when there is none. */
export function rateText(r) {
  if (!r || r.value == null) return MISSING;
  const ci = r.ci && r.ci[0] != null ? ` [${fmt(r.ci[0])}, ${fmt(r.ci[1])}]` : "";
  return `${fmt(r.value)}${ci} n=${r.n}`;
}
