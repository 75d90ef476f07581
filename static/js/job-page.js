// The page around one kind of background job (/analysis, /robustness, /report): the form's submit
// starts a job, the progress bar follows it (job-follower.js), a failure is shown beside the form,
// a job id in the URL reopens that job, and the finished result goes to the page's renderer.
// A page brings only its form specifics and its renderer.
//
// Hooks for scripts and tests: document.body.dataset.ready = "1" once the form is filled (and a
// job in the URL is being followed), .rendered = "1" once a result is drawn ("" while a new job runs).

import { followJob } from "./job-follower.js";
import { request } from "./request.js";
import { $, clearError, fillConceptLinks, showError } from "./dom.js";

/**
 * jobPage(options) -> {open(), follow(id, first), fail(message)}. options:
 *   form         the form's id: its submit starts a job, its error line shows what went wrong
 *   button       the id of the button disabled while a job runs (default "start-button")
 *   base         the jobs' API root, e.g. "/api/analyses" (status at base/<id>)
 *   name, unit, phases   the progress wording (job-follower.js followJob)
 *   jobId()      the job id of the view in the URL ("" when none)
 *   load()       fill the form's choices (models, datasets, …); awaited first
 *   start()      send the form's job (POST) and set the view to it; resolves with the job status
 *   reopened(status)  optional: put a job's settings back into the form when the URL reopens it
 *   saveView()   write the view into the URL
 *   render(result, status)  draw a finished job's result
 *   onStatus(status)        every status seen (e.g. window.headscope.job)
 * Call open() once the page's own listeners are bound: it fills the form and reopens the URL's job.
 */
export function jobPage({ form, button = "start-button", base, jobId, load, start, reopened, saveView, render,
                          onStatus = () => {}, ...wording }) {
  const fail = (message) => showError(form, message);
  const setBusy = (busy) => { $(button).disabled = busy; };
  const statusUrl = (id) => `${base}/${encodeURIComponent(id)}`;
  let following = null;

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
      document.body.dataset.rendered = "1";
    } catch (e) {
      if (e.name === "AbortError") return;
      setBusy(false);
      fail(e.message);
    }
  }

  async function submit() {
    clearError(form);
    setBusy(true);
    document.body.dataset.rendered = "";
    try {
      const status = await start();
      saveView();
      follow(status.id, status);
    } catch (e) {
      fail(e.message);
      setBusy(false);
    }
  }

  /** Fill the form, then reopen the job of the URL, if any (its status first, for its settings). */
  async function open() {
    fillConceptLinks();
    try {
      await load();
      const id = jobId();
      if (id) {
        const status = await request(`${statusUrl(id)}?result=false`);
        if (reopened) await reopened(status);
        follow(id, status);
      }
    } catch (e) {
      fail(e.message);
    }
    document.body.dataset.ready = "1";
  }

  $(form).addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
  return { follow, fail, open };
}
