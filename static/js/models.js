// /models: one card per checkpoint from GET /api/models. All values are set
// with textContent (model metadata is data, not markup).

import { getModels } from "./api.js";

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

function field(dl, name, value) {
  if (value == null || value === "") return;
  dl.append(el("dt", null, name), el("dd", null, String(value)));
}

function card(m, defaults) {
  const c = el("article", "card panel");
  c.dataset.model = m.id;
  const h = el("h2", null, m.id);
  if (Object.values(defaults).includes(m.id)) h.append(" ", el("span", "badge", "default"));
  c.append(h);
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
  const metrics = Object.entries(m.metrics || {});
  if (metrics.length) {
    const t = el("table", "metrics"), body = el("tbody");
    t.append(el("caption", null, "metrics"));
    for (const [k, v] of metrics) {
      const tr = el("tr");
      tr.append(el("th", null, k), el("td", null, typeof v === "number" ? v.toFixed(4).replace(/\.?0+$/, "") : String(v)));
      body.append(tr);
    }
    t.append(body);
    c.append(t);
  }
  const a = el("a", "button", "Inspect");
  a.href = "/inspect?model=" + encodeURIComponent(m.id);
  c.append(a);
  return c;
}

async function main() {
  const box = document.getElementById("model-cards");
  try {
    const data = await getModels();
    const models = data.models || [];
    box.replaceChildren(...models.map((m) => card(m, data.defaults || {})));
    if (!models.length) box.replaceChildren(el("p", "muted", "No checkpoints found."));
  } catch (e) {
    box.replaceChildren();
    const err = document.getElementById("error-box");
    err.textContent = e.message;
    err.hidden = false;
  }
  document.body.dataset.ready = "1";
}
main();
