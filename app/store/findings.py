"""Repository functions for findings: plain functions over a Session, permission checks included.

The web routes call these and map NotFound/Forbidden/Conflict/Invalid to 404/403/409/422. Who may
do what: everyone sees their own and shared findings, admins see all; only the author or an
admin changes one. A finding the caller may not see is NotFound, never Forbidden, so ids cannot
be probed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from app.store import access
from app.store.checkpoints import checkpoint_status
from app.store.finding_schemas import (
    ExportFile,
    FindingCreate,
    FindingIntervention,
    FindingPatch,
    FindingRecord,
    FindingView,
    ModelRef,
)
from app.store.markdown import render_note
from app.store.models import Finding, FindingHead, FindingLabel, User, utcnow
from app.store.store_errors import Conflict, Forbidden, Invalid, NotFound
from app.store.users import ensure_user

EXPORT_FORMAT, EXPORT_VERSION = "headscope-findings", 1
MAX_LIMIT = 200


def new_id() -> str:
    return secrets.token_urlsafe(9)  # 72 random bits, 12 URL-safe characters


# --- permissions ---------------------------------------------------------------------------------


def can_see(finding: Finding, user: User) -> bool:
    return access.can_see(finding.author_id, finding.visibility, user)


def can_edit(finding: Finding, user: User) -> bool:
    return access.can_edit(finding.author_id, user)


def _visible_to(user: User):
    return True if user.is_admin else or_(Finding.author_id == user.id, Finding.visibility == "shared")


def get_visible(session: Session, user: User, finding_id: str) -> Finding:
    finding = session.get(Finding, finding_id)
    if finding is None or not can_see(finding, user):
        raise NotFound(f"no finding {finding_id!r}")
    return finding


def get_editable(session: Session, user: User, finding_id: str) -> Finding:
    finding = get_visible(session, user, finding_id)
    if not can_edit(finding, user):
        raise Forbidden(f"only the author ({finding.author.name}) or an admin may change finding {finding_id!r}")
    return finding


# --- JSON ----------------------------------------------------------------------------------------


def finding_json(
    finding: Finding, viewer: User | None, current_models: Mapping[str, str | None], with_snapshot: bool = True
) -> dict[str, Any]:
    """The finding as docs/reference/findings-api.md shows it. `current_models`: model ids -> weights hash."""
    body: dict[str, Any] = {
        "id": finding.id,
        "title": finding.title,
        "note": finding.note,
        "note_html": finding.note_html,
        "author": finding.author.name,
        "visibility": finding.visibility,
        # The link token is the author's to hand out: other viewers of a shared finding do not get it.
        "public_token": finding.public_token if viewer is not None and can_edit(finding, viewer) else None,
        "model": {
            "id": finding.model_id,
            "sha256": finding.model_sha256,
            "task": finding.model_task,
            "format": finding.model_format,
        },
        "checkpoint_status": checkpoint_status(finding.model_id, finding.model_sha256, current_models),
        "input": finding.input,
        "view": finding.view,
        "labels": finding.labels,
        "tags": finding.tags,
        "created_at": finding.created_at.isoformat(),
        "updated_at": finding.updated_at.isoformat(),
    }
    if with_snapshot:
        body["snapshot"] = finding.snapshot
    return body


# --- create / update / delete -------------------------------------------------------------------


def check_view(view: FindingView, num_layers: int, num_heads: int, loc: tuple = ("view",)) -> None:
    """422 for a layer or head the model does not have."""
    if view.layer is not None and view.layer >= num_layers:
        raise Invalid(f"layer {view.layer} does not exist: the model has layers 0..{num_layers - 1}", loc + ("layer",))
    for index, item in enumerate(view.heads):
        layer, head = item if isinstance(item, tuple) else (view.layer or 0, item)
        if layer >= num_layers or head >= num_heads:
            raise Invalid(
                f"head {list(item) if isinstance(item, tuple) else item} does not exist: the model has "
                f"{num_layers} layers × {num_heads} heads",
                loc + ("heads", index),
            )


def check_intervention(
    intervention: FindingIntervention | None, num_layers: int, num_heads: int, loc: tuple = ("input", "intervention")
) -> None:
    """422 for a changed head the model does not have."""
    for index, (layer, head) in enumerate(intervention.heads if intervention else []):
        if layer >= num_layers or head >= num_heads:
            raise Invalid(
                f"head [{layer}, {head}] does not exist: the model has {num_layers} layers × {num_heads} heads",
                loc + ("heads", index),
            )


def _set_derived(finding: Finding, view: FindingView, labels: Sequence[str], tags: Sequence[str]) -> None:
    """The columns and rows derived from view/labels/tags that the list filters use."""
    finding.view = view.model_dump(mode="json")
    finding.layer = view.layer
    finding.labels = list(labels)
    finding.tags = list(tags)
    finding.tags_text = "\n" + "\n".join(t.lower() for t in tags) + "\n"
    # Diff instead of replace: replacing rows with equal keys in one flush inserts before it deletes.
    wanted_heads = view.head_pairs()
    finding.heads = [h for h in finding.heads if (h.layer, h.head) in wanted_heads] + [
        FindingHead(layer=l, head=h) for l, h in sorted(wanted_heads - {(r.layer, r.head) for r in finding.heads})
    ]
    wanted_labels = set(labels)
    finding.label_rows = [r for r in finding.label_rows if r.label in wanted_labels] + [
        FindingLabel(label=l) for l in sorted(wanted_labels - {r.label for r in finding.label_rows})
    ]


def search_text(title: str, note: str, input_text: str, tags: list[str]) -> str:
    return "\n".join([title, note, input_text, *tags]).lower()


def _refresh_search(finding: Finding) -> None:
    finding.search_text = search_text(finding.title, finding.note, finding.input["text"], finding.tags)


def create(session: Session, author: User, body: FindingCreate, model: ModelRef, snapshot: dict | None) -> Finding:
    """`model` is the server's view of the checkpoint (hash, task, format), not the client's."""
    now = utcnow()
    finding = _new_row(author, body, model, id=new_id(), snapshot=snapshot, created_at=now, updated_at=now)
    session.add(finding)
    session.flush()
    return finding


def update(session: Session, user: User, finding_id: str, patch: FindingPatch, view_check: Any = None) -> Finding:
    """`view_check(view)` validates a new view against the model when the caller knows it."""
    finding = get_editable(session, user, finding_id)
    if patch.title is not None:
        finding.title = patch.title
    if patch.note is not None:
        finding.note, finding.note_html = patch.note, render_note(patch.note)
    if patch.visibility is not None:
        finding.visibility = patch.visibility
    if patch.view is not None and view_check is not None:
        view_check(patch.view)
    view = patch.view if patch.view is not None else FindingView.model_validate(finding.view)
    _set_derived(
        finding,
        view,
        patch.labels if patch.labels is not None else finding.labels,
        patch.tags if patch.tags is not None else finding.tags,
    )
    _refresh_search(finding)
    finding.updated_at = utcnow()
    session.flush()
    return finding


def delete(session: Session, user: User, finding_id: str) -> None:
    session.delete(get_editable(session, user, finding_id))
    session.flush()


# --- public links ---------------------------------------------------------------------------------


def make_public_link(session: Session, user: User, finding_id: str) -> str:
    finding = get_editable(session, user, finding_id)
    if finding.public_token is None:
        finding.public_token = secrets.token_urlsafe(24)
        finding.updated_at = utcnow()
    return finding.public_token


def revoke_public_link(session: Session, user: User, finding_id: str) -> None:
    finding = get_editable(session, user, finding_id)
    if finding.public_token is not None:
        finding.public_token = None
        finding.updated_at = utcnow()


def get_public(session: Session, token: str) -> Finding:
    finding = session.scalar(select(Finding).where(Finding.public_token == token)) if token else None
    if finding is None:
        raise NotFound("no finding has this public link (it may have been revoked)")
    return finding


# --- list ------------------------------------------------------------------------------------------


@dataclass
class ListFilters:
    model: str | None = None
    layer: int | None = None
    head: int | None = None
    label: str | None = None
    tag: str | None = None
    author: str | None = None
    q: str | None = None
    visibility: str | None = None
    mine: bool = False
    ids: list[str] | None = None


def _filtered(user: User, filters: ListFilters) -> Select:
    query = select(Finding).where(_visible_to(user))
    if filters.ids is not None:
        query = query.where(Finding.id.in_(filters.ids))
    if filters.model:
        query = query.where(Finding.model_id == filters.model)
    if filters.head is not None:
        head_match = FindingHead.head == filters.head
        if filters.layer is not None:
            head_match = and_(head_match, FindingHead.layer == filters.layer)
        query = query.where(exists().where(FindingHead.finding_id == Finding.id, head_match))
    elif filters.layer is not None:
        query = query.where(
            or_(
                Finding.layer == filters.layer,
                exists().where(FindingHead.finding_id == Finding.id, FindingHead.layer == filters.layer),
            )
        )
    if filters.label:
        query = query.where(exists().where(FindingLabel.finding_id == Finding.id, FindingLabel.label == filters.label))
    if filters.tag:
        query = query.where(Finding.tags_text.contains("\n" + filters.tag.strip().lower() + "\n", autoescape=True))
    if filters.author:
        query = query.where(Finding.author.has(User.name == filters.author))
    if filters.visibility:
        query = query.where(Finding.visibility == filters.visibility)
    if filters.mine:
        query = query.where(Finding.author_id == user.id)
    if filters.q and filters.q.strip():
        needle = filters.q.strip().lower()
        query = query.where(Finding.search_text.contains(needle, autoescape=True))
    return query


def list_findings(
    session: Session, user: User, filters: ListFilters, limit: int = 50, offset: int = 0
) -> tuple[list[Finding], int]:
    query = _filtered(user, filters)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(
        query.order_by(Finding.created_at.desc(), Finding.id.desc())
        .limit(min(max(limit, 1), MAX_LIMIT))
        .offset(max(offset, 0))
    )
    return list(rows), int(total or 0)


# --- export / import --------------------------------------------------------------------------


def export(session: Session, user: User, filters: ListFilters, current_models: Mapping[str, str | None]) -> dict:
    query = _filtered(user, filters).order_by(Finding.created_at, Finding.id)
    findings = [finding_json(f, user, current_models) for f in session.scalars(query)]
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": utcnow().isoformat(),
        "findings": findings,
    }


def _record_to_row(session: Session, record: FindingRecord, authors: dict[str, User]) -> Finding:
    author = authors.get(record.author) or ensure_user(session, record.author)
    authors[record.author] = author
    return _new_row(
        author,
        record,
        record.model,
        id=record.id,
        public_token=record.public_token,
        snapshot=record.snapshot,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def _new_row(author: User, source: FindingCreate, model: ModelRef, **row: Any) -> Finding:
    """A finding row from what a new finding and an imported record both carry (title, note, visibility, input,
    view, labels, tags), the checkpoint it was made on and the `row`'s own columns (id, snapshot, times...)."""
    finding = Finding(
        title=source.title,
        note=source.note,
        note_html=render_note(source.note),
        author_id=author.id,
        visibility=source.visibility,
        model_id=model.id,
        model_sha256=model.sha256,
        model_task=model.task,
        model_format=model.format,
        input=source.input.model_dump(mode="json"),
        input_text=source.input.text.lower(),
        heads=[],
        label_rows=[],
        **row,
    )
    finding.author = author
    _set_derived(finding, source.view, source.labels, source.tags)
    _refresh_search(finding)
    return finding


def import_findings(session: Session, user: User, document: ExportFile) -> list[str]:
    """Adds every finding of an export file, or none: call inside one `store.write()` transaction,
    which rolls back when anything here raises."""
    records = document.findings
    seen: dict[str, int] = {}
    tokens: dict[str, int] = {}
    for index, record in enumerate(records):
        if record.id in seen:
            raise Invalid(
                f"id {record.id!r} appears twice (items {seen[record.id]} and {index})", ("findings", index, "id")
            )
        seen[record.id] = index
        if record.public_token is not None:
            if record.public_token in tokens:
                raise Invalid(
                    f"public_token appears twice (items {tokens[record.public_token]} and {index})",
                    ("findings", index, "public_token"),
                )
            tokens[record.public_token] = index
        if not user.is_admin and record.author != user.name:
            raise Forbidden(
                f"item {index}: only admins import findings of other authors ({record.author!r}); you are {user.name!r}"
            )
    for start in range(0, len(records), 500):  # IN lists stay small for both databases
        chunk = [r.id for r in records[start : start + 500]]
        taken = list(session.scalars(select(Finding.id).where(Finding.id.in_(chunk))))
        if taken:
            raise Conflict(
                f"{len(taken)} finding id(s) already exist on this server, e.g. {taken[0]!r} "
                f"(item {seen[taken[0]]}); nothing was imported"
            )
        chunk_tokens = [r.public_token for r in records[start : start + 500] if r.public_token]
        if chunk_tokens and session.scalar(select(func.count()).where(Finding.public_token.in_(chunk_tokens))):
            raise Conflict("a public_token in the file is already used on this server; nothing was imported")
    authors: dict[str, User] = {}
    for record in records:
        session.add(_record_to_row(session, record, authors))
    session.flush()
    return [r.id for r in records]
