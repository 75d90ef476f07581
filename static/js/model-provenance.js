// What a checkpoint was trained on, in one sentence for the pages that show its predictions: its own
// description, the training files and example counts, and its measured figures (headscope.json's
// description / training / metrics, as GET /api/models lists them).

import { fmt } from "./dom.js";

const shortPath = (path) => path.split("/").slice(-2).join("/");

function measured(metrics) {
  const m = (metrics && (metrics.test || metrics.dev)) || null;
  if (!m) return "";
  const where = metrics.test ? "test" : "held-out dev";
  const figures = [m.accuracy != null && `accuracy ${fmt(m.accuracy)}`, m.macro_f1 != null && `macro-F1 ${fmt(m.macro_f1)}`];
  return ` Measured on ${where} data: ${figures.filter(Boolean).join(", ")}${m.n ? ` (n=${m.n})` : ""}.`;
}

/** One sentence (or a few) saying what the checkpoint is and what it learned from; "" when nothing is known. */
export function trainedOn(model) {
  if (!model) return "";
  const parts = [];
  if (model.description) parts.push(model.description.replace(/\.?$/, "."));
  const t = model.training || {};
  const files = (t.data || []).filter((d) => d.role !== "test" && d.path).map((d) => shortPath(d.path));
  if (files.length) {
    const ex = t.examples || {};
    const counts = ex.train != null ? ` (${ex.train} training examples, ${ex.dev} held out` : "";
    const epochs = t.args && t.args.epochs != null ? `${counts ? ", " : " ("}${t.args.epochs} epochs)` : counts ? ")" : "";
    parts.push(`Trained on ${files.join(", ")}${counts}${epochs}.`);
  }
  return (parts.join(" ") + measured(model.metrics)).trim();
}

/** The warning every page shows beside an untrained or unrecorded checkpoint's predictions (GET /api/models'
 *  `untrained`: a pretrained baseline's random classifier, or a card without a training run); "" for a trained one. */
export function untrainedWarning(model) {
  return model && model.untrained ? `Untrained checkpoint: ${model.untrained}.` : "";
}

/** Fill `box` (a .notice element) with the model's untrained warning, hidden when it has none. */
export function showUntrained(box, model) {
  if (!box) return;
  box.textContent = untrainedWarning(model);
  box.hidden = !box.textContent;
}
