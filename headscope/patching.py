"""`headscope.patching`: activation patching between a clean input and its corrupted variant on one checkpoint,
the answer of POST /api/compare/patching (app/web/patching_service.py; docs/how-to/interventions.md)."""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from app.web.compare_service import CompareService
from app.web.inspect_service import InspectService
from app.web.patching_schema import PatchingRequest
from app.web.patching_service import PatchingService
from headscope.loading import OneCheckpoint, load
from headscope.service_calls import answered, settings_of

# the body's fields as `patching`'s arguments name them
ARGUMENTS = {
    "left.text": "clean",
    "left.aspect": "aspect",
    "right.text": "corrupted",
    "right.aspect": "corrupted_aspect",
    "right": "corrupted",
}


def patching(
    checkpoint: Any,
    clean: str,
    corrupted: str,
    aspect: str | None = None,
    *,
    corrupted_aspect: str | None = None,
    direction: str = "both",
) -> PatchingView:
    """How much of the clean run's prediction each head (and the residual stream at each aligned token) restores
    when patched into the corrupted run ("denoise"), or destroys when the corrupted run's is patched into the clean
    one ("noise"); "both" runs the two. ABSA: `aspect` (the corrupted input's is the same unless given); RE: the
    texts mark <e1>/<e2>. Only tokens the two inputs share are patched: pick a variant that changes the prediction."""
    loaded = load(checkpoint)
    left = {"model": loaded.id, "text": clean, "aspect": aspect}
    right = {"text": corrupted, **({"aspect": corrupted_aspect} if corrupted_aspect is not None else {})}
    request = settings_of(PatchingRequest, {"left": left, "right": right, "direction": direction}, ARGUMENTS)
    registry = OneCheckpoint(loaded.loaded)
    service = PatchingService(CompareService(registry, InspectService(registry, cache_size=0)))
    return PatchingView(answered(lambda: service.run(request), ARGUMENTS))


class PatchingView:
    """`.json` the API's answer; `.heads(direction)` numpy [layers, heads] of restored fractions (NaN where none is
    defined); `.summary()` the labels and the heads that restore most. Shows one heatmap per direction run."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.json = answer
        self.directions = [d for d in ("denoise", "noise") if d in answer]

    def heads(self, direction: str | None = None) -> np.ndarray:
        found = self.json[direction or self.directions[0]]["heads"]
        return np.asarray([[np.nan if v is None else v for v in row] for row in found], dtype=np.float64)

    def summary(self) -> str:
        lines = []
        for direction in self.directions:
            run = self.json[direction]
            if run["undefined"]:
                lines.append(f"{direction}: {run['undefined']}")
                continue
            grid = self.heads(direction)
            order = np.argsort(-np.nan_to_num(grid, nan=-np.inf), axis=None)[:5]
            top = ", ".join(f"{i // grid.shape[1]}.{i % grid.shape[1]} {grid.flat[i]:+.3f}" for i in order)
            lines.append(f"{direction} ({run['clean_label']} clean, {run['corrupted_label']} corrupted): {top}")
        return f"{self.json['model']}: restored fraction of the logit difference per head\n" + "\n".join(lines)

    def __repr__(self) -> str:
        return f"<headscope patching map: {self.summary()}>"

    def _repr_html_(self) -> str:
        from headscope.heatmaps import heatmap_html

        maps = [heatmap_html(self.heads(d), f"{d}: restored fraction per head") for d in self.directions]
        summary = "<br>".join(html.escape(line) for line in self.summary().splitlines())
        return f"<p>{summary}</p>" + "".join(maps)
