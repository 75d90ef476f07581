"""The history of background jobs: plain functions over a Session (the queue is app/web/jobs.py).

A record holds a job's public description, the request that asks for it again, its status and its
times; who may see it is the job's claims (app/store/job_owners.py). A record outlives the server
process, so a restarted server can say what happened to a job it never ran: a job left queued or
running by a process that is gone is "interrupted", and its request reruns it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.store.models import JobOwner, JobRecord, User, utcnow

ACTIVE = ("queued", "running")
ENDED = ("done", "failed", "interrupted")
INTERRUPTED = "the server stopped before this job finished; rerun it with the same settings"


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a user's history: the record, who holds it, whether the reader is one of them."""

    record: JobRecord
    owners: list[str]
    shared: bool
    mine: bool


def get(session: Session, kind: str, job_id: str) -> JobRecord | None:
    return session.get(JobRecord, (kind, job_id))


def asked(
    session: Session,
    kind: str,
    job_id: str,
    *,
    status: str,
    description: dict[str, Any],
    request: dict[str, Any],
    total: int,
    runner: str,
) -> JobRecord:
    """Someone asked for the job: a new record, a rerun (status "queued": the old outcome is gone), or a
    repeat of a stored one (status "done": only its place in the history moves up)."""
    now = utcnow()
    row = get(session, kind, job_id)
    if row is None:
        row = JobRecord(kind=kind, job_id=job_id, created_at=now, status=status, description=description)
        row.request, row.total, row.runner = request, total, runner
        row.updated_at = now
        if status == "done":
            row.started_at = row.finished_at = now
        session.add(row)
    elif status == "queued":
        row.status, row.description, row.request, row.total, row.runner = status, description, request, total, runner
        row.error, row.started_at, row.finished_at, row.created_at, row.updated_at = None, None, None, now, now
    else:
        row.updated_at = now
        if row.status != "done":  # a result stored although its record missed the end (e.g. a killed writer)
            row.status, row.error, row.finished_at = "done", None, row.finished_at or now
    session.flush()
    return row


def set_status(session: Session, kind: str, job_id: str, status: str, error: str | None = None) -> None:
    """A job the queue holds moved on: running (started now) or ended (finished now, with its error)."""
    row = get(session, kind, job_id)
    if row is None:
        return
    now = utcnow()
    row.status, row.error, row.updated_at = status, error, now
    if status == "running":
        row.started_at = now
    elif status in ENDED:
        row.finished_at = now
    session.flush()


def interrupt_stopped(session: Session, alive: Callable[[str], bool]) -> int:
    """Mark interrupted every job left queued or running by a process that is gone; how many there were."""
    rows = session.scalars(select(JobRecord).where(JobRecord.status.in_(ACTIVE)))
    now, count = utcnow(), 0
    for row in rows:
        if alive(row.runner):
            continue  # another server sharing this database holds it
        row.status, row.error, row.finished_at = "interrupted", INTERRUPTED, now
        count += 1
    session.flush()
    return count


def recent(session: Session, kind: str, user: User, limit: int = 20) -> list[HistoryEntry]:
    """The user's jobs of this kind and the shared ones, last asked for first."""
    claimed = (
        select(JobOwner.job_id)
        .where(JobOwner.kind == kind)
        .where(or_(JobOwner.user_id == user.id, JobOwner.visibility == "shared"))
    )
    query = (
        select(JobRecord)
        .where(JobRecord.kind == kind, JobRecord.job_id.in_(claimed))
        .order_by(JobRecord.updated_at.desc(), JobRecord.job_id)
        .limit(limit)
    )
    records = list(session.scalars(query))
    ids = [r.job_id for r in records]
    claims: dict[str, list[JobOwner]] = {}
    for row in session.scalars(select(JobOwner).where(JobOwner.kind == kind, JobOwner.job_id.in_(ids))):
        claims.setdefault(row.job_id, []).append(row)
    entries = []
    for record in records:
        rows = sorted(claims.get(record.job_id, []), key=lambda r: r.created_at)
        entries.append(
            HistoryEntry(
                record,
                owners=[r.user.name for r in rows],
                shared=any(r.visibility == "shared" for r in rows),
                mine=any(r.user_id == user.id for r in rows),
            )
        )
    return entries
