"""Runs inspections for the API and shapes them into JSON; keeps recent ones for more layers.

With a `ModelBatcher` (the server's model thread) the forward pass runs there, padded together with
other requests' inspections that arrive at the same time (app/web/batcher.py); checking and
tokenising the request and shaping the answer happen on the caller's thread. `run` waits for the
model thread (any thread but that one may call it), `run_async` awaits it (the routes).
"""

from __future__ import annotations

import base64
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import torch

from app.core.model.attention import max_pooled, quantize_uint8
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.errors import InputError
from app.core.model.norm_attention import norm_forward
from app.core.model.registry import ModelRegistry
from app.core.passes.inspection import Inspection, inspect_batch, prepare_inspection
from app.web.attention_npz import layer_values, npz_attention
from app.web.attribution_service import AttributionService
from app.web.batcher import ModelBatcher
from app.web.intervention_service import InterventionService
from app.web.model_work import (
    awaited,
    checkpoint_for,
    inspection_input,
    loaded_checkpoint,
    on_model_thread,
)
from app.web.request_bodies import InspectRequest

T = TypeVar("T")
# The default answer's compact attention (base64 characters) when a request names no layers: with the rest of the
# answer it stays under 10 MB, what a script can hold and send on; a long input's leading layers, the rest named.
DEFAULT_ATTENTION_BYTES = 8_000_000


class InspectService:
    def __init__(
        self,
        registry: ModelRegistry,
        cache_size: int = 64,
        batcher: ModelBatcher | None = None,
        shared_data: Path | None = None,
    ):
        self.registry = registry
        self.cache_size = cache_size
        self.batcher = batcher  # None: the model runs on the calling thread
        self._cache: OrderedDict[tuple, Inspection] = OrderedDict()
        self._lock = threading.Lock()
        self.attribution = AttributionService()
        # `intervene`: never the fast path; mean ablation's reference sets may be shared data files
        self.interventions = InterventionService(registry, batcher, shared_data=shared_data)

    def run(self, request: InspectRequest) -> dict[str, Any]:
        """The answer to one request, waiting for the model thread (never call it on that thread)."""
        model_id = self.check(request)
        if request.intervene is not None:
            raise InputError("intervene is answered by POST /api/inspect only", field="intervene")
        loaded = self._wait(self._loaded(model_id))
        inspection = self._cached(model_id, request)
        if inspection is None:
            inspection = self._remember(model_id, request, self._wait(self._forward(loaded, request)))
        return self._answer(loaded, inspection, request, self._wait)

    async def run_async(
        self, request: InspectRequest, timings: dict[str, float] | None = None, budget: int | None = None
    ) -> dict[str, Any]:
        """`run` for the event loop: the model work is awaited, the loop stays free meanwhile.

        timings: filled with the milliseconds of each part (tokenise, model: the wait for the model
        thread and the forward pass, attribution, payload) for the Server-Timing header. budget: the
        compact attention's bytes when the request names no layers (`payload`); None: every layer."""
        clock = _Clock(timings)
        model_id = self.check(request)
        if request.intervene is not None:  # the PyTorch forward with hooks, not the cache nor the fast path
            body = await self.interventions.run_async(
                model_id, request, lambda inspection, asked: self.payload(inspection, asked, budget)
            )
            clock.lap("intervene")
            return body
        loaded = await awaited(self._loaded(model_id))
        inspection = self._cached(model_id, request)
        if inspection is None:
            forward = self._forward(loaded, request)
            clock.lap("tokenise")
            inspection = self._remember(model_id, request, await awaited(forward))
            clock.lap("model")
        attribution = None
        if request.attribution:
            attribution = await awaited(
                self._on_model_thread(lambda: self.attribution.payload(loaded, inspection, request))
            )
            clock.lap("attribution")
        body = self.payload(inspection, request, budget)
        if attribution is not None:
            body["attribution"] = attribution
        clock.lap("payload")
        return body

    def check(self, request: InspectRequest) -> str:
        """The checkpoint id the request is for; InputError naming the field when it cannot be run."""
        model_id = request.model or self.registry.default_id("absa")
        if model_id is not None and isinstance(request.layers, list):
            info = self.registry.info(model_id)
            bad = [layer for layer in request.layers if not 0 <= layer < info.num_layers]
            if bad:
                raise InputError(
                    f"layers {bad} do not exist: {info.id} has layers 0..{info.num_layers - 1}", field="layers"
                )
        return checkpoint_for(self.registry, request)

    # --- inside ------------------------------------------------------------------------------------

    def _answer(
        self, loaded: LoadedCheckpoint, inspection: Inspection, request: InspectRequest, wait: Callable[[Future], Any]
    ) -> dict[str, Any]:
        body = self.payload(inspection, request)
        if request.attribution:
            body["attribution"] = wait(
                self._on_model_thread(lambda: self.attribution.payload(loaded, inspection, request))
            )
        return body

    def _loaded(self, model_id: str) -> Future[LoadedCheckpoint]:
        return loaded_checkpoint(self.registry, self.batcher, model_id)

    def _forward(self, loaded: LoadedCheckpoint, request: InspectRequest) -> Future[Inspection]:
        item = inspection_input(request)
        if request.attention_kind == "norm":  # the PyTorch forward with the value hooks: neither batched nor fast
            return self._on_model_thread(
                lambda: inspect_batch(loaded, [prepare_inspection(loaded, item)], norm_forward(loaded.model))[0]
            )
        if self.batcher is None:
            return self._on_model_thread(lambda: inspect_batch(loaded, [prepare_inspection(loaded, item)])[0])
        with self.batcher.arriving() as arrival:  # a batch being formed waits for this request's tokens
            prepared = prepare_inspection(loaded, item)
            return arrival.inspect(loaded, prepared)

    def _on_model_thread(self, work: Callable[[], T]) -> Future[T]:
        return on_model_thread(self.batcher, work)

    @staticmethod
    def _wait(future: Future[T]) -> T:
        return future.result()

    def _cached(self, model_id: str, request: InspectRequest) -> Inspection | None:
        if not self.cache_size:
            return None
        key = (model_id, inspection_input(request), request.attention_kind)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        return None

    def _remember(self, model_id: str, request: InspectRequest, inspection: Inspection) -> Inspection:
        if self.cache_size:
            with self._lock:
                self._cache[(model_id, inspection_input(request), request.attention_kind)] = inspection
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return inspection

    def payload(self, inspection: Inspection, request: InspectRequest, budget: int | None = None) -> dict[str, Any]:
        """The JSON answer. budget: with no `layers` asked, the compact attention's base64 bytes at most
        (the leading layers that fit, at least one; the others named with how to get them); None: no limit."""
        info = self.registry.info(inspection.checkpoint_id)
        encoded, attention = (
            inspection.at_word_level() if request.word_level else (inspection.encoded, inspection.attention)
        )
        body: dict[str, Any] = {
            "model": info.id,
            "task": info.task,
            "format": info.format,
            "prediction": inspection.prediction.to_json(),
            "segments": encoded.segments,
            "tokens": [t.to_json() for t in encoded.tokens],
            "spans": encoded.spans,
            "input_ids": inspection.encoded.input_ids,
            "token_type_ids": inspection.encoded.token_type_ids,
            "truncated": encoded.truncated.to_json() if encoded.truncated else None,
            "num_layers": info.num_layers,
            "num_heads": info.num_heads,
            "level": "word" if request.word_level else "piece",
            "attention_kind": request.attention_kind,
        }
        every = list(range(info.num_layers))
        asked = every if request.layers is None or request.layers == "all" else request.layers
        if request.attention == "full":
            body["attention"] = {"encoding": "float", "values": attention.numpy()}
        elif request.attention == "npz":  # written as an archive by the route (attention_npz.npz_bytes)
            body["attention"] = npz_attention(attention, asked, request.attention_dtype)
        elif request.attention == "compact":
            if budget is not None and request.layers is None:  # the default: the leading layers that fit
                asked = every[: max(1, budget // compact_layer_bytes(attention))]
            body["attention"] = compact_attention(attention, asked)
            if len(asked) < len(every) and request.layers is None:
                body["attention"].update(omitted(attention, asked))
        if request.thumbnails is not None:
            body["thumbnails"] = thumbnails(attention, request.thumbnails)
        return body


def compact_layer_bytes(attention: torch.Tensor) -> int:
    """The base64 characters of one layer of the compact attention [L, H, T, T]: 4 per 3 weights."""
    return 4 * -(-attention[0].numel() // 3)


def compact_attention(attention: torch.Tensor, layers: list[int]) -> dict[str, Any]:
    """The compact form of `layers`: uint8 (value = round(a * 255)) base64 per layer."""
    # only the layers sent are quantised, layer by layer (npz_attention says why): a long input's page asks for one
    return {
        "encoding": "uint8-base64",
        "scale": 255,
        "shape": list(attention.shape),
        "layers": {
            str(layer): base64.b64encode(layer_values(attention, layer, "uint8").tobytes()).decode("ascii")
            for layer in layers
        },
    }


def omitted(attention: torch.Tensor, sent: list[int]) -> dict[str, Any]:
    """What the default compact answer says of the layers it left out: which, and how to get them."""
    left_out = [layer for layer in range(len(attention)) if layer not in sent]
    total = len(attention) * compact_layer_bytes(attention) / 1e6
    return {
        "omitted_layers": left_out,
        "note": f"layers {left_out[0]}-{left_out[-1]} left out: every layer's compact attention at "
        f'{attention.shape[-1]} tokens is {total:.1f} MB. Ask for them with "layers": [{left_out[0]}, ...] or '
        '"layers": "all", or for every layer in binary with "attention": "npz" (docs/reference/api.md)',
    }


def thumbnails(attention: torch.Tensor, size: int) -> dict[str, Any]:
    """Every head's attention max-pooled to at most size x size cells, quantised like the compact form:
    a long input's model view needs these and one full layer, not every layer's T x T bytes."""
    pooled = quantize_uint8(max_pooled(attention, size))
    return {
        "encoding": "uint8-base64",
        "scale": 255,
        "shape": list(pooled.shape),
        "layers": {
            str(layer): base64.b64encode(pooled[layer].numpy().tobytes()).decode("ascii")
            for layer in range(len(pooled))
        },
    }


class _Clock:
    """Milliseconds per named part into `timings` (nothing when it is None)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings, self.last = timings, time.perf_counter()

    def lap(self, name: str) -> None:
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[name] = self.timings.get(name, 0.0) + (now - self.last) * 1000
            self.last = now
