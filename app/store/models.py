"""ORM tables. Changing them needs a new migration in migrations/versions/ (the app runs `upgrade head`)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC, read back as aware UTC: SQLite keeps no time zone, and an export/import
    round trip between SQLite and PostgreSQL must give the very same instant."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # argon2 hash; None: the account cannot log in (e.g. an author created by an import).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # sha256 of the token: tokens are 256-bit random, so a fast hash is enough (argon2 per request is not).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class WebSession(Base):
    __tablename__ = "sessions"

    # sha256 of the cookie value, so a leaked database does not leak live sessions.
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Finding(Base):
    __tablename__ = "findings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    note: Mapped[str] = mapped_column(Text, default="")
    note_html: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    public_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    model_id: Mapped[str] = mapped_column(String(200), index=True)
    model_sha256: Mapped[str | None] = mapped_column(String(64))
    model_task: Mapped[str | None] = mapped_column(String(16))
    model_format: Mapped[str | None] = mapped_column(String(32))
    # The view's layer, as a column so the list can filter on it.
    layer: Mapped[int | None] = mapped_column(Integer, index=True)
    input: Mapped[dict] = mapped_column(JSON)
    view: Mapped[dict] = mapped_column(JSON)
    labels: Mapped[list] = mapped_column(JSON)
    tags: Mapped[list] = mapped_column(JSON)
    # Lower-cased tags joined by newlines: portable text search over tags without JSON operators.
    tags_text: Mapped[str] = mapped_column(Text, default="")
    input_text: Mapped[str] = mapped_column(Text, default="")
    # Title, note, input text and tags lower-cased by Python (migration 0002): SQLite's lower() folds
    # ASCII only, so searching "café" in SQL would differ between SQLite and PostgreSQL.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    snapshot: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship()
    heads: Mapped[list[FindingHead]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    label_rows: Mapped[list[FindingLabel]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class FindingHead(Base):
    """(layer, head) pairs a finding is about: indexed rows instead of JSON queries, same SQL on both databases."""

    __tablename__ = "finding_heads"

    finding_id: Mapped[str] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True)
    layer: Mapped[int] = mapped_column(Integer, primary_key=True)
    head: Mapped[int] = mapped_column(Integer, primary_key=True)

    __table_args__ = (Index("ix_finding_heads_layer_head", "layer", "head"),)


class FindingLabel(Base):
    __tablename__ = "finding_labels"

    finding_id: Mapped[str] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class JobOwner(Base):
    """A user's claim on a background job's result (app/web/jobs.py): who started it, or asked for the very
    same job again (the cache key is the job id), and whether they share it with every user."""

    __tablename__ = "job_owners"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)  # "analyses", ...
    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class JobRecord(Base):
    """One background job as the history lists it (app/web/job_history.py): what it ran on, how to ask for it
    again, and where it stands. It outlives the server process: a job that was queued or running when its
    server stopped is marked interrupted by the next one (its `runner` says which process held it)."""

    __tablename__ = "job_records"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed, interrupted
    description: Mapped[dict] = mapped_column(JSON)  # the job's public fields: model, data, settings
    request: Mapped[dict] = mapped_column(JSON)  # the POST body that asks for this very job again
    total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    runner: Mapped[str] = mapped_column(String(200), default="")  # host:pid:start of the process that holds it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Last asked for or changed: the history's order.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_job_records_kind_updated_at", "kind", "updated_at"),)


class Upload(Base):
    """Uploaded data (stored by sha256 under <data_dir>/uploads/) and who uploaded it: only they (and
    admins) may name it as "upload:<sha256>"; someone who uploads the same bytes owns it too."""

    __tablename__ = "uploads"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
