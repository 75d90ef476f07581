"""What every live service does around the one model thread: check which checkpoint a request is for,
turn its fields into an inspection input, run work on the model thread (inline without one) and await
it from the event loop. The inspection, intervention and knock-out services share these."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.errors import InputError
from app.core.model.registry import ModelRegistry
from app.core.passes.inspection import InspectionInput
from app.web.batcher import ModelBatcher
from app.web.request_bodies import InspectionFields

T = TypeVar("T")


def checkpoint_for(registry: ModelRegistry, request: InspectionFields) -> str:
    """The checkpoint id the request is for; InputError naming the field when it cannot be run."""
    model_id = request.model or registry.default_id("absa")
    if model_id is None:
        raise InputError("no checkpoints are available; run `headscope prepare` first", field="model")
    if registry.info(model_id).task == "absa" and request.aspect is None:
        raise InputError(
            "aspect is required for ABSA models: an aspect category (e.g. food) or a term from the review",
            field="aspect",
        )
    return model_id


def inspection_input(request: InspectionFields) -> InspectionInput:
    return InspectionInput(request.text, request.aspect, request.aspect_span, request.e1_span, request.e2_span)


def on_model_thread(batcher: ModelBatcher | None, work: Callable[[], T]) -> Future[T]:
    """`work` as a whole on the model thread (no other forward interleaves it), or here without one."""
    if batcher is not None:
        return batcher.submit(work)
    future: Future[T] = Future()
    try:
        future.set_result(work())
    except Exception as exc:
        future.set_exception(exc)
    return future


def loaded_checkpoint(registry: ModelRegistry, batcher: ModelBatcher | None, model_id: str) -> Future[LoadedCheckpoint]:
    """The checkpoint; loading one (seconds) happens on the model thread, like all model work."""
    if registry.is_loaded(model_id):
        return on_model_thread(None, lambda: registry.get(model_id))
    return on_model_thread(batcher, lambda: registry.get(model_id))


async def awaited(future: Future[T]) -> T:
    return future.result() if future.done() else await asyncio.wrap_future(future)
