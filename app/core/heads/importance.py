"""Head importance and head ablation (Michel et al. 2019, "Are Sixteen Heads Really Better than One?").

The head mask ξ (one gate per head's output, [layers, heads] or [batch, layers, heads]) is
app.core.model.head_mask: a hook that scales each head's context before the output projection.

Importance. I_h = Σ_x |∂L(x)/∂ξ_h| at ξ = 1, L the cross-entropy of the gold label, accumulated
over every example (per example, not per batch: the mask gets a batch dimension, so one backward
pass of the summed loss yields each example's own gradient), divided by the number of examples,
then normalised per layer by its L2 norm (as in Michel et al.'s code), so each layer's row has
norm 1 and scores compare heads within a layer.

Ablation. Accuracy on the gold labels with no mask, with the given heads knocked out (ξ = 0, through the
knock-out the per-input map uses, app.core.passes.knockout.knocked_logits), and with
the same number of heads drawn at random (seeded, several draws) among the other heads — among all
heads when fewer other heads than that are left; the drop is unmasked minus masked accuracy.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from functools import partial
from typing import Any

import torch

from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.head_mask import Batch, mask_shape, mask_without, masked_logits, random_heads
from app.core.passes.attention_pass import Runner, run_here
from app.core.passes.knockout import knocked_logits, knockout_keep


def _labels_on(labels: torch.Tensor | Sequence[int], device: torch.device) -> torch.Tensor:
    return torch.as_tensor(labels, dtype=torch.long, device=device)


def head_importance(
    loaded: LoadedCheckpoint,
    batches: Sequence[Batch],
    labels: Sequence[torch.Tensor | Sequence[int]],
    normalise: bool = True,
    runner: Runner | None = None,
) -> torch.Tensor:
    """[layers, heads] importance (Michel et al. 2019), per-layer L2-normalised; on the CPU, float32.

    batches: model inputs (pad_batch dicts, on the model's device); labels: the gold label
    indices of each batch (same order and lengths).
    """
    model = loaded.model
    layers, heads = mask_shape(model)
    device = loaded.device
    total = torch.zeros(layers, heads, dtype=torch.float64)
    examples = 0
    was_training = model.training
    model.eval()
    run = runner or run_here

    def one(batch: Batch, gold: torch.Tensor | Sequence[int]) -> tuple[torch.Tensor, int]:
        # grad mode is per thread: set it where the work runs
        with torch.inference_mode(False), torch.enable_grad():
            gold = _labels_on(gold, device)
            size = gold.shape[0]
            mask = torch.ones(size, layers, heads, device=device, dtype=torch.float32, requires_grad=True)
            logits = masked_logits(model, batch, mask)
            loss = torch.nn.functional.cross_entropy(logits.float(), gold, reduction="sum")
            (grad,) = torch.autograd.grad(loss, mask)
            return grad.abs().sum(dim=0).double().cpu(), size

    try:
        for batch, gold in zip(batches, labels, strict=True):
            grads, size = run(partial(one, batch, gold))
            total += grads
            examples += size
    finally:
        model.train(was_training)
    if examples == 0:
        raise ValueError("head importance needs at least one labelled example")
    scores = (total / examples).float()
    if normalise:
        scores = scores / (scores.norm(p=2, dim=-1, keepdim=True) + 1e-20)
    return scores


def accuracy(
    loaded: LoadedCheckpoint,
    batches: Sequence[Batch],
    labels: Sequence[torch.Tensor | Sequence[int]],
    mask: torch.Tensor | None = None,
    runner: Runner | None = None,
) -> float:
    """Share of examples whose argmax logit is the gold label, with the heads `mask` ([layers, heads] of 0 / 1)
    zeroes knocked out (the per-input knock-out map's implementation, app.core.passes.knockout)."""
    correct = total = 0
    keep = torch.ones(1, *mask_shape(loaded.model), dtype=torch.bool) if mask is None else knockout_keep(mask)
    run = runner or run_here

    def one(batch: Batch, gold: torch.Tensor | Sequence[int]) -> tuple[int, int]:
        gold = _labels_on(gold, torch.device("cpu"))
        predicted = knocked_logits(loaded, batch, keep)[0].argmax(dim=-1)
        return int((predicted == gold).sum()), gold.shape[0]

    for batch, gold in zip(batches, labels, strict=True):
        hits, size = run(partial(one, batch, gold))
        correct += hits
        total += size
    if total == 0:
        raise ValueError("accuracy needs at least one labelled example")
    return correct / total


def ablate(
    loaded: LoadedCheckpoint,
    batches: Sequence[Batch],
    labels: Sequence[torch.Tensor | Sequence[int]],
    heads: Sequence[tuple[int, int]],
    random_draws: int = 5,
    seed: int = 0,
    runner: Runner | None = None,
) -> dict[str, Any]:
    """Accuracy unmasked, with `heads` masked, and with as many random other heads masked (seeded draws).

    Keys: heads, accuracy (no mask), masked, drop (accuracy - masked), random {mean, draws
    [accuracy per draw], heads [the heads of each draw]}, random_drop (accuracy - random mean),
    examples, draws, seed, random_from.
    """
    heads = sorted({(int(l), int(h)) for l, h in heads})
    if not heads:
        raise ValueError("ablation needs at least one head to mask")
    shape = mask_shape(loaded.model)
    for layer, head in heads:
        if not (0 <= layer < shape[0] and 0 <= head < shape[1]):
            raise ValueError(f"head {layer}.{head} outside the model's {shape[0]} x {shape[1]} heads")
    base = accuracy(loaded, batches, labels, runner=runner)
    masked = accuracy(loaded, batches, labels, mask_without(shape, heads), runner=runner)
    rng = random.Random(seed)
    others = shape[0] * shape[1] - len(heads)
    exclude = heads if others >= len(heads) else []
    random_from = (
        "heads other than the masked ones, uniformly, without replacement"
        if exclude
        else f"all {shape[0] * shape[1]} heads, uniformly, without replacement (only {others} heads are not "
        f"among the {len(heads)} masked ones)"
    )
    draws, drawn = [], []
    for _ in range(random_draws):
        chosen = random_heads(shape, len(heads), exclude, rng)
        drawn.append([list(h) for h in chosen])
        draws.append(accuracy(loaded, batches, labels, mask_without(shape, chosen), runner=runner))
    mean = sum(draws) / len(draws) if draws else None
    return {
        "heads": [list(h) for h in heads],
        "accuracy": base,
        "masked": masked,
        "drop": base - masked,
        "random": {"mean": mean, "draws": draws, "heads": drawn},
        "random_drop": None if mean is None else base - mean,
        "examples": sum(len(g) for g in labels),
        "draws": random_draws,
        "seed": seed,
        "random_from": random_from,
    }
