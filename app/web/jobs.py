"""One queue for the server's background jobs: analyses now, robustness suites and reports as they come.

A kind of job is a `JobKind`: its `prepare(body, user, context)` checks a request and returns the
parts of its cache key (with the job's public description and size), its `run(job, context)`
computes the JSON result. Nothing else is needed: the queue ids jobs by the key, answers a repeat
request from the stored result, runs jobs one at a time, reports progress, stores results and finds
them again after a restart, and records who may see them (app/store/job_owners.py). Routes for a kind:
app/web/job_api.py (`add_job_routes`).

Threads. One job thread (daemon) takes jobs in order. A job's model work does not run there but on
the app's single model thread (`app.state.model_executor`, the one every inspection uses), one
batch per task, through `context.run_on_model_thread` (kinds pass it to the core as its `runner`):
an inspection then waits for at most one batch, never for a whole job, and no job forward runs beside
it. Where cores sit idle beside torch's threads, a pass encodes the next batch and lets the probes that
only read a batch observe the last one on helper threads (app/core/passes/pipeline.py): never a forward.
Cheap bookkeeping (reading data, the bootstrap, writing JSON) stays on the job thread.

Storage. A result is `<data_dir>/<kind>/<id>.json`, written to a temporary file and renamed (a
reader never sees half a file), id = cache key (app.core.data.sources.cache_key of the key parts).
Every job asked for also has a record in the database (app/web/job_history.py): the history each job
page lists, the request that reruns it, and its status after a restart (a job the stopped server had
queued or running reads "interrupted"; asking for it again reruns it).

Owners. Whoever starts a job, or asks for the very same one later, holds a claim on it; status and
result are readable through claims the reader may see (their own, a shared one; admins all). With
accounts on, one user may have at most HEADSCOPE_MAX_JOBS_PER_USER jobs queued or running (429).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from app.config import Settings
from app.core.data.files import write_bytes_atomically
from app.core.data.sources import cache_key
from app.core.model.registry import ModelRegistry
from app.store import Store
from app.store import job_owners as owners
from app.store.job_owners import JobAccess
from app.store.models import User
from app.web.job_context import JobCancelled, JobContext, JobInputError, Prepared, TooManyJobs
from app.web.job_history import INTERRUPTED, JobHistory, stamp
from app.web.job_state import ACTIVE, Job
from app.web.paths import PublicPaths
from app.web.uploads import Uploads

log = logging.getLogger(__name__)
T = TypeVar("T")


class JobKind:
    """A kind of background job. A new kind sets `name`, `noun`, `request` and writes `prepare` and `run`."""

    name: ClassVar[str] = ""  # URL segment and folder: /api/<name>/..., <data_dir>/<name>/<id>.json
    noun: ClassVar[str] = "job"  # in messages: "no analysis 'x'"
    request: ClassVar[type[BaseModel]]  # the POST body
    takes_uploads: ClassVar[bool] = False  # the POST body may carry a dataset inline (`upload`)

    def prepare(self, body: Any, user: User, context: JobContext) -> Prepared:
        raise NotImplementedError

    def run(self, job: Job, context: JobContext) -> dict[str, Any]:
        raise NotImplementedError

    def upgrade(self, result: dict[str, Any], context: JobContext) -> dict[str, Any]:
        """A stored result of any older version in the current shape (every read goes through it)."""
        return result

    def rerun_request(self, body: BaseModel, prepared: Prepared) -> dict[str, Any]:
        """The POST body that asks for this very job again: an inline upload by the name it was stored under."""
        request = body.model_dump(mode="json", exclude_none=True)
        if request.pop("upload", None) is not None:
            request["data"] = prepared.description["data"]["name"]
        return request

    def stored_description(self, result: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """(description, total) of a result stored by an earlier server process."""
        job = dict(result.get("job") or {})
        return job, int(job.pop("total", 0) or 0)

    def visibility_set(self, job: Job, user: User, visibility: str, context: JobContext) -> None:
        """After `user` set who sees `job` (e.g. the same for the jobs it builds on)."""

    def body_limit(self, settings: Settings) -> tuple[int, str]:
        """(bytes, the setting that sets them) a request body may have: 413 above."""
        if self.takes_uploads:  # an upload travels JSON-escaped: room for twice its bytes (its text is checked exactly)
            return max(settings.max_body_bytes, 2 * settings.max_upload_bytes + 65536), "HEADSCOPE_MAX_UPLOAD_BYTES"
        return settings.max_body_bytes, "HEADSCOPE_MAX_BODY_BYTES"


class JobQueue:
    def __init__(
        self,
        settings: Settings,
        registry: ModelRegistry,
        store: Store,
        model_executor: Executor | None,
        kinds: list[JobKind],
    ):
        self.settings, self.store, self.model_executor = settings, store, model_executor
        self.root = Path(settings.data_dir)
        self.kinds = {kind.name: kind for kind in kinds}
        self.context = JobContext(
            settings,
            registry,
            Uploads(self.root, store, settings.max_upload_bytes),
            PublicPaths(settings),
            self.run_on_model_thread,
        )
        self.context.jobs = self
        self.jobs: dict[tuple[str, str], Job] = {}
        self.runs = 0  # jobs computed by this process (the cache tests count them)
        self.work_threads: set[str] = set()  # threads that ran job model work (all: the model thread)
        self._lock = threading.Lock()
        # one submission at a time per user (a group's prepare submits its members): a group and its members are
        # admitted against the user's limit as one, other users' submissions run beside it
        self._admissions: dict[int | None, threading.RLock] = {}
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._closing = threading.Event()
        self.history = JobHistory(store)
        self.history.interrupt_stopped()  # before this queue records anything of its own
        self._worker = threading.Thread(target=self._work, name="jobs", daemon=True)
        self._worker.start()

    def kind(self, name: str) -> JobKind:
        return self.kinds[name]

    # --- asking --------------------------------------------------------------------------------

    def submit(self, kind: JobKind, body: Any, user: User, counted: bool = True) -> tuple[Job, bool]:
        """(job, created): a new queued job, or the queued, running or stored one with the same key.
        counted=False: a dependency, left out of the per-user limit (the job that asked for it counts); a new one is
        refused as that job would be when the user has no room left, so that nothing is queued for a refused job."""
        with self._lock:
            admission = self._admissions.setdefault(user.id, threading.RLock())
        with admission:
            return self._submit(kind, body, user, counted)

    def _submit(self, kind: JobKind, body: Any, user: User, counted: bool) -> tuple[Job, bool]:
        prepared = kind.prepare(body, user, self.context)
        job_id = cache_key(prepared.key_parts)
        rerun = kind.rerun_request(body, prepared)
        with self._lock:
            job = self.jobs.get((kind.name, job_id))
            if job is not None and not (job.status in ACTIVE or job.status == "done" and self._stored(kind, job_id)):
                job = None  # failed, or its file was deleted: run it again
            if job is None and self._stored(kind, job_id):
                job = self._stored_job(kind, job_id, prepared.description, prepared.total)
                self.jobs[(kind.name, job_id)] = job
            created = job is None
            if job is None:
                self._check_limit(kind, user)
                job = Job(
                    kind.name,
                    job_id,
                    prepared.description,
                    prepared.total,
                    owner_id=user.id,
                    dependency=not counted,
                    inputs=prepared.inputs,
                )
                self.jobs[(kind.name, job_id)] = job
            job.rerun = job.rerun or rerun
        self._claim(kind, job_id, user)
        if created or job.status == "done":
            self.history.asked(kind.name, job_id, job.status, prepared.description, rerun, prepared.total)
        if created:
            self._queue.put(job)
        return job, created

    def submit_dependency(self, kind_name: str, body: Any, user: User) -> str:
        """The id of a job of `kind_name` that a job being prepared builds on: queued before that job, so the one
        job thread has finished it when that job runs."""
        return self.submit(self.kinds[kind_name], body, user, counted=False)[0].id

    def finished_result(self, kind_name: str, job_id: str) -> dict[str, Any]:
        """The result of a dependency (submit_dependency); a RuntimeError says why there is none."""
        kind = self.kinds[kind_name]
        job = self._find(kind, job_id)
        if job is None or job.status != "done":
            state = "gone" if job is None else job.status + (f": {job.error}" if job.error else "")
            raise RuntimeError(f"{kind.noun} {job_id} is {state}")
        return self.result(kind, job_id)

    def get(self, kind: JobKind, job_id: str, user: User) -> tuple[Job, JobAccess]:
        """The job and how `user` sees it; JobInputError 404 when it does not exist or is not theirs to see."""
        job = self._find(kind, job_id)
        seen = self._access(kind, job_id, user) if job is not None else None
        if job is None or seen is None:
            raise JobInputError(f"no {kind.noun} {job_id!r}; start one with POST /api/{kind.name}", "id", status=404)
        return job, seen

    def set_visibility(self, kind: JobKind, job_id: str, user: User, visibility: str) -> tuple[Job, JobAccess]:
        job, _ = self.get(kind, job_id, user)
        with self.store.write() as db:
            seen = owners.set_visibility(db, kind.name, job_id, user, visibility)
        kind.visibility_set(job, user, visibility, self.context)
        return job, seen

    def describe(self, job: Job, seen: JobAccess, with_result: bool = True) -> dict[str, Any]:
        kind = self.kinds[job.kind]
        body: dict[str, Any] = {
            "id": job.id,
            "status": job.status,
            **job.description,
            "progress": job.progress(),
            "cached": job.cached,
            "error": job.error,
            "rerun": job.rerun,
            **seen.to_json(),
            "result_url": f"/api/{kind.name}/{job.id}/result.json",
        }
        if with_result and job.status == "done":
            body["result"] = self.result(kind, job.id)
        return body

    def result(self, kind: JobKind, job_id: str) -> dict[str, Any]:
        stored = json.loads(self.result_path(kind, job_id).read_text(encoding="utf-8"))
        return kind.upgrade(stored, self.context)

    def result_path(self, kind: JobKind, job_id: str) -> Path:
        return self.root / kind.name / f"{job_id}.json"

    def recent(self, kind: JobKind, user: User, limit: int = 20) -> list[dict[str, Any]]:
        """The history of this kind the user may see (theirs and shared ones), last asked for first."""
        return self.history.recent(kind.name, user, limit)

    # --- model thread, shutdown ------------------------------------------------------------------

    def run_on_model_thread(self, work: Callable[[], T]) -> T:
        """Run one batch of a job's model work on the app's model thread and wait for it."""
        if self._closing.is_set():
            raise JobCancelled("the server is shutting down")

        def tracked() -> T:
            self.work_threads.add(threading.current_thread().name)
            return work()

        if self.model_executor is None:
            return tracked()
        return self.model_executor.submit(tracked).result()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop taking work: the running job stops before its next batch, queued ones fail; waits for the thread."""
        self._closing.set()
        self._queue.put(None)
        self._worker.join(timeout)

    # --- inside ----------------------------------------------------------------------------------

    def _check_limit(self, kind: JobKind, user: User) -> None:
        if not self.settings.auth_enabled:
            return
        limit = self.settings.max_jobs_per_user
        # a group's members, queued just before it for it, count as the group alone
        active = sum(
            1 for job in self.jobs.values() if job.owner_id == user.id and job.status in ACTIVE and not job.dependency
        )
        if active >= limit:
            raise TooManyJobs(
                f"you have {active} jobs queued or running, the most one user may have "
                f"(HEADSCOPE_MAX_JOBS_PER_USER={limit}): start this {kind.noun} when one has finished"
            )

    def _claim(self, kind: JobKind, job_id: str, user: User) -> None:
        try:
            with self.store.write() as db:
                owners.claim(db, kind.name, job_id, user)
        except IntegrityError:
            pass  # the same user's parallel request claimed it first

    def _access(self, kind: JobKind, job_id: str, user: User) -> JobAccess | None:
        with self.store.read() as db:
            return owners.job_access(db, kind.name, job_id, user)

    def _stored(self, kind: JobKind, job_id: str) -> bool:
        return self.result_path(kind, job_id).is_file()

    def _find(self, kind: JobKind, job_id: str) -> Job | None:
        if not _safe_id(job_id):
            return None
        with self._lock:
            job = self.jobs.get((kind.name, job_id))
        if job is not None:
            if job.status == "done" and not self._stored(kind, job_id):
                job.status, job.error = "failed", lost_result(kind)
                self.history.moved(kind.name, job_id, job.status, job.error)  # the history says so too
            return job
        if not self._stored(kind, job_id):
            return self._recorded_job(kind, job_id)
        try:  # finished by an earlier server process
            description, total = kind.stored_description(self.result(kind, job_id))
        except (OSError, ValueError, KeyError) as exc:
            log.warning("stored %s %s cannot be read: %s", kind.noun, job_id, exc)
            return None
        with self._lock:
            return self.jobs.setdefault((kind.name, job_id), self._stored_job(kind, job_id, description, total))

    def _stored_job(self, kind: JobKind, job_id: str, description: dict[str, Any], total: int) -> Job:
        job = Job(kind.name, job_id, description, total, status="done", phase="done", done=total, cached=True)
        job.started = job.finished = self.result_path(kind, job_id).stat().st_mtime
        record = self.history.record(kind.name, job_id)
        job.rerun = record.request if record else None
        return job

    def _recorded_job(self, kind: JobKind, job_id: str) -> Job | None:
        """A job this process does not hold and whose result is not stored, as its record says: interrupted
        or failed (a record that says done lost its result file: failed), or held by another server."""
        record = self.history.record(kind.name, job_id)
        if record is None:
            return None
        status, error = record.status, record.error
        if status == "done":
            status, error = "failed", lost_result(kind)
        job = Job(kind.name, job_id, record.description, record.total, status=status, phase=status, error=error)
        job.created = stamp(record.created_at) or job.created
        job.started, job.finished, job.rerun = stamp(record.started_at), stamp(record.finished_at), record.request
        if status in ACTIVE:
            return job  # another server's: read again on every request
        with self._lock:
            return self.jobs.setdefault((kind.name, job_id), job)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                if self._closing.is_set():
                    raise JobCancelled("the server stopped before the job ran")
                self._run(job)
            except JobCancelled:  # the server is stopping: asking again reruns it
                job.status, job.finished, job.error = "interrupted", time.time(), INTERRUPTED
                self.history.moved(job.kind, job.id, job.status, job.error)
            except Exception as exc:  # the job fails, the thread lives on
                log.exception("%s %s failed", job.kind, job.id)
                job.status, job.finished = "failed", time.time()
                job.error = self.context.public.text(f"{type(exc).__name__}: {exc}")
                self.history.moved(job.kind, job.id, job.status, job.error)
            finally:
                job.inputs = None

    def _run(self, job: Job) -> None:
        kind = self.kinds[job.kind]
        job.status, job.started = "running", time.time()
        self.history.moved(job.kind, job.id, "running")
        job.report(0, job.total, "loading")
        result = kind.run(job, self.context)
        result.setdefault("job", {**job.description, "total": job.total})
        write_bytes_atomically(self.result_path(kind, job.id), json.dumps(result, allow_nan=False).encode("utf-8"))
        self.runs += 1
        job.report(job.total, job.total, "done")
        job.status, job.finished = "done", time.time()
        self.history.moved(job.kind, job.id, "done")


def lost_result(kind: JobKind) -> str:
    """Why a job that finished has no result: its stored file was deleted."""
    return f"its stored result is gone; run the {kind.noun} again"


def _safe_id(job_id: str) -> bool:
    return 0 < len(job_id) <= 64 and all(c in "0123456789abcdef" for c in job_id)
