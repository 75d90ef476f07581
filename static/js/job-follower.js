// Follow a background job to its end: poll its status URL, drive the page's progress bar,
// and settle once the job is "done" (resolve), "failed" or "interrupted" (reject). Every job page uses it
// through job-page.js.
//
// A job status (GET <status url>) looks like
//   {id, status: "queued" | "running" | "done" | "failed" | "interrupted", error, cached, rerun,
//    progress: {done, total, phase, eta_s}}
// The page's progress elements default to #progress-panel (unhidden on the first status),
// #progress-bar (a <progress max="1">) and #progress-text (one line of text).

import { request } from "./request.js";

export const POLL_MS = 400;
const BASE_PHASES = { queued: "queued", running: "running", done: "done" };

/** "3 / 16 pairs · statistics pass, about 4 s left · from the cache" */
export function progressText(job, { unit = "items", phases = {} } = {}) {
  const p = (job && job.progress) || {};
  const names = { ...BASE_PHASES, ...phases };
  const phase = names[p.phase] || p.phase || job.status || "";
  const eta = p.eta_s != null ? `, about ${Math.ceil(p.eta_s)} s left` : "";
  return `${p.done ?? 0} / ${p.total ?? 0} ${unit} · ${phase}${eta}` + (job && job.cached ? " · from the cache" : "");
}

/** Show one job status in the progress elements (null ones are skipped). */
export function showProgress(job, { panel, bar, text, ...wording } = {}) {
  const p = (job && job.progress) || {};
  if (panel) panel.hidden = false;
  if (bar) bar.value = p.total ? p.done / p.total : job.status === "done" ? 1 : 0;
  if (text) text.textContent = progressText(job, wording);
}

function abortError() {
  const err = new Error("stopped following the job");
  err.name = "AbortError";
  return err;
}

/**
 * followJob(statusUrl, options) -> Promise of the job's last status, once it is "done".
 * options:
 *   first        a status already in hand (e.g. the answer to the POST that started the job):
 *                shown at once, and no request is made when it is already done or failed
 *   name         what the job is, for the failure message ("The <name> failed: <error>")
 *   unit, phases the words of the progress text (phases: {phase: label})
 *   panel, bar, text  the progress elements (default: #progress-panel, #progress-bar, #progress-text)
 *   intervalMs   time between polls (default POLL_MS)
 *   onUpdate(job)  called with every status, the first one included
 *   signal       an AbortSignal: stops polling and rejects with an AbortError
 * A failed job rejects with Error(`The <name> failed: <error>`) whose `job` is the status (an
 * interrupted one, which a server stopped before it finished: "The <name> was interrupted: ..."); a
 * refused or unreachable poll rejects with request.js's readable Error.
 */
export function followJob(statusUrl, options = {}) {
  const byId = (id) => document.getElementById(id);
  const {
    first = null, name = "job", unit, phases, intervalMs = POLL_MS, onUpdate, signal,
    panel = byId("progress-panel"), bar = byId("progress-bar"), text = byId("progress-text"),
  } = options;
  return new Promise((resolve, reject) => {
    let timer = null;
    const stop = () => { clearTimeout(timer); reject(abortError()); };
    if (signal) {
      if (signal.aborted) return stop();
      signal.addEventListener("abort", stop, { once: true });
    }
    const settle = (fn, value) => {
      clearTimeout(timer);
      if (signal) signal.removeEventListener("abort", stop);
      fn(value);
    };
    const poll = async () => {
      try {
        take(await request(statusUrl, { signal }));
      } catch (e) {
        settle(reject, e);
      }
    };
    const take = (job) => {
      if (signal && signal.aborted) return;
      showProgress(job, { panel, bar, text, unit, phases });
      if (onUpdate) onUpdate(job);
      if (job.status === "done") return settle(resolve, job);
      if (job.status === "failed" || job.status === "interrupted") {
        const err = new Error(`The ${name} ${job.status === "failed" ? "failed" : "was interrupted"}: ${job.error}`);
        err.job = job;
        return settle(reject, err);
      }
      timer = setTimeout(poll, intervalMs);
    };
    if (first) take(first);
    else poll();
  });
}
