// What the /analysis page modules share: the view state mirrored into the URL (model, data,
// analysis id, statistic, value kind, head, seed-group job) and the window.headscope hooks for scripts and tests.

import { queryInt, readQuery, writeQuery } from "./dom.js";

const q = readQuery();
export const view = {
  model: q.get("model") || "", data: q.get("data") || "", id: q.get("id") || "",
  stat: q.get("stat") || "", value: q.get("value") || "score",
  layer: queryInt(q, "layer"), head: queryInt(q, "head"),
  group: q.get("group") || "",  // a seed-group comparison's job id (seed-groups.js)
  scale: ["log", "rank"].includes(q.get("scale")) ? q.get("scale") : "linear",  // the heatmaps' colour scale
};

/** window.headscope: the view, the job status and the result shown, and a count of main heatmap draws. */
export const pub = (window.headscope = { view, job: null, result: null, plots: 0 });

export function writeView() {
  const p = new URLSearchParams();
  for (const k of ["model", "data", "id", "stat", "value", "group"]) if (view[k]) p.set(k, view[k]);
  if (view.layer != null) p.set("layer", view.layer);
  if (view.head != null) p.set("head", view.head);
  if (view.scale !== "linear") p.set("scale", view.scale);
  writeQuery(p);
}
