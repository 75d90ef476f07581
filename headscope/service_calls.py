"""How the Python API calls the server's services: one input's fields as the server's typed body (its checks and
messages), the service's coroutine run to its end in this thread, and its InputError as the ValueError a notebook
user reads (what the server answers with a 422 naming the field)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from pydantic import BaseModel

from app.core.model.errors import InputError

T = TypeVar("T")
Body = TypeVar("Body", bound=BaseModel)


def input_body(
    body: type[Body],
    model: str,
    text: str,
    aspect: str | None,
    spans: dict[str, tuple[int, int] | None],
    **options: Any,
) -> Body:
    """The server's body for one input (ABSA: text + aspect; RE: marked text or entity spans); a bad field raises
    pydantic's ValidationError, a ValueError."""
    return body.model_validate({"model": model, "text": text, "aspect": aspect, **spans, **options})


def answered(call: Callable[[], T]) -> T:
    """The service's answer; its InputError raised as a ValueError naming the field."""
    try:
        return call()
    except InputError as exc:
        raise ValueError(f"{exc.field}: {exc}" if getattr(exc, "field", None) else str(exc)) from exc


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
