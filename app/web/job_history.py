"""The job queue's records in the database (app/store/job_records.py), so the history outlives the process.

The queue (app/web/jobs.py) writes a record when a job is asked for, starts and ends; a server that
starts marks interrupted whatever a stopped server left queued or running. Which server held a job is
its `runner`, "host:pid:start:queue" (the start time tells a live process from a reused pid), so
two servers sharing one database leave each other's live jobs alone. A database write that fails is
logged and the job goes on: the history is a record, not the job.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from app.store import Store
from app.store import job_records as records
from app.store.models import JobRecord, User

log = logging.getLogger(__name__)
INTERRUPTED = records.INTERRUPTED


def _start_ticks(pid: int) -> str:
    """When process `pid` started (clock ticks since boot, Linux); "" where /proc does not say."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def this_runner() -> str:
    """host:pid:start:queue, the last part telling apart two queues of one process (tests start several apps)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid())}:{uuid.uuid4().hex[:8]}"


def runner_alive(runner: str) -> bool:
    """Whether the process `runner` names may still hold its jobs: a live process on this host (this one
    included: another queue of it), or any process on another host (whose own server marks its jobs
    when it restarts)."""
    host, pid, started = (runner.split(":") + ["", ""])[:3]
    if not pid.isdigit():
        return False
    if host != socket.gethostname():
        return True
    if started and _start_ticks(int(pid)) != started:
        return False  # gone, its pid reused or not
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stamp(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment else None


class JobHistory:
    """The queue's writes and reads of job records."""

    def __init__(self, store: Store):
        self.store, self.runner = store, this_runner()

    def interrupt_stopped(self) -> None:
        with self.store.write() as db:
            count = records.interrupt_stopped(db, runner_alive)
        if count:
            log.warning("%d job(s) were queued or running when the server stopped: marked interrupted", count)

    def asked(
        self, kind: str, job_id: str, status: str, description: dict[str, Any], request: dict[str, Any], total: int
    ) -> None:
        try:
            with self.store.write() as db:
                records.asked(
                    db,
                    kind,
                    job_id,
                    status=status,
                    description=description,
                    request=request,
                    total=total,
                    runner=self.runner,
                )
        except SQLAlchemyError:
            log.exception("the history did not record %s %s", kind, job_id)

    def moved(self, kind: str, job_id: str, status: str, error: str | None = None) -> None:
        try:
            with self.store.write() as db:
                records.set_status(db, kind, job_id, status, error)
        except SQLAlchemyError:
            log.exception("the history did not record %s %s as %s", kind, job_id, status)

    def record(self, kind: str, job_id: str) -> JobRecord | None:
        with self.store.read() as db:
            return records.get(db, kind, job_id)

    def recent(self, kind: str, user: User, limit: int) -> list[dict[str, Any]]:
        with self.store.read() as db:
            entries = records.recent(db, kind, user, limit)
            return [entry_json(entry) for entry in entries]


def entry_json(entry: records.HistoryEntry) -> dict[str, Any]:
    """One history line as GET /api/<kind>/history answers it."""
    row = entry.record
    return {
        "id": row.job_id,
        "status": row.status,
        **row.description,
        "error": row.error,
        "rerun": row.request,
        "created": stamp(row.created_at),
        "updated": stamp(row.updated_at),
        "started": stamp(row.started_at),
        "finished": stamp(row.finished_at),
        "owners": entry.owners,
        "visibility": "shared" if entry.shared else "private",
        "mine": entry.mine,
    }
