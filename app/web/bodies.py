"""Reading JSON bodies with a byte limit: 413 before a huge body is held in memory, 415 for non-JSON.

Routes that take bodies call `await parse_body(request, Model, limit)` instead of declaring a
pydantic parameter, because FastAPI reads the whole body before any dependency could refuse it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


async def read_body(request: Request, limit: int, setting: str = "HEADSCOPE_MAX_BODY_BYTES") -> bytes:
    too_big = HTTPException(413, f"request body is over the limit of {limit} bytes ({_mib(limit)}, {setting})")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def require_json(request: Request) -> None:
    # Requiring application/json also blocks cross-site form posts: a browser sends this content
    # type to another origin only after a CORS preflight, which this server never grants.
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise HTTPException(
            415, f"send the body as JSON with Content-Type: application/json (got {content_type or 'none'!r})"
        )


async def parse_body(
    request: Request,
    model: type[M],
    limit: int,
    context: dict[str, Any] | None = None,
    setting: str = "HEADSCOPE_MAX_BODY_BYTES",
) -> M:
    require_json(request)
    raw = await read_body(request, limit, setting)
    try:
        return model.model_validate_json(raw, context=context)
    except ValidationError as exc:
        errors = [{"loc": ("body", *e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        raise RequestValidationError(errors) from None
