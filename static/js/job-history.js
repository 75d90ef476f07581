// The "Recent runs" list of a job page (templates/_job_progress.html #job-history): the user's jobs of
// the page's kinds and the shared ones (GET <base>/history of each kind, kept in the server's database
// across restarts; a page may list two kinds, e.g. single runs and seed-group runs, each row labelled
// with its kind), each with its model, data, settings, status and time, last asked for first; Open
// reopens a job on this page, Rerun asks again for one that was interrupted (the server stopped first)
// or failed, with its very settings. job-page.js owns it.

import { request } from "./request.js";
import { $, el } from "./dom.js";

const WORDS = { queued: "queued", running: "running", done: "done", failed: "failed", interrupted: "interrupted" };
export const RERUNNABLE = new Set(["failed", "interrupted"]);

/** When: "14:05" today, else "3 Dec 14:05", in the reader's time zone (title: the full date). */
export function whenText(seconds) {
  if (seconds == null) return "";
  const d = new Date(seconds * 1000), today = new Date().toDateString() === d.toDateString();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return today ? time : `${d.toLocaleDateString([], { day: "numeric", month: "short" })} ${time}`;
}

/** The data a job ran on: a dataset name (and its training file), or a report's sets per checkpoint. */
export function dataText(job) {
  const d = job.data || {};
  if (typeof d.name === "string") return d.name + (job.train ? ` (train ${job.train})` : "");
  const names = new Set();
  for (const plan of Object.values(d)) for (const s of (plan && plan.sets) || []) if (s.data) names.add(s.data);
  return [...names].join(", ");
}

/** The settings as "name=value" pairs, lists joined by "+" (the cell shows the start, the title all). */
export function settingsText(settings) {
  return Object.entries(settings || {})
    .filter(([, v]) => v != null && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(", ");
}

function statusCell(job) {
  const td = el("td");
  const badge = el("span", `job-status job-${job.status}`, WORDS[job.status] || job.status);
  if (job.error) badge.title = job.error;
  td.append(badge);
  return td;
}

/**
 * historyList({kinds, root, currentId, onOpen, onRerun}) -> {refresh()}: fills `root` (the <details>)
 * with the jobs of each kind {base, label?, link?(job), current?()} (a Kind column names each row's
 * label when there are two or more); `link` gives a row's Open address (default ?id=<id>), `current`
 * the id of the kind's job in view (default currentId()). onOpen(job) reopens one, onRerun(job) asks
 * for it again (both given the history entry, `job.historyKind` its kind).
 */
export function historyList({ kinds, root = $("job-history"), currentId, onOpen, onRerun }) {
  const table = root.querySelector("table"), count = root.querySelector(".history-count");
  const empty = root.querySelector(".history-empty"), labelled = kinds.length > 1;

  function row(job) {
    const kind = job.historyKind, current = kind.current ? kind.current() : currentId();
    const tr = el("tr", job.id === current ? "current" : null);
    tr.dataset.id = job.id;
    tr.dataset.status = job.status;
    if (kind.label) tr.dataset.kind = kind.label;
    const when = el("td", "num", whenText(job.created));
    when.title = new Date(job.created * 1000).toString();
    const settings = el("td", "settings", settingsText(job.settings));
    settings.title = settings.textContent;
    const who = job.mine ? "" : ` · shared by ${job.owners.join(", ")}`;
    const actions = el("td", "actions");
    const open = el("a", null, "Open");
    open.href = kind.link ? kind.link(job) : `?id=${encodeURIComponent(job.id)}`;
    open.addEventListener("click", (ev) => { ev.preventDefault(); onOpen(job); });
    actions.append(open);
    if (RERUNNABLE.has(job.status) && job.rerun) {
      const again = el("button", "link rerun", "Rerun");
      again.type = "button";
      again.title = "ask for this job again with the same model, data and settings";
      again.addEventListener("click", () => onRerun(job));
      actions.append(again);
    }
    const cells = labelled ? [when, el("td", "kind", kind.label)] : [when];
    tr.append(...cells, el("td", null, job.model + who), el("td", null, dataText(job)), settings, statusCell(job), actions);
    return tr;
  }

  /** Every kind's jobs, each tagged with its kind, last asked for (or changed) first. */
  async function listed() {
    const answers = await Promise.all(kinds.map((kind) => request(`${kind.base}/history`)));
    const jobs = answers.flatMap(({ jobs }, i) => jobs.map((job) => ({ ...job, historyKind: kinds[i] })));
    return jobs.sort((a, b) => b.updated - a.updated);
  }

  async function refresh() {
    const jobs = await listed();
    const head = el("tr");
    const names = ["When", ...(labelled ? ["Kind"] : []), "Model", "Data", "Settings", "Status", ""];
    head.append(...names.map((t) => el("th", null, t)));
    table.replaceChildren(head, ...jobs.map(row));
    table.hidden = !jobs.length;
    empty.hidden = !!jobs.length;
    count.textContent = `(${jobs.length})`;
    const stopped = jobs.filter((j) => j.status === "interrupted").length;
    if (stopped) count.textContent += ` · ${stopped} interrupted`;
  }

  return { refresh };
}
