// What the /robustness page modules share: the view state mirrored into the URL (model, data,
// training data, job id, selected test, query set, picked head), the window.headscope hooks for
// scripts and tests, and small DOM helpers. Every value is set with textContent (data, not markup).

export const $ = (id) => document.getElementById(id);

const q = new URLSearchParams(location.search);
const int = (v) => { const n = parseInt(v, 10); return Number.isFinite(n) ? n : null; };
export const view = {
  model: q.get("model") || "", data: q.get("data") || "", train: q.get("train") || "", id: q.get("id") || "",
  test: q.get("test") || "", query: q.get("query") === "cls" ? "cls" : "focus",
  layer: int(q.get("layer")), head: int(q.get("head")),
};

/** window.headscope: the view, the job status and the result shown, and a count of chart draws. */
export const pub = (window.headscope = { view, job: null, result: null, plots: 0 });

export function writeView() {
  const p = new URLSearchParams();
  for (const k of ["model", "data", "train", "id", "test"]) if (view[k]) p.set(k, view[k]);
  if (view.query !== "focus") p.set("query", view.query);
  if (view.layer != null && view.head != null) { p.set("layer", view.layer); p.set("head", view.head); }
  history.replaceState(null, "", location.pathname + "?" + p.toString());
}

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

export const fmt = (v, digits = 3) => (v == null || Number.isNaN(v) ? "–" : typeof v === "number" ? v.toFixed(digits) : String(v));

/** "0.833 [0.700, 0.933] n=30" for a Rate {value, ci, n}; "–" when there is none. */
export function rateText(r) {
  if (!r || r.value == null) return "–";
  const ci = r.ci && r.ci[0] != null ? ` [${fmt(r.ci[0])}, ${fmt(r.ci[1])}]` : "";
  return `${fmt(r.value)}${ci} n=${r.n}`;
}

export function showError(msg) { $("error-box").textContent = msg; $("error-box").hidden = false; }
export const hideError = () => { $("error-box").hidden = true; };
