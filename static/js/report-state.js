// What the /report page modules share: the view state mirrored into the URL (the checkpoints and the
// job id) and the window.headscope hooks for scripts and tests.

import { readQuery, writeQuery } from "./dom.js";

/** The URL's models, comma-separated: a seed group NAME@13,14,15 keeps its seeds (a bare number after a group
 *  is one of its seeds, never a checkpoint of its own). */
export function parseModels(text) {
  const models = [];
  for (const part of (text || "").split(",").filter(Boolean)) {
    const last = models[models.length - 1];
    if (/^\d+$/.test(part) && last && last.includes("@")) models[models.length - 1] = `${last},${part}`;
    else models.push(part);
  }
  return models;
}

const q = readQuery();
export const view = {
  models: parseModels(q.get("models")),
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
