// plotly.js (4.6 MB, served from the installed plotly wheel) is injected once, on first use.
let plotlyPromise = null;

/** Inject the vendored plotly script once; resolves with window.Plotly (a failed load may be retried). */
export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotlyPromise) {
    plotlyPromise = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = "/static/vendor/plotly.min.js";
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => { plotlyPromise = null; reject(new Error("could not load /static/vendor/plotly.min.js")); };
      document.head.append(s);
    });
  }
  return plotlyPromise;
}
