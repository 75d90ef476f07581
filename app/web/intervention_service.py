"""Interventions for the API: POST /api/inspect with `intervene`, and POST /api/inspect/knockout.

Checks a request against its checkpoint (InputError naming the field: a 422), tokenises on the
caller's thread and runs the model work on the one model thread, like every inspection. Intervened
runs never use the ONNX fast path nor the micro-batcher's padded batches: the hooks belong to the
model object for the length of one call (app/core/model/hooks.py), so each runs alone as a submitted
job. Plain requests do not come here. Nothing is stored: the only state is in memory (the plain
outcome of recent inputs, so trying several interventions on one input costs one forward each, and
the core's per-checkpoint mean outputs).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.errors import InputError
from app.core.model.interventions import Intervention, check_intervention
from app.core.model.registry import ModelRegistry
from app.core.passes.head_means import DEMO_REFERENCE, ReferenceSet
from app.core.passes.inspection import Inspection, InspectionInput, PreparedInspection, prepare_inspection
from app.core.passes.intervention import IntervenedInspection, Outcome, inspect_intervened
from app.core.passes.knockout import knockout_map
from app.web.batcher import ModelBatcher
from app.web.intervention_references import ReferenceSets
from app.web.model_work import awaited, checkpoint_for, inspection_input, loaded_checkpoint, on_model_thread
from app.web.request_bodies import InspectRequest, KnockoutRequest

T = TypeVar("T")
Payload = Callable[[Inspection, InspectRequest], dict[str, Any]]


class InterventionService:
    def __init__(
        self,
        registry: ModelRegistry,
        batcher: ModelBatcher | None = None,
        cache_size: int = 64,
        shared_data: Path | None = None,
    ):
        self.registry, self.batcher, self.cache_size = registry, batcher, cache_size
        self.references = ReferenceSets(shared_data)  # mean ablation's reference sets by name
        self._plain: OrderedDict[tuple, Outcome] = OrderedDict()  # PyTorch outcomes only: "before" must match
        self._lock = threading.Lock()

    def intervention(self, model_id: str, request: InspectRequest) -> Intervention:
        """The request's intervention, checked against the checkpoint's layers and heads."""
        given = request.intervene
        if given is None:
            raise InputError("intervene is required here", field="intervene")
        info = self.registry.info(model_id)
        intervention = Intervention(tuple((int(l), int(h)) for l, h in given.heads), given.mode, given.factor)
        check_intervention(intervention, (info.num_layers, info.num_heads))
        return intervention

    async def run_async(self, model_id: str, request: InspectRequest, payload: Payload) -> dict[str, Any]:
        """The /api/inspect answer for the intervened model, with `intervention` (before, after, delta)."""
        intervention = self.intervention(model_id, request)
        name = request.intervene.reference if request.intervene and intervention.mode == "mean" else None
        reference = self.references.get(name)  # a 422 for an unknown name before any model work
        loaded = await awaited(loaded_checkpoint(self.registry, self.batcher, model_id))
        item = inspection_input(request)
        prepared = prepare_inspection(loaded, item)
        result = await awaited(
            on_model_thread(self.batcher, lambda: self._intervene(loaded, item, prepared, intervention, reference))
        )
        body = payload(result.inspection, request)
        body["intervention"] = result.to_json()
        if intervention.mode == "mean":
            body["intervention"]["reference"] = name or DEMO_REFERENCE
        return body

    async def knockout(self, request: KnockoutRequest) -> dict[str, Any]:
        """The knock-out map of one input for the predicted label (see app.core.passes.knockout)."""
        info = self.registry.info(checkpoint_for(self.registry, request))
        loaded = await awaited(loaded_checkpoint(self.registry, self.batcher, info.id))
        prepared = prepare_inspection(loaded, inspection_input(request))
        found = await awaited(on_model_thread(self.batcher, lambda: knockout_map(loaded, prepared, request.mode)))
        header = {"model": info.id, "task": info.task, "format": info.format}
        return {**header, "num_layers": info.num_layers, "num_heads": info.num_heads, **found.to_json()}

    # --- inside ------------------------------------------------------------------------------------

    def _intervene(
        self,
        loaded: LoadedCheckpoint,
        item: InspectionInput,
        prepared: PreparedInspection,
        intervention: Intervention,
        reference: ReferenceSet | None,
    ) -> IntervenedInspection:
        key = (loaded.info.id, id(loaded.model), item)
        with self._lock:
            before = self._plain.get(key)
        # A new input: the plain and the intervened forward as one forked forward (passes/intervention.py).
        result = inspect_intervened(loaded, prepared, intervention, before, reference)
        if before is None:
            with self._lock:
                self._plain[key] = result.before
                while len(self._plain) > self.cache_size:
                    self._plain.popitem(last=False)
        return result
