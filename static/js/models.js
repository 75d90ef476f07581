// /models: one card per checkpoint from GET /api/models. All values are set
// with textContent (model metadata is data, not markup).

import { getModels } from "./api.js";
import { conceptLink, el, fillConceptLinks, fmt, showError } from "./dom.js";
import { untrainedWarning } from "./model-provenance.js";

function field(dl, name, value) {
  if (value == null || value === "") return;
  dl.append(el("dt", null, name), el("dd", null, String(value)));
}

/** A metric as reported: counts as they are, fractions to 4 decimals without trailing zeros. */
const metricText = (v) => (Number.isInteger(v) ? String(v) : fmt(v, 4).replace(/(\.\d*?)0+$/, "$1"));

/** A metric's key as the pages write it: "macro_f1" reads "macro-F1", "per_class" "per class". */
const metricName = (key) => key.replace(/_f1$/, "-F1").replace(/_/g, " ");

/** Metrics are either flat ({accuracy: 0.9}) or per split ({dev: {accuracy, macro_f1, n}}):
 *  one row per split, one column per metric. */
function metricsTable(metrics) {
  const flat = {}, splits = {};
  for (const [k, v] of Object.entries(metrics)) {
    if (v && typeof v === "object") splits[k] = v;
    else flat[k] = v;
  }
  if (Object.keys(flat).length) splits[""] = flat;
  const rows = Object.entries(splits);
  if (!rows.length) return null;
  // a column per scalar metric: a nested breakdown (e.g. per relation) is the JSON's, not one cell's
  const scalar = (v) => v == null || typeof v !== "object";
  const cols = [...new Set(rows.flatMap(([, r]) => Object.keys(r).filter((k) => scalar(r[k]))))];
  const t = el("table", "metrics"), head = el("tr");
  const caption = el("caption", null, "metrics ");
  caption.append(conceptLink("accuracy-and-f1-per-task"));
  t.append(caption);
  head.append(el("th", null, ""), ...cols.map((c) => el("th", null, metricName(c))));
  const n = [...head.children].find((th) => th.textContent === "n");
  if (n) n.title = "n: the examples of that split the metrics were measured on";
  const body = el("tbody");
  body.append(head);
  for (const [split, r] of rows) {
    const tr = el("tr");
    tr.append(el("th", null, split), ...cols.map((c) => el("td", null, c in r ? metricText(r[c]) : "")));
    body.append(tr);
  }
  t.append(body);
  return t;
}

function card(m, defaults) {
  const c = el("article", "card panel");
  c.dataset.model = m.id;
  const h = el("h2", null, m.id);
  if (Object.values(defaults).includes(m.id)) h.append(" ", el("span", "badge", "default"));
  if (m.baseline) h.append(" ", el("span", "badge", `${m.baseline} baseline: not fine-tuned`));
  c.append(h);
  if (m.untrained) c.append(el("p", "notice untrained-note", untrainedWarning(m)));
  if (m.description) c.append(el("p", "muted", m.description));
  const dl = el("dl");
  field(dl, "task", m.task);
  field(dl, "format", m.format);
  field(dl, "base model", m.base_model);
  field(dl, "layers × heads", `${m.num_layers} × ${m.num_heads}`);
  field(dl, "max length", m.max_length);
  field(dl, "labels", (m.labels || []).join(", "));
  field(dl, "loaded", m.loaded ? "yes" : "no");
  c.append(dl);
  const table = metricsTable(m.metrics || {});
  // a wide table (benchmark columns) scrolls inside its card rather than running past its edge
  if (table) {
    const scroll = el("div", "metrics-scroll");
    scroll.append(table);
    c.append(scroll);
  }
  const a = el("a", "button", "Inspect");
  a.href = "/inspect?model=" + encodeURIComponent(m.id);
  c.append(a);
  return c;
}

async function main() {
  fillConceptLinks(); // the template's "?" links to /concepts
  const box = document.getElementById("model-cards");
  try {
    const data = await getModels();
    const models = data.models || [];
    box.replaceChildren(...models.map((m) => card(m, data.defaults || {})));
    if (!models.length) box.replaceChildren(el("p", "muted", "No checkpoints found."));
  } catch (e) {
    box.replaceChildren();
    showError("error-box", e.message);
  }
  document.body.dataset.ready = "1";
}
main();
