"""How the Python API calls the server's services: one input's fields as the server's typed body (its checks and
messages), the service's coroutine run to its end in this thread, and its InputError as the ValueError a notebook
user reads (what the server answers with a 422 naming the field)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.core.model.errors import InputError, validator_words

T = TypeVar("T")
Body = TypeVar("Body", bound=BaseModel)


def input_body(
    body: type[Body],
    model: str,
    text: str,
    aspect: str | None,
    spans: dict[str, tuple[int, int] | None],
    names: dict[str, str] | None = None,
    **options: Any,
) -> Body:
    """The server's body for one input (ABSA: text + aspect; RE: marked text or entity spans); a bad field raises
    a ValueError naming it (as `names` maps the body's fields to the caller's arguments) and what is accepted."""
    return settings_of(body, {"model": model, "text": text, "aspect": aspect, **spans, **options}, names)


def readable(exc: ValidationError, body: type[BaseModel], names: dict[str, str]) -> str:
    """pydantic's errors as a notebook user reads them: the argument, what was wrong, what is accepted; no URL."""
    found = []
    for error in exc.errors():
        loc = ".".join(str(part) for part in error.get("loc", ()))
        where = names.get(loc, loc)
        if error.get("type") == "extra_forbidden":
            accepted = ", ".join(name for name in body.model_fields if name not in ("model", "attention"))
            found.append(f"unknown argument {where!r}; accepted: {accepted}")
        else:
            message = validator_words(str(error.get("msg", "")))
            found.append(f"{where}: {message}" if where and not message.startswith(where) else message)
    return "; ".join(found)


def answered(call: Callable[[], T], names: dict[str, str] | None = None) -> T:
    """The service's answer; its InputError raised as a ValueError naming the field (as `names` maps it to the
    caller's argument)."""
    try:
        return call()
    except InputError as exc:
        field = (names or {}).get(exc.field or "", exc.field)
        raise ValueError(f"{field}: {exc}" if field else str(exc)) from exc


def completed(work: Coroutine[Any, Any, T]) -> T:
    """The value of a service coroutine that never waits: without a model thread every future it awaits is
    already done (app.web.model_work.awaited), so it finishes on its first step, in a notebook's running
    event loop too (where asyncio.run would refuse)."""
    try:
        work.send(None)
    except StopIteration as done:
        return done.value
    work.close()
    raise RuntimeError("the service waited for a model thread; headscope runs the model in the calling thread")


def settings_of(model: type[Body], given: dict[str, Any], names: dict[str, str] | None = None) -> Body:
    """A settings model (or a body) from keyword arguments; a bad one raises a ValueError naming it (as `names`
    maps the model's fields to the caller's arguments) and the accepted ones."""
    try:
        return model(**given)
    except ValidationError as exc:
        raise ValueError(readable(exc, model, names or {})) from None
