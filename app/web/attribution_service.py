"""Attribution for POST /api/inspect: runs app.core.attribution.live on the model thread, keeps recent reports."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from app.core.attribution.gradients import IG_DEFAULT_STEPS
from app.core.attribution.live import METHODS, AttributionReport, AttributionRequest, attribute
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.passes.inspection import Inspection


class AttributionService:
    """Reports keyed by (input, methods, label, steps, query); the word / piece JSON is cut from one report.

    A cached report is reused only for the very inspection it was computed from (the inspection
    cache hands out the same object for the same input), so a reloaded checkpoint never gets a
    stale one.
    """

    def __init__(self, cache_size: int = 32) -> None:
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, tuple[Inspection, AttributionReport]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def request_of(body: Any) -> AttributionRequest:
        return AttributionRequest(
            methods=tuple(dict.fromkeys(body.attribution or ())),
            label=body.attribution_label,
            ig_steps=body.ig_steps or IG_DEFAULT_STEPS,
            query=body.attribution_query or "readout",
        )

    def payload(self, loaded: LoadedCheckpoint, inspection: Inspection, body: Any) -> dict[str, Any]:
        """The response's "attribution" object (word scores summed over pieces when body.word_level)."""
        request = self.request_of(body)
        key = (inspection.checkpoint_id, body.text, body.aspect, body.aspect_span, body.e1_span, body.e2_span, request)
        report: AttributionReport | None = None
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] is inspection:
                self._cache.move_to_end(key)
                report = cached[1]
        if report is None:
            report = attribute(loaded, inspection, request)
            with self._lock:
                self._cache[key] = (inspection, report)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return report.to_json(inspection.encoded.word_ids if body.word_level else None)


def attribution_query(snapshot: Any) -> dict[str, Any]:
    """The /inspect URL parameters (static/js/state.js) that ask the live view again for the attribution
    a finding's snapshot keeps: its methods, IG steps, a chosen label and the query ({} when none)."""
    found = snapshot.get("attribution") if isinstance(snapshot, dict) else None
    if not isinstance(found, dict):
        return {}
    methods = found.get("methods")
    if not isinstance(methods, dict):
        return {}
    chosen = [name for name in METHODS if name in methods]
    if not chosen:
        return {}
    query: dict[str, Any] = {"attr": ",".join(chosen)}
    steps = (methods.get("ig") or {}).get("steps") if isinstance(methods.get("ig"), dict) else None
    if isinstance(steps, int) and steps != IG_DEFAULT_STEPS:
        query["ig_steps"] = steps
    target = found.get("target")
    if not isinstance(target, dict):
        target = {}
    if target.get("predicted") is False and isinstance(target.get("label"), str):
        query["attr_label"] = target["label"]
    name = (found.get("query") or {}).get("name") if isinstance(found.get("query"), dict) else None
    if isinstance(name, str) and name != "readout":
        query["attr_query"] = name
    return query
