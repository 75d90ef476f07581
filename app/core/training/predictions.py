"""Predictions of a classifier for encoded inputs, batched in length order (less padding) and returned in
the inputs' order: the trainer's dev metrics, recipes' evaluation and RoAST's checks use them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch

from app.core.inputs.batching import length_sorted_batches
from app.core.inputs.encoding import LabelledInput

RowValue = TypeVar("RowValue")


@torch.inference_mode()
def _in_length_order(
    model: Any,
    examples: Sequence[LabelledInput],
    pad_id: int,
    device: torch.device,
    batch_size: int,
    read: Callable[[torch.Tensor], list[RowValue]],
) -> list[RowValue]:
    """`read(logits)` per batch of examples sorted by length; its values put back in the examples' order."""
    model.eval()
    by_index: dict[int, RowValue] = {}
    for positions, batch in length_sorted_batches([e.encoded for e in examples], batch_size, pad_id, device):
        for i, value in zip(positions, read(model(**batch).logits)):
            by_index[i] = value
    return [by_index[i] for i in range(len(examples))]


def predict_labels(
    model: Any, examples: Sequence[LabelledInput], pad_id: int, device: torch.device, batch_size: int = 64
) -> list[int]:
    """The argmax label index per example."""
    return _in_length_order(model, examples, pad_id, device, batch_size, lambda logits: logits.argmax(-1).tolist())


def predict_probabilities(
    model: Any, examples: Sequence[LabelledInput], pad_id: int, device: torch.device, batch_size: int = 64
) -> list[list[float]]:
    """Softmax probabilities per example."""
    return _in_length_order(
        model, examples, pad_id, device, batch_size, lambda logits: logits.float().softmax(-1).cpu().tolist()
    )
