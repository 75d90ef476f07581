"""bertviz's inputs both ways: a result's attention as bertviz takes it, and bertviz-style inputs in headscope's view.

bertviz's `head_view(attention, tokens, sentence_b_start=None)` takes a tuple with one [batch, heads, tokens,
tokens] tensor per layer (what a transformers model returns with output_attentions=True) and the token
strings. bertviz itself is not needed for either direction.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from headscope.views import HTMLView, head_view, model_view

SPECIAL = frozenset({"[CLS]", "[SEP]", "[PAD]", "<s>", "</s>", "<pad>", "[MASK]"})


def to_bertviz(attention: np.ndarray, tokens: Sequence[str]) -> tuple[tuple[Any, ...], list[str]]:
    """([1, heads, tokens, tokens] tensor per layer, tokens) from a [layers, heads, tokens, tokens] array."""
    import torch

    layers = torch.from_numpy(np.ascontiguousarray(attention, dtype=np.float32))
    return tuple(layer.unsqueeze(0) for layer in layers), list(tokens)


class BertvizView:
    """bertviz-style inputs shown by headscope's head view and model view (offline, no bertviz needed)."""

    def __init__(self, attention: np.ndarray, tokens: list[str], snapshot: dict[str, Any], title: str) -> None:
        self.attention, self.tokens, self.snapshot, self.title = attention, tokens, snapshot, title

    def head_view(self, layer: int | None = None, heads: list[int] | None = None) -> HTMLView:
        return head_view(self.snapshot, self.title, layer=layer, heads=heads)

    def model_view(self, heatmap: bool = True) -> HTMLView:
        return model_view(self.snapshot, self.title, heatmap=heatmap)

    def save_html(self, path: Any) -> Any:
        return self.head_view().save_html(path)

    def _repr_html_(self) -> str:
        return self.head_view()._repr_html_()

    def __repr__(self) -> str:
        layers, heads = self.attention.shape[:2]
        return f"<headscope view: {self.title}, {layers} layers x {heads} heads, {len(self.tokens)} tokens>"


def from_bertviz(
    attention: Any, tokens: Sequence[str], sentence_b_start: int | None = None, title: str = "attention"
) -> BertvizView:
    """Read bertviz's inputs (a tuple/list of [1, heads, T, T] tensors per layer, or one [layers, heads, T, T]
    array) into headscope's view. sentence_b_start: the index of the first token of sentence B (bertviz's
    own argument), which colours the two segments as the pages do."""
    array = _as_array(attention)
    if array.ndim != 4 or array.shape[2] != array.shape[3]:
        raise ValueError(f"attention: expected [layers, heads, T, T] or layers of [1, heads, T, T], got {array.shape}")
    if array.shape[2] != len(tokens):
        raise ValueError(f"attention covers {array.shape[2]} tokens but {len(tokens)} tokens were given")
    return BertvizView(array, list(tokens), _snapshot(array, list(tokens), sentence_b_start), title)


def _as_array(attention: Any) -> np.ndarray:
    if isinstance(attention, (tuple, list)):
        layers = [_numpy(layer) for layer in attention]
        if any(layer.ndim != 4 or layer.shape[0] != 1 for layer in layers):
            raise ValueError("attention: each layer must be a [1, heads, tokens, tokens] tensor (a batch of one)")
        return np.stack([layer[0] for layer in layers])
    return _numpy(attention)


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().float().cpu().numpy()
    return np.asarray(value, dtype=np.float32)


def _snapshot(array: np.ndarray, tokens: list[str], sentence_b_start: int | None) -> dict[str, Any]:
    """The compact /api/inspect answer the views draw, shaped by the server's own payload."""
    import torch

    from app.core.inputs.encoding import EncodedInput, Token
    from app.core.model.checkpoint import CheckpointInfo, LoadedCheckpoint
    from app.core.passes.inspection import Inspection, Prediction
    from app.web.inspect_service import InspectService
    from app.web.request_bodies import InspectRequest
    from headscope.loading import OneCheckpoint

    layers, heads = int(array.shape[0]), int(array.shape[1])
    info = CheckpointInfo("bertviz", Path("."), "bertviz", "bertviz", (), layers, heads, len(tokens), "unknown")
    segment = [("b" if sentence_b_start is not None and i >= sentence_b_start else "a") for i in range(len(tokens))]
    encoded = EncodedInput(
        input_ids=list(range(len(tokens))),
        token_type_ids=None,
        tokens=[Token(t, 0, 0, segment[i], t in SPECIAL, False, i) for i, t in enumerate(tokens)],
        segments={},
    )
    inspection = Inspection("bertviz", encoded, Prediction("", {}), torch.from_numpy(array))
    registry = OneCheckpoint(LoadedCheckpoint(info, None, None, torch.device("cpu")))
    return InspectService(registry, cache_size=0).payload(inspection, InspectRequest(text="bertviz"))
