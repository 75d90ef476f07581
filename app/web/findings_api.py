"""Findings JSON API (docs/reference/findings-api.md): thin routes over app/store.

`open_store(settings)` is called from the app's lifespan; `install(app)` adds the routers and maps
the store's errors to HTTP statuses.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.core.model.errors import InputError, validator_words
from app.core.model.registry import ModelRegistry, UnknownModelError
from app.store import Store
from app.store import findings as repo
from app.store import users as user_store
from app.store.checkpoints import weights_sha256
from app.store.finding_schemas import LABELS, ExportFile, FindingCreate, FindingPatch, FindingView, Limits, ModelRef
from app.store.models import User
from app.store.store_errors import Conflict, Forbidden, Invalid, NotFound, StoreError
from app.web import auth
from app.web.auth import require_user
from app.web.bodies import in_context, require_json, set_validation_context
from app.web.finding_interventions import intervene_of, with_outcome
from app.web.request_bodies import InspectRequest
from app.web.responses import Finding, FindingList, Imported, PublicLink

router = APIRouter(prefix="/api")


def open_store(app: FastAPI, settings: Settings) -> Store:
    """Migrate the database to the newest schema and set app.state.store/local_user/secret_key."""
    store = Store(settings.database_url_or_default(), settings.sqlite_synchronous)
    store.migrate()
    local = None
    if not settings.auth_enabled:
        with store.write() as db:
            local = user_store.ensure_user(db, user_store.LOCAL_USER, is_admin=True)
            local.is_admin = True  # with auth off the local user administers everything
    app.state.store = store
    app.state.local_user = local
    app.state.secret_key = auth.load_secret_key(settings)
    return store


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(auth.router)

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        if isinstance(exc, Invalid):
            return JSONResponse(
                {"detail": [{"loc": ["body", *exc.loc], "msg": str(exc), "type": "value_error"}]}, status_code=422
            )
        status = {NotFound: 404, Forbidden: 403, Conflict: 409}.get(type(exc), 400)
        return JSONResponse({"detail": str(exc)}, status_code=status)


# --- helpers --------------------------------------------------------------------------------------


def _state(request: Request):
    return request.app.state


async def finding_limits(request: Request) -> None:
    """The title and note limits of the settings, for the body's validators (bodies.WithContext)."""
    settings: Settings = request.app.state.settings
    set_validation_context({"limits": Limits(title_chars=settings.max_title_chars, note_chars=settings.max_note_chars)})


# Bodies validated with the settings' limits (422); 413 is the BodyLimits middleware's.
NewFinding = Annotated[FindingCreate, in_context(FindingCreate)]
FindingChange = Annotated[FindingPatch, in_context(FindingPatch)]
ImportFile = Annotated[ExportFile, in_context(ExportFile)]
# Who first (401, 403 for a cookie write without its CSRF header), then the body's type (415):
# require_user is cached, so the route's own `user` parameter reuses this one's answer.
FINDING_BODY = [Depends(require_user), Depends(require_json), Depends(finding_limits)]


class CurrentModels(Mapping):
    """Model id -> weights hash of the checkpoints still on disk, computed only for the ids asked
    about (hashing is ~0.3 s per uncached checkpoint) and checked per request, so a deleted or
    retrained checkpoint shows as missing/changed without a restart."""

    def __init__(self, registry: ModelRegistry):
        self.registry = registry
        self._known: dict[str, str | None] = {}

    def _lookup(self, model_id: str) -> tuple[bool, str | None]:
        if model_id in self._known:
            return True, self._known[model_id]
        try:
            info = self.registry.info(model_id)
        except UnknownModelError:
            return False, None
        location = Path(info.weights_location)
        if location.is_dir():
            sha = weights_sha256(location)
            if sha is None:
                return False, None  # the folder is there, the weights are not
        elif info.source is None or location.is_absolute():
            return False, None  # a local checkpoint whose folder was deleted
        else:
            sha = None  # a hub name: nothing on disk to compare
        self._known[model_id] = sha
        return True, sha

    def __contains__(self, model_id: object) -> bool:
        return isinstance(model_id, str) and self._lookup(model_id)[0]

    def __getitem__(self, model_id: str) -> str | None:
        present, sha = self._lookup(model_id)
        if not present:
            raise KeyError(model_id)
        return sha

    def __iter__(self) -> Iterator[str]:
        return (info.id for info in self.registry.infos if info.id in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def current_models(registry: ModelRegistry) -> CurrentModels:
    return CurrentModels(registry)


def _json(body: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


def _view_checker(registry: ModelRegistry, model_id: str):
    def check(view: FindingView) -> None:
        try:
            info = registry.info(model_id)
        except UnknownModelError:
            return  # the checkpoint is gone: nothing to check the view against
        repo.check_view(view, info.num_layers, info.num_heads)

    return check


async def _snapshot(request: Request, body: FindingCreate, model_id: str) -> dict:
    """The compact /api/inspect response for the finding's input, computed on the model thread."""
    view = body.view
    layers = [view.layer] if view.kind == "head" and view.layer is not None else None
    try:
        inspect_request = InspectRequest(
            model=model_id,
            text=body.input.text,
            aspect=body.input.aspect,
            aspect_span=body.input.aspect_span,
            e1_span=body.input.e1_span,
            e2_span=body.input.e2_span,
            attention="compact",
            layers=layers,
            word_level=view.word_mode,
            intervene=intervene_of(body.input.intervention),
        )
    except ValidationError as exc:
        raise Invalid(validator_words(exc.errors()[0]["msg"]), ("input",)) from None
    state = _state(request)
    try:
        # Through the model thread's micro-batcher, like every live inspection.
        return await state.inspect_service.run_async(inspect_request)
    except InputError as exc:
        loc = ("view", "layer") if exc.field == "layers" else ("input", exc.field) if exc.field else ("input",)
        raise Invalid(str(exc), loc) from None


# --- routes ---------------------------------------------------------------------------------------


@router.post("/findings", status_code=201, response_model=Finding, dependencies=FINDING_BODY)
async def create_finding(body: NewFinding, request: Request, user: User = Depends(require_user)) -> Response:
    state = _state(request)
    settings: Settings = state.settings
    registry: ModelRegistry = state.registry
    ref = body.model_ref()
    try:
        info = registry.info(ref.id)
    except UnknownModelError:
        if body.snapshot is None:
            raise  # 404 listing the known models: without the checkpoint there is nothing to snapshot
        model = ref  # kept as sent: a finding re-saved from a snapshot of a checkpoint that is gone
    else:
        repo.check_view(body.view, info.num_layers, info.num_heads)
        repo.check_intervention(body.input.intervention, info.num_layers, info.num_heads)
        sha = await run_in_threadpool(weights_sha256, info.weights_location)
        model = ModelRef(id=info.id, sha256=sha, task=info.task, format=info.format)
    snapshot = body.snapshot if body.snapshot is not None else await _snapshot(request, body, model.id)
    size = len(orjson.dumps(snapshot))
    if size > settings.max_body_bytes:
        raise HTTPException(
            413,
            f"the attention snapshot is {size} bytes, over HEADSCOPE_MAX_BODY_BYTES "
            f"({settings.max_body_bytes}): save a head view of one layer, or a shorter input",
        )
    body = with_outcome(body, snapshot)

    def write() -> dict:
        with state.store.write() as db:
            finding = repo.create(db, db.get(User, user.id), body, model, snapshot)
            return repo.finding_json(finding, user, current_models(registry))

    return _json(await run_in_threadpool(write), 201)


@router.get("/findings", response_model=FindingList)
def list_findings(
    request: Request,
    user: User = Depends(require_user),
    model: str | None = None,
    layer: int | None = Query(None, ge=0),
    head: int | None = Query(None, ge=0),
    label: Literal[LABELS] | None = Query(None, description="one of: " + ", ".join(LABELS)),  # type: ignore[valid-type]
    tag: str | None = None,
    author: str | None = None,
    q: str | None = Query(None, max_length=200),
    visibility: Literal["private", "shared"] | None = None,
    mine: bool = False,
    limit: int = Query(50, ge=1, le=repo.MAX_LIMIT),
    offset: int = Query(0, ge=0),
) -> Response:
    filters = repo.ListFilters(
        model=model, layer=layer, head=head, label=label, tag=tag, author=author, q=q, visibility=visibility, mine=mine
    )
    models = current_models(_state(request).registry)
    with _state(request).store.read() as db:
        rows, total = repo.list_findings(db, user, filters, limit, offset)
        items = [repo.finding_json(f, user, models, with_snapshot=False) for f in rows]
    return _json({"findings": items, "total": total, "limit": limit, "offset": offset})


@router.get("/findings/export", response_model=ExportFile)
def export_findings(
    request: Request,
    user: User = Depends(require_user),
    ids: str | None = Query(None, description="comma-separated finding ids (default: every finding you can see)"),
    model: str | None = None,
    layer: int | None = Query(None, ge=0),
    head: int | None = Query(None, ge=0),
    label: Literal[LABELS] | None = None,  # type: ignore[valid-type]
    tag: str | None = None,
    author: str | None = None,
    q: str | None = None,
    visibility: Literal["private", "shared"] | None = None,
    mine: bool = False,
) -> Response:
    id_list = [i for i in (ids or "").split(",") if i.strip()] if ids is not None else None
    filters = repo.ListFilters(
        model=model,
        layer=layer,
        head=head,
        label=label,
        tag=tag,
        author=author,
        q=q,
        visibility=visibility,
        mine=mine,
        ids=id_list,
    )
    with _state(request).store.read() as db:
        document = repo.export(db, user, filters, current_models(_state(request).registry))
    response = _json(document)
    response.headers["Content-Disposition"] = 'attachment; filename="headscope-findings.json"'
    return response


@router.post("/findings/import", status_code=201, response_model=Imported, dependencies=FINDING_BODY)
async def import_findings(document: ImportFile, request: Request, user: User = Depends(require_user)) -> Response:

    def write() -> list[str]:
        try:
            with _state(request).store.write() as db:
                return repo.import_findings(db, db.get(User, user.id), document)
        except IntegrityError:
            # Another request took an id or link token between the check and the insert.
            raise Conflict("an id or public_token in the file was taken meanwhile; nothing was imported") from None

    ids = await run_in_threadpool(write)
    return _json({"imported": len(ids), "ids": ids}, 201)


@router.get("/findings/{finding_id}", response_model=Finding)
def get_finding(finding_id: str, request: Request, user: User = Depends(require_user)) -> Response:
    models = current_models(_state(request).registry)
    with _state(request).store.read() as db:
        return _json(repo.finding_json(repo.get_visible(db, user, finding_id), user, models))


@router.patch("/findings/{finding_id}", response_model=Finding, dependencies=FINDING_BODY)
async def update_finding(
    finding_id: str, patch: FindingChange, request: Request, user: User = Depends(require_user)
) -> Response:
    state = _state(request)

    def write() -> dict:
        with state.store.write() as db:
            existing = repo.get_visible(db, user, finding_id)
            finding = repo.update(db, user, finding_id, patch, _view_checker(state.registry, existing.model_id))
            return repo.finding_json(finding, user, current_models(state.registry))

    return _json(await run_in_threadpool(write))


@router.delete("/findings/{finding_id}", status_code=204)
def delete_finding(finding_id: str, request: Request, user: User = Depends(require_user)) -> Response:
    with _state(request).store.write() as db:
        repo.delete(db, user, finding_id)
    return Response(status_code=204)


@router.post("/findings/{finding_id}/public-link", response_model=PublicLink)
def make_public_link(finding_id: str, request: Request, user: User = Depends(require_user)) -> dict:
    with _state(request).store.write() as db:
        token = repo.make_public_link(db, user, finding_id)
    return {"public_token": token, "url": f"/p/{token}", "api_url": f"/api/public/{token}"}


@router.delete("/findings/{finding_id}/public-link", status_code=204)
def revoke_public_link(finding_id: str, request: Request, user: User = Depends(require_user)) -> Response:
    with _state(request).store.write() as db:
        repo.revoke_public_link(db, user, finding_id)
    return Response(status_code=204)


@router.get("/public/{token}", response_model=Finding)
def public_finding(token: str, request: Request) -> Response:
    """No account needed; read-only (there is no write route under /api/public)."""
    models = current_models(_state(request).registry)
    with _state(request).store.read() as db:
        return _json(repo.finding_json(repo.get_public(db, token), None, models))
