"""Runs inspections for the API and shapes them into JSON; keeps recent ones for more layers."""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from typing import Any

from app.core.attention import quantize_uint8
from app.core.errors import InputError
from app.core.inspection import Inspection, InspectionInput, inspect
from app.core.registry import ModelRegistry
from app.web.attribution_service import AttributionService
from app.web.schemas import InspectRequest


class InspectService:
    def __init__(self, registry: ModelRegistry, cache_size: int = 64):
        self.registry = registry
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, Inspection] = OrderedDict()
        self._lock = threading.Lock()
        self.attribution = AttributionService()

    def run(self, request: InspectRequest) -> dict[str, Any]:
        model_id = request.model or self.registry.default_id("absa")
        if model_id is None:
            raise InputError("no checkpoints are available; run `headscope prepare` first", field="model")
        info = self.registry.info(model_id)
        if request.layers is not None:
            bad = [layer for layer in request.layers if not 0 <= layer < info.num_layers]
            if bad:
                raise InputError(f"layers {bad} do not exist: {info.id} has layers 0..{info.num_layers - 1}", field="layers")
        if info.task == "absa" and request.aspect is None:
            raise InputError("aspect is required for ABSA models: an aspect category (e.g. food) or a term from the review",
                             field="aspect")
        inspection = self._inspect(model_id, request)
        body = self.payload(inspection, request)
        if request.attribution:
            body["attribution"] = self.attribution.payload(self.registry.get(model_id), inspection, request)
        return body

    def _inspect(self, model_id: str, request: InspectRequest) -> Inspection:
        item = InspectionInput(request.text, request.aspect, request.aspect_span, request.e1_span, request.e2_span)
        key = (model_id, item)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        loaded = self.registry.get(model_id)
        inspection = inspect(loaded, item)
        if self.cache_size:
            with self._lock:
                self._cache[key] = inspection
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return inspection

    def payload(self, inspection: Inspection, request: InspectRequest) -> dict[str, Any]:
        info = self.registry.info(inspection.checkpoint_id)
        encoded, attention = (inspection.at_word_level() if request.word_level
                              else (inspection.encoded, inspection.attention))
        body: dict[str, Any] = {
            "model": info.id, "task": info.task, "format": info.format,
            "prediction": inspection.prediction.to_json(),
            "segments": encoded.segments,
            "tokens": [t.to_json() for t in encoded.tokens],
            "spans": encoded.spans,
            "input_ids": inspection.encoded.input_ids,
            "token_type_ids": inspection.encoded.token_type_ids,
            "truncated": encoded.truncated.to_json() if encoded.truncated else None,
            "num_layers": info.num_layers, "num_heads": info.num_heads,
            "level": "word" if request.word_level else "piece",
        }
        if request.attention == "full":
            body["attention"] = {"encoding": "float", "values": attention.numpy()}
        elif request.attention == "compact":
            layers = request.layers if request.layers is not None else range(info.num_layers)
            quantized = quantize_uint8(attention)
            body["attention"] = {
                "encoding": "uint8-base64", "scale": 255, "shape": list(attention.shape),
                "layers": {str(layer): base64.b64encode(quantized[layer].numpy().tobytes()).decode("ascii")
                           for layer in layers},
            }
        return body
