// What the /report page modules share: the view state mirrored into the URL (the checkpoints and the
// job id) and the window.headscope hooks for scripts and tests.

import { readQuery, writeQuery } from "./dom.js";

const q = readQuery();
export const view = {
  models: (q.get("models") || "").split(",").filter(Boolean),
  id: q.get("id") || "",
};

/** window.headscope: the view, the job status and the report shown, and a count of chart draws. */
export const pub = (window.headscope = { view, job: null, result: null, plots: 0 });

export function writeView() {
  const p = new URLSearchParams();
  if (view.models.length) p.set("models", view.models.join(","));
  if (view.id) p.set("id", view.id);
  writeQuery(p);
}
