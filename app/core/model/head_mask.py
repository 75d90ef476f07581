"""Head masks: gate each attention head's output by a factor, on top of hooks.py.

transformers 5.x dropped the `head_mask` argument of BertForSequenceClassification (BertSelfAttention
no longer takes it, and no attention implementation applies it), so a mask is a `scale_heads` hook at
every layer's head_out point: each head's context (the self-attention output before the output
projection) times mask[layer, head], exactly Michel et al.'s ξ_h gate on a head's output. A mask of
ones multiplies by 1.0 and reproduces the unmasked logits bit for bit; a 0 removes the head. The mask
is [layers, heads] (shared by the batch) or [batch, layers, heads] (one per example), and may require
grad (head importance differentiates the loss by it).

Head importance (app.core.heads) differentiates by this gate; the ablations (heads' `ablate`, the
robustness suite's moved heads) remove heads through the knock-out (app.core.passes.knockout), the same
implementation as the per-input knock-out map. `mask_without` builds their 0 / 1 masks, and drawing the
random heads an ablation compares with is here too, since both draw them the same way.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from app.core.model.hooks import head_out, hook_points, hooks, scale_heads

Batch = dict[str, torch.Tensor]


def mask_shape(model: Any) -> tuple[int, int]:
    """(layers, heads) of a mask for `model`."""
    config = model.config
    return int(config.num_hidden_layers), int(config.num_attention_heads)


@contextlib.contextmanager
def head_mask(model: Any, mask: torch.Tensor | None) -> Iterator[None]:
    """Within the block, every forward of `model` gates each head's output by `mask`.

    mask: [layers, heads] or [batch, layers, heads] (may require grad); None: no hook at all.
    """
    if mask is None:
        yield
        return
    points = hook_points(model)
    if tuple(mask.shape[-2:]) != (points.layers, points.heads):
        raise ValueError(f"head mask of {points.layers} x {points.heads} heads wanted, got {tuple(mask.shape)}")
    with hooks(model, {head_out(layer): scale_heads(mask[..., layer, :]) for layer in range(points.layers)}):
        yield


def masked_logits(model: Any, batch: Batch, mask: torch.Tensor | None) -> torch.Tensor:
    """The model's logits on `batch` with `mask` applied (None: the plain forward)."""
    with head_mask(model, mask):
        return model(**batch).logits


def mask_without(shape: tuple[int, int], heads: Sequence[tuple[int, int]]) -> torch.Tensor:
    """A [layers, heads] mask of ones with zeros at `heads`."""
    mask = torch.ones(shape)
    for layer, head in heads:
        mask[layer, head] = 0.0
    return mask


def random_heads(
    shape: tuple[int, int], count: int, exclude: Sequence[tuple[int, int]], rng: random.Random
) -> list[tuple[int, int]]:
    """`count` distinct heads drawn uniformly among those not in `exclude` (sorted)."""
    excluded = {tuple(h) for h in exclude}
    pool = [(l, h) for l in range(shape[0]) for h in range(shape[1]) if (l, h) not in excluded]
    if count > len(pool):
        raise ValueError(f"cannot draw {count} random heads from {len(pool)} others")
    return sorted(rng.sample(pool, count))
