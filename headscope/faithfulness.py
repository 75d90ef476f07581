"""`headscope.faithfulness`: every head and explanation source of one input scored by erasure, exactly as
POST /api/inspect/faithfulness answers it (the server's own body checks and service, run here, in this
thread; docs/reference/api.md says what each figure means)."""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from app.web.faithfulness_schema import FaithfulnessBody
from app.web.faithfulness_service import faithfulness as served_faithfulness
from headscope.loading import OneCheckpoint, load
from headscope.service_calls import answered, completed, input_body


def faithfulness(
    checkpoint: Any,
    text: str,
    aspect: str | None = None,
    *,
    aspect_span: tuple[int, int] | None = None,
    e1_span: tuple[int, int] | None = None,
    e2_span: tuple[int, int] | None = None,
    **options: Any,
) -> FaithfulnessView:
    """options: the body's fields (methods=["attention", "rollout", ...], k=[...], erasure, erase_targets, query,
    ig_steps, random_draws, seed); bad ones raise ValueError naming what is accepted."""
    loaded = load(checkpoint)
    spans = {"aspect_span": aspect_span, "e1_span": e1_span, "e2_span": e2_span}
    body = input_body(FaithfulnessBody, loaded.id, text, aspect, spans, **options)
    return FaithfulnessView(answered(lambda: completed(served_faithfulness(OneCheckpoint(loaded.loaded), None, body))))


class FaithfulnessView:
    """`.json` the API's answer; `.heads(kind, figure)` a numpy [layers, heads] map; `.sources` the figures of
    each source (head mean, rollout, flow, IG, random ...). Shows the sources' AOPC and the head maps."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.json = answer
        self.label: str = answer["label"]
        self.sources: dict[str, Any] = answer["sources"]

    def heads(self, kind: str = "attention", figure: str = "normalised_comprehensiveness") -> np.ndarray:
        values = self.json["heads"][kind][figure]
        return np.asarray([[np.nan if v is None else v for v in row] for row in values], dtype=np.float64)

    def __repr__(self) -> str:
        return f"<headscope faithfulness of {self.json['model']} for {self.label}: {', '.join(self.sources)}>"

    def summary(self) -> str:
        def num(value: Any) -> str:
            return "–" if value is None else f"{value:.3f}"

        lines = [f"{self.json['model']}: erasing the top k% of tokens for {self.label} (AOPC comp. / suff.)"]
        for name, figures in self.sources.items():
            aopc = figures["aopc"]
            lines.append(f"  {name}: {num(aopc.get('comprehensiveness'))} / {num(aopc.get('sufficiency'))}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from headscope.heatmaps import heatmap_html

        maps = [
            heatmap_html(self.heads(kind, "normalised_comprehensiveness"), f"{kind}: normalised comprehensiveness")
            for kind in self.json.get("heads", {})
        ]
        return f"<pre>{html.escape(self.summary())}</pre><div style='display:flex;gap:18px'>{''.join(maps)}</div>"
