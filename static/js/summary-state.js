// What the /analysis page modules share: the view state mirrored into the URL (model, data,
// analysis id, statistic, value kind, head), the window.headscope hooks for scripts and tests,
// and small DOM helpers. Every value is set with textContent (data, not markup).

export const $ = (id) => document.getElementById(id);

const q = new URLSearchParams(location.search);
export const view = {
  model: q.get("model") || "", data: q.get("data") || "", id: q.get("id") || "",
  stat: q.get("stat") || "", value: q.get("value") || "score",
  layer: q.has("layer") ? +q.get("layer") : null, head: q.has("head") ? +q.get("head") : null,
};

/** window.headscope: the view, the job status and the result shown, and a count of main heatmap draws. */
export const pub = (window.headscope = { view, job: null, result: null, plots: 0 });

export function writeView() {
  const p = new URLSearchParams();
  for (const k of ["model", "data", "id", "stat", "value"]) if (view[k]) p.set(k, view[k]);
  if (view.layer != null) p.set("layer", view.layer);
  if (view.head != null) p.set("head", view.head);
  history.replaceState(null, "", location.pathname + "?" + p.toString());
}

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

export const fmt = (v, digits = 3) => (v == null || Number.isNaN(v) ? "–" : typeof v === "number" ? v.toFixed(digits) : String(v));

/** One <dt>name</dt><dd>value</dd> pair of a facts list. */
export function fact(dl, name, value) { dl.append(el("dt", null, name), el("dd", null, value)); }

export function showError(msg) { $("error-box").textContent = msg; $("error-box").hidden = false; }
export const hideError = () => { $("error-box").hidden = true; };
