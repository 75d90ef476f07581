"""POST /api/inspect/faithfulness: one input inspected and every explanation source scored by erasure
(app.core.faithfulness), all on the one model thread (the erased inputs' forwards are batched there)."""

from __future__ import annotations

from typing import Any

from app.core.faithfulness import FaithfulnessRequest, evaluate_input
from app.core.model.registry import ModelRegistry
from app.core.passes.inspection import inspect_batch, prepare_inspection
from app.web.batcher import ModelBatcher
from app.web.faithfulness_schema import FaithfulnessBody
from app.web.model_work import awaited, checkpoint_for, inspection_input, loaded_checkpoint, on_model_thread


def core_request(body: FaithfulnessBody) -> FaithfulnessRequest:
    return FaithfulnessRequest(
        methods=tuple(body.methods),
        k_percents=tuple(body.k),
        erasure=body.erasure,
        erase_targets=body.erase_targets,
        query=body.query,
        ig_steps=body.ig_steps,
        random_draws=body.random_draws,
        seed=body.seed,
    )


async def faithfulness(registry: ModelRegistry, batcher: ModelBatcher | None, body: FaithfulnessBody) -> dict[str, Any]:
    info = registry.info(checkpoint_for(registry, body))
    loaded = await awaited(loaded_checkpoint(registry, batcher, info.id))
    prepared = prepare_inspection(loaded, inspection_input(body))  # InputError (422) before any model work
    request = core_request(body)

    def work() -> tuple[Any, Any]:
        inspection = inspect_batch(loaded, [prepared])[0]
        return inspection, evaluate_input(loaded, inspection, request)

    inspection, report = await awaited(on_model_thread(batcher, work))
    header = {"model": info.id, "task": info.task, "format": info.format}
    tokens = [t.text for t in inspection.encoded.tokens]
    return {**header, "num_layers": info.num_layers, "num_heads": info.num_heads, "tokens": tokens, **report.to_json()}
