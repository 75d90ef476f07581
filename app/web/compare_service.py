"""Two inspections side by side, and how far each head moved between them (POST /api/compare).

The sides are two inputs on one checkpoint (a source and its variant), one input on two checkpoints
(checkpoint A vs B), or one input on a checkpoint and on its pretrained base (`pretrained: true`).
Each side is answered exactly as POST /api/inspect answers it (compact attention). Besides:

* alignment: the tokens the two sides share (app.core.robustness.moved.shared_tokens, by token
  id), as per-token partner indices, and the tokens that are not shared on each side ("edited");
* change: per query set ("focus": the aspect query (ABSA) or the entities (RE); "cls") and head,
  the Jensen-Shannon divergence between the two sides' attention rows over the shared keys
  (app.core.robustness.moved.pair_change), null where it is undefined; null as a whole when the
  two checkpoints' layer × head shapes differ;
* top: the heads with the largest change per query set.

Everything here runs on the app's model thread (the route hands it over, like /api/inspect).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import Any

from app.core.model.errors import InputError
from app.core.model.pretrained import KeptBaseline
from app.core.model.registry import ModelRegistry
from app.core.passes.inspection import Inspection, InspectionInput, inspect
from app.core.robustness.moved import QUERY_SETS, pair_change, shared_tokens
from app.web.compare_schema import CompareRequest, CompareSide
from app.web.inspect_service import InspectService
from app.web.request_bodies import InspectRequest

TOP = 5


class CompareService:
    def __init__(self, registry: ModelRegistry, inspect_service: InspectService, cache_size: int = 16):
        self.registry, self.inspect_service, self.cache_size = registry, inspect_service, cache_size
        self._cache: OrderedDict[tuple, Inspection] = OrderedDict()
        self._pretrained = KeptBaseline()
        self._lock = threading.Lock()

    def run(self, request: CompareRequest) -> dict[str, Any]:
        left, right = self.resolve(request)
        sides = {"left": left, "right": right}
        infos = {name: self.registry.info(_model(side)) for name, side in sides.items()}
        if request.layers is not None:
            for name, info in infos.items():
                bad = [layer for layer in request.layers if not 0 <= layer < info.num_layers]
                if bad:
                    raise InputError(
                        f"layers {bad} do not exist: {name} ({info.id}) has layers 0..{info.num_layers - 1}",
                        field="layers",
                    )
        inspections = {name: self._inspect(side, name) for name, side in sides.items()}
        body: dict[str, Any] = {}
        for name, side in sides.items():
            shown = InspectRequest(model=side.model, text=_text(side), attention="compact", layers=request.layers)
            body[name] = {
                **self.inspect_service.payload(inspections[name], shown),
                "pretrained": side.pretrained,
                "input": side.model_dump(exclude={"model", "pretrained"}, exclude_none=True),
            }
        a, b = inspections["left"], inspections["right"]
        body["alignment"] = alignment(a, b)
        same_shape = a.attention.shape[:2] == b.attention.shape[:2]
        if same_shape:
            change = pair_change(a.attention, b.attention, a.encoded, b.encoded, infos["left"].task)
            body["change"] = {name: _grid(change[name].tolist()) for name in QUERY_SETS}
            body["top"] = {name: _top(body["change"][name]) for name in QUERY_SETS}
            body["change_note"] = (
                None
                if infos["left"].task == infos["right"].task
                else (
                    f"the checkpoints' tasks differ ({infos['left'].task}, {infos['right'].task}): "
                    f"the focus tokens are the left side's ({infos['left'].task})"
                )
            )
        else:
            body["change"] = body["top"] = None
            body["change_note"] = (
                f"no per-head change: {infos['left'].id} has {a.attention.shape[0]} layers × "
                f"{a.attention.shape[1]} heads, {infos['right'].id} {b.attention.shape[0]} × "
                f"{b.attention.shape[1]}"
            )
        body["query_sets"] = list(QUERY_SETS)
        return body

    def resolve(self, request: CompareRequest) -> tuple[CompareSide, CompareSide]:
        """Both sides in full: the left's defaults (the demo ABSA model), the right's fields left out are the left's."""
        left = request.left
        model = left.model or self.registry.default_id("absa")
        if model is None:
            raise InputError("no checkpoints are available; run `headscope prepare` first", field="left.model")
        left = left.model_copy(update={"model": model})
        right = request.right
        update: dict[str, Any] = {"model": right.model or left.model}
        if right.text is None:
            update.update(
                text=left.text,
                aspect_span=right.aspect_span or left.aspect_span,
                e1_span=right.e1_span or left.e1_span,
                e2_span=right.e2_span or left.e2_span,
            )
        if right.aspect is None:
            update["aspect"] = left.aspect
        right = right.model_copy(update=update)
        sides = []
        for name, side in (("left", left), ("right", right)):
            info = self.registry.info(_model(side))  # UnknownModelError -> 404 listing the known ids
            if info.task == "absa" and side.aspect is None:
                raise InputError(
                    f"{name}.aspect is required for ABSA models ({info.id}): an aspect category "
                    "(e.g. food) or a term from the review",
                    field=f"{name}.aspect",
                )
            if info.task != "absa":
                side = side.model_copy(update={"aspect": None, "aspect_span": None})
            sides.append(side)
        return sides[0], sides[1]

    def _inspect(self, side: CompareSide, name: str) -> Inspection:
        item = InspectionInput(_text(side), side.aspect, side.aspect_span, side.e1_span, side.e2_span)
        key = (side.model, side.pretrained, item)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        loaded = self.registry.get(_model(side))
        if side.pretrained:
            loaded = self._pretrained.of(loaded)
        try:
            inspection = inspect(loaded, item)
        except InputError as exc:
            raise InputError(f"{name}: {exc}", field=f"{name}.{exc.field}" if exc.field else name) from None
        with self._lock:
            self._cache[key] = inspection
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return inspection


def _model(side: CompareSide) -> str:
    """A resolved side's checkpoint id."""
    # resolve() sets it: the left's is its own or the default (none raises there), the right's its own or the left's
    assert side.model is not None, "compare side not resolved"
    return side.model


def _text(side: CompareSide) -> str:
    """A resolved side's text."""
    # CompareRequest requires left.text (its validator), and resolve() gives the right the left's when it has none
    assert side.text is not None, "compare side not resolved"
    return side.text


def alignment(left: Inspection, right: Inspection) -> dict[str, Any]:
    """Per token, its partner on the other side (-1: none), and the tokens each side does not share."""
    a, b = shared_tokens(left.encoded, right.encoded)
    partner_left, partner_right = [-1] * len(left.encoded.tokens), [-1] * len(right.encoded.tokens)
    for i, j in zip(a, b):
        partner_left[i], partner_right[j] = j, i
    return {
        "left": partner_left,
        "right": partner_right,
        "shared": len(a),
        "edited": {
            "left": [i for i, j in enumerate(partner_left) if j < 0],
            "right": [j for j, i in enumerate(partner_right) if i < 0],
        },
    }


def _grid(values: list[list[float]]) -> list[list[float | None]]:
    return [[None if v is None or math.isnan(v) else round(float(v), 6) for v in row] for row in values]


def _top(grid: list[list[float | None]], k: int = TOP) -> list[dict[str, Any]]:
    cells = [(v, layer, head) for layer, row in enumerate(grid) for head, v in enumerate(row) if v is not None]
    cells.sort(key=lambda c: (-c[0], c[1], c[2]))
    return [{"layer": layer, "head": head, "change": v} for v, layer, head in cells[:k]]
