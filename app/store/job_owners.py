"""Who owns background jobs and uploaded data: plain functions over a Session.

A job's id is its cache key (app/web/jobs.py), so two users asking for the very same job share one
result. Each of them gets a claim (a `JobOwner` row); the result is readable through any claim the
reader may see (app.store.access: their own, a shared one, or any as an admin). A job nobody may
see is NotFound, like a job that does not exist.

Uploads: a user may name "upload:<sha256>" only for bytes they uploaded themselves (admins: any).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.store import access
from app.store.models import JobOwner, Upload, User, utcnow
from app.store.store_errors import Forbidden, NotFound


@dataclass(frozen=True)
class JobAccess:
    """How a reader sees a job: through whose claim, whether anyone shares it, whether they may change that."""

    owner: str
    visibility: str
    can_edit: bool

    def to_json(self) -> dict[str, Any]:
        return {"owner": self.owner, "visibility": self.visibility, "can_edit": self.can_edit}


def claims(session: Session, kind: str, job_id: str) -> list[JobOwner]:
    query = select(JobOwner).where(JobOwner.kind == kind, JobOwner.job_id == job_id).order_by(JobOwner.created_at)
    return list(session.scalars(query))


def claim(session: Session, kind: str, job_id: str, user: User) -> JobOwner:
    """The user's claim on the job (created private when they have none)."""
    row = session.get(JobOwner, (kind, job_id, user.id))
    if row is None:
        row = JobOwner(kind=kind, job_id=job_id, user_id=user.id, visibility="private", created_at=utcnow())
        session.add(row)
        session.flush()
    return row


def job_access(session: Session, kind: str, job_id: str, user: User) -> JobAccess | None:
    """How `user` sees the job, or None when they may not (no claim they can see, not an admin)."""
    rows = claims(session, kind, job_id)
    own = next((r for r in rows if r.user_id == user.id), None)
    seen = [r for r in rows if access.can_see(r.user_id, r.visibility, user)]
    if own is None and not seen and not user.is_admin:
        return None
    through = own or next((r for r in seen if r.visibility == "shared"), None) or (seen[0] if seen else None)
    shared = any(r.visibility == "shared" for r in rows)
    return JobAccess(
        owner=through.user.name if through is not None else "",
        visibility="shared" if shared else "private",
        can_edit=own is not None or user.is_admin,
    )


def set_visibility(session: Session, kind: str, job_id: str, user: User, visibility: str) -> JobAccess:
    """The owner changes their claim; an admin who holds none changes every claim."""
    found = job_access(session, kind, job_id, user)
    if found is None:
        raise NotFound(f"no job {job_id!r}")
    rows = claims(session, kind, job_id)
    mine = [r for r in rows if r.user_id == user.id]
    targets = mine or ([*rows] if user.is_admin else [])
    if not targets and user.is_admin:  # a result nobody holds (stored before owners were recorded)
        targets = [claim(session, kind, job_id, user)]
    if not targets:
        raise Forbidden(f"only an owner of {job_id!r} or an admin may change who sees it")
    for row in targets:
        row.visibility = visibility
    session.flush()
    access_now = job_access(session, kind, job_id, user)
    assert access_now is not None
    return access_now


# --- uploads --------------------------------------------------------------------------------------


def own_upload(session: Session, sha256: str, user: User, size: int) -> None:
    if session.get(Upload, (sha256, user.id)) is None:
        session.add(Upload(sha256=sha256, user_id=user.id, size=size, created_at=utcnow()))
        session.flush()


def may_use_upload(session: Session, sha256: str, user: User) -> bool:
    if user.is_admin:
        return True
    return session.get(Upload, (sha256, user.id)) is not None


def uploads_of(session: Session, user: User) -> list[Upload]:
    return list(session.scalars(select(Upload).where(Upload.user_id == user.id).order_by(Upload.created_at)))
