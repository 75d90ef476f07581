"""JSON request bodies: declared as pydantic parameters of the routes, so /openapi.json describes them.

* Their byte limits are the BodyLimits middleware's (body_limits.py): 413 before a huge body is held.
* `require_json`, a route dependency: 415 for a body that is not `Content-Type: application/json`.
* `validation_errors`: the 422's `detail`, in the shape FastAPI gives, without echoing the input, with
  the messages saying what is accepted (an unknown field's lists the fields at its level).
* `Annotated[Model, in_context(Model)]`: a body whose validators read a validation context (the
  findings' length limits from the settings), which FastAPI does not pass: `set_validation_context`
  in an async dependency (dependencies run before the body is validated) hands it over.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import pydantic_core
from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidatorFunctionWrapHandler, WrapValidator

from app.core.model.errors import validator_words

_validation_context: ContextVar[dict[str, Any] | None] = ContextVar("validation_context", default=None)


async def require_json(request: Request) -> None:
    # async: a header check, not worth a hop to the threadpool (where FastAPI runs plain-def dependencies).
    # Requiring application/json also blocks cross-site form posts: a browser sends this content
    # type to another origin only after a CORS preflight, which this server never grants.
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise HTTPException(
            415, f"send the body as JSON with Content-Type: application/json (got {content_type or 'none'!r})"
        )


def set_validation_context(context: dict[str, Any]) -> None:
    """Call from an async dependency: it runs in the request's task, before the body is validated."""
    _validation_context.set(context)


def in_context(model: type[BaseModel]) -> WrapValidator:
    """Validates `model` with the context set for this request (without one: as pydantic would)."""

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        context = _validation_context.get()
        return handler(value) if context is None else model.model_validate(value, context=context)

    return WrapValidator(validate)


def validation_errors(request: Request, exc: RequestValidationError) -> list[dict[str, Any]]:
    """The 422's `detail`: loc, msg and type of each error (the input is not echoed back: it may be huge)."""
    model = _body_model(request)
    errors = []
    for e in exc.errors():
        loc, msg, kind = list(e.get("loc", [])), e.get("msg", ""), e.get("type", "")
        if kind == "json_invalid":
            loc, msg = ["body"], _json_error(exc.body)
        elif kind == "value_error":  # our validators' own words, without pydantic's "Value error, " before them
            msg = validator_words(msg)
        elif kind == "extra_forbidden" and model is not None and loc[:1] == ["body"]:
            msg = f"unknown field {loc[-1]!r}; accepted: {', '.join(_level(model, loc[1:-1]).model_fields)}"
        errors.append({"loc": loc, "msg": msg, "type": kind})
    return errors


def _body_model(request: Request) -> type[BaseModel] | None:
    route = request.scope.get("route")
    field = getattr(route, "body_field", None)
    annotation = getattr(getattr(field, "field_info", None), "annotation", None)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _level(model: type[BaseModel], path: list) -> type[BaseModel]:
    """The model that holds the field at `path` (as deep as the path runs through nested models)."""
    for part in path:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None or not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)):
            break
        model = field.annotation
    return model


def _json_error(body: Any) -> str:
    """Why the body is not JSON, worded by pydantic's parser (line and column), not json's (offset)."""
    try:
        pydantic_core.from_json(body if isinstance(body, (str, bytes)) else b"")
    except ValueError as error:
        return f"Invalid JSON: {error}"
    return "Invalid JSON"
