"""What `headscope.inspect` returns: the /api/inspect answer as typed fields, numpy attention, inline views."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from headscope.views import VIEWS, HTMLView, head_view, model_view


@dataclass
class InspectionResult:
    """One inspected input. attention: [layers, heads, tokens, tokens] float32 (rows: queries, each sums to 1).

    spans: named token indices (aspect_query, aspect_term, e1, e2, markers). intervention: with
    `heads_off`, the prediction before and after and the change per label. attribution: with
    `attribution=...`, each method's token scores as the API returns them (docs/reference/api.md).
    snapshot: the compact answer the head view draws (what a saved finding keeps).
    """

    model: str
    task: str
    format: str
    text: str
    aspect: str | None
    tokens: list[str]
    prediction: str
    probabilities: dict[str, float]
    attention: np.ndarray = field(repr=False)
    spans: dict[str, list[int]]
    segments: dict[str, str]
    level: str
    token_info: list[dict[str, Any]] = field(repr=False)
    snapshot: dict[str, Any] = field(repr=False)
    truncated: dict[str, Any] | None = None
    intervention: dict[str, Any] | None = None
    attribution: dict[str, Any] | None = field(default=None, repr=False)
    attention_kind: str = "weights"  # "norm": `attention` holds norm-based attention, each row divided by its sum

    @classmethod
    def from_payloads(cls, full: dict[str, Any], view: dict[str, Any], task: str, request: Any) -> InspectionResult:
        """From the answers with full and with compact attention (the same run)."""
        attention = full["attention"]["values"]
        return cls(
            model=full["model"],
            task=task,
            format=full["format"],
            text=request.text,
            aspect=request.aspect,
            tokens=[t["text"] for t in full["tokens"]],
            prediction=full["prediction"]["label"],
            probabilities=dict(full["prediction"]["probabilities"]),
            attention=np.asarray(attention, dtype=np.float32),
            spans=dict(full.get("spans") or {}),
            segments=dict(full.get("segments") or {}),
            level=full["level"],
            token_info=list(full["tokens"]),
            snapshot=view,
            truncated=full.get("truncated"),
            intervention=full.get("intervention"),
            attribution=full.get("attribution"),
            attention_kind=request.attention_kind,
        )

    @property
    def num_layers(self) -> int:
        return int(self.attention.shape[0])

    @property
    def num_heads(self) -> int:
        return int(self.attention.shape[1])

    def attention_tensor(self) -> Any:
        """The attention as a torch tensor (the same numbers)."""
        import torch

        return torch.from_numpy(self.attention)

    def to_bertviz(self) -> tuple[tuple[Any, ...], list[str]]:
        """bertviz's inputs: (attention, tokens), attention a tuple of [1, heads, tokens, tokens] tensors per layer,
        as `bertviz.head_view(attention, tokens)` and `model_view` take them."""
        from headscope.bertviz import to_bertviz

        return to_bertviz(self.attention, self.tokens)

    # --- views -----------------------------------------------------------------------------------

    def head_view(self, layer: int | None = None, heads: list[int] | None = None) -> HTMLView:
        """The head view of the web pages (layer select, head toggles, click a token to pin it), offline."""
        return head_view(self.snapshot, self._title(), layer=layer, heads=heads)

    def model_view(self, heatmap: bool = True) -> HTMLView:
        """Every layer x head as a thumbnail; a click draws that head's heatmap (plotly, inlined: 4.6 MB;
        heatmap=False leaves it out) and opens it in the head view below."""
        return model_view(self.snapshot, self._title(), heatmap=heatmap)

    def save_html(self, path: str | Path, view: str = "head") -> Path:
        """The head view (view="model": the model view) as one HTML file that opens with no network."""
        if view not in VIEWS:
            raise ValueError(f"view must be one of {list(VIEWS)}, got {view!r}")
        shown = self.model_view() if view == "model" else self.head_view()
        return shown.save_html(path)

    def summary(self) -> str:
        """The prediction and its probabilities, the intervention's change when there is one, in one line each."""
        ranked = sorted(self.probabilities.items(), key=lambda kv: -kv[1])[:5]  # the five likeliest labels
        lines = [
            f"{self.model}: {self.prediction} ({', '.join(f'{k} {v:.3f}' for k, v in ranked)})",
            f"{len(self.tokens)} tokens, {self.num_layers} layers x {self.num_heads} heads"
            + (", norm-based attention" if self.attention_kind == "norm" else "")
            + (f"; spans: {', '.join(f'{k} {v}' for k, v in self.spans.items() if v)}" if self.spans else ""),
        ]
        if self.intervention:
            iv = self.intervention
            heads = " ".join(f"{layer}.{head}" for layer, head in iv.get("heads", []))
            lines.append(_change_line(heads, iv) if "before" in iv and "after" in iv else f"intervention: {iv}")
        if self.truncated:
            lines.append(str(self.truncated.get("message", "")))
        return "\n".join(lines)

    def _title(self) -> str:
        about = f" · aspect {self.aspect}" if self.aspect else ""
        kind = " · norm-based attention" if self.attention_kind == "norm" else ""
        return f"{self.model}{about}: {self.prediction}{kind}"

    def _repr_html_(self) -> str:
        summary = "<br>".join(html.escape(line) for line in self.summary().splitlines())
        return f"<div class='headscope-summary' style='font-family:system-ui'>{summary}</div>" + (
            self.head_view()._repr_html_()
        )


def _change_line(heads: str, intervention: dict[str, Any]) -> str:
    """heads 0.1 zero: negative -> negative (p(negative) 0.893 -> 0.898, +0.005): the label before and after, and how
    the probability of the label predicted before moved."""
    before, after = intervention["before"], intervention["after"]
    label = before["label"]
    was, now = before["probabilities"][label], after["probabilities"][label]
    return (
        f"heads {heads} {intervention.get('mode')}: {label} -> {after['label']} "
        f"(p({label}) {was:.3f} -> {now:.3f}, {now - was:+.3f})"
    )
