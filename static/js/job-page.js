// The page around one kind of background job (/analysis, /robustness, /report): the form's submit
// starts a job, the progress bar follows it (job-follower.js), a failure is shown beside the form
// (with a Rerun button when the job was interrupted or failed), a job id in the URL reopens that job,
// "Recent runs" (job-history.js) lists the user's and shared jobs and reopens or reruns any of them,
// and the finished result goes to the page's renderer. While another job is on its way the result
// shown is marked stale (class "stale" on #results). A page brings only its form specifics and its renderer.
//
// Hooks for scripts and tests: document.body.dataset.ready = "1" once the form is filled (and a
// job in the URL is being followed), .rendered = "1" once a result is drawn ("" while a new job runs).

import { followJob } from "./job-follower.js";
import { historyList, RERUNNABLE } from "./job-history.js";
import { request } from "./request.js";
import { $, clearError, clearStale, el, fillConceptLinks, markStale, showError } from "./dom.js";

/**
 * jobPage(options) -> {open(), follow(id, first), fail(message)}. options:
 *   form         the form's id: its submit starts a job, its error line shows what went wrong
 *   button       the id of the button disabled while a job runs (default "start-button")
 *   base         the jobs' API root, e.g. "/api/analyses" (status at base/<id>, history at base/history), or a
 *                function giving the root of the job in view (a page whose form starts jobs of two kinds, e.g.
 *                /robustness for a seed group)
 *   history      the kinds "Recent runs" lists (job-history.js historyList), default [{base}]: each
 *                {base, label, link?(job), current?()} and, for a kind this page's renderer does not draw,
 *                open(job) and rerun(job) of its own (else its jobs reopen and rerun here, at its base)
 *   name, unit, phases   the progress wording (job-follower.js followJob)
 *   jobId()      the job id of the view in the URL ("" when none)
 *   load()       fill the form's choices (models, datasets, …); awaited first
 *   start()      send the form's job (POST) and set the view to it; resolves with the job status
 *   reopened(status)  set the view to a job (its id, what it ran on) and put its settings back into
 *                the form: a job the URL names, one opened from the history, one rerun
 *   saveView()   write the view into the URL
 *   render(result, status)  draw a finished job's result
 *   onStatus(status)        every status seen (e.g. window.headscope.job)
 * Call open() once the page's own listeners are bound: it fills the form and reopens the URL's job.
 */
export function jobPage({ form, button = "start-button", base, history: kinds, jobId, load, start, reopened, saveView,
                          render, onStatus = () => {}, ...wording }) {
  const fail = (message) => showError(form, message);
  const setBusy = (busy) => { $(button).disabled = busy; };
  const root = () => (typeof base === "function" ? base() : base);
  const statusUrl = (id, at = root()) => `${at}/${encodeURIComponent(id)}`;
  const stale = (on) => {
    if (!$("results")) return;
    if (on) markStale("results", "stale: the result below is from the run shown before");
    else clearStale("results");
  };
  // each listed job reopens and reruns at its own kind's root, whatever the form shows now
  const history = historyList({
    kinds: kinds || [{ base: root() }], currentId: jobId,
    onOpen: ({ historyKind: kind, ...job }) => (kind.open ? kind.open(job) : reopen(job.id, kind.base)),
    onRerun: ({ historyKind: kind, ...job }) => (kind.rerun ? kind.rerun(job) : rerun(job.rerun, kind.base)),
  });
  let following = null;

  const refreshHistory = () => history.refresh().catch((e) => showError("job-history", e.message));

  /** A failure beside the form; for an interrupted or failed job, with the button that reruns it. */
  function failJob(e) {
    const job = e.job;
    if (!job || !RERUNNABLE.has(job.status) || !job.rerun) return fail(e.message);
    const again = el("button", "rerun", "Rerun");
    again.type = "button";
    again.title = "ask for this job again with the same model, data and settings";
    again.addEventListener("click", () => rerun(job.rerun));
    fail([e.message + " ", again]);
  }

  /** Follow a job to its end (from `first`, a status in hand, if any), then render it; the newest
   *  call wins (an earlier one is aborted). */
  async function follow(id, first = null) {
    if (following) following.abort();
    const mine = (following = new AbortController());
    try {
      const status = await followJob(`${statusUrl(id)}?result=false`, { ...wording, first, signal: mine.signal, onUpdate: onStatus });
      setBusy(false);
      const full = status.result ? status : await request(statusUrl(id));
      await render(full.result, full);
      stale(false);
      document.body.dataset.rendered = "1";
    } catch (e) {
      if (e.name === "AbortError") return;
      setBusy(false);
      failJob(e);
    }
    if (following === mine) refreshHistory();
  }

  /** Before another job: no old error, the result shown marked stale, "rendered" cleared. */
  function leaving() {
    clearError(form);
    stale(true);
    document.body.dataset.rendered = "";
  }

  async function submit() {
    leaving();
    setBusy(true);
    try {
      const status = await start();
      saveView();
      follow(status.id, status);
      refreshHistory();
    } catch (e) {
      fail(e.message);
      setBusy(false);
    }
  }

  /** Reopen a job of the history (or the URL): its settings into the form, then follow it. */
  async function reopen(id, at = root()) {
    leaving();
    try {
      const status = await request(`${statusUrl(id, at)}?result=false`);
      await reopened(status);
      saveView();
      follow(id, status);
      refreshHistory();
    } catch (e) {
      fail(e.message);
    }
  }

  /** Ask again for a job that was interrupted or failed: its very request (same model, data, settings). */
  async function rerun(body, at = root()) {
    leaving();
    setBusy(true);
    try {
      const status = await request(at, { method: "POST", body });
      await reopened(status);
      saveView();
      follow(status.id, status);
      refreshHistory();
    } catch (e) {
      fail(e.message);
      setBusy(false);
    }
  }

  /** Fill the form, then reopen the job of the URL, if any (its status first, for its settings). */
  async function open() {
    fillConceptLinks();
    const id = jobId();
    $("job-history").open = !id;  // the list first when no job is named
    refreshHistory();
    try {
      await load();
      if (id) {
        const status = await request(`${statusUrl(id)}?result=false`);
        await reopened(status);
        follow(id, status);
      }
    } catch (e) {
      fail(e.message);
    }
    document.body.dataset.ready = "1";
  }

  $(form).addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
  return { follow, fail, open, refreshHistory };
}
