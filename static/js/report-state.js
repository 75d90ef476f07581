// What the /report page modules share: the view state mirrored into the URL (the checkpoints and the
// job id), the window.headscope hooks for scripts and tests, and small DOM helpers. Every value is set
// with textContent (data, not markup).

export const $ = (id) => document.getElementById(id);

const q = new URLSearchParams(location.search);
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
  history.replaceState(null, "", location.pathname + "?" + p.toString());
}

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

export const fmt = (v, digits = 3) => (v == null || Number.isNaN(v) ? "–" : typeof v === "number" ? v.toFixed(digits) : String(v));

export function showError(msg) { $("error-box").textContent = msg; $("error-box").hidden = false; }
export const hideError = () => { $("error-box").hidden = true; };
