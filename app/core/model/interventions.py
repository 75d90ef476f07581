"""Interventions on attention heads: remove, rescale or mean-replace chosen heads' outputs, on hooks.py.

An intervention is causal evidence for a head, where its attention pattern is only correlation: change
what the head writes and see what the prediction does. Every intervention acts at the `head_out(layer)`
points (each head's context before the output projection), through `hooks` only:

  zero    the head's output is 0 at every token (Michel et al.'s ξ_h = 0): it writes only the
          projection's bias share, as if it were pruned
  scale   the head's output times `factor` (1.0 leaves the forward bit for bit)
  mean    the head's output replaced at every token by its mean output over a reference set
          (`mean_head_outputs`): the head keeps its typical contribution but loses what it read
          from this input (mean ablation; zeroing can push the layer off its usual distribution)

This sits in `model/` with the hook mechanism because it is a way of reaching inside any model;
the passes that run it over inputs (app.core.passes.intervention, knockout) build on it. With no
head chosen, or a scale by 1.0, no hook is added at all, so the forward is the plain one, bit for bit.

Forked hooks (`forked_hooks`) run the plain and the intervened model in one forward: the layers up to
the first intervened head's output run once on the input's rows, which are then doubled there (the
first copy plain, the second intervened) and carried on together as one batch.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from app.core.model.errors import InputError
from app.core.model.hooks import HookFn, HookPoint, head_out, hook_points, hooks, scale_heads, zero_heads

MODES = ("zero", "mean", "scale")
Head = tuple[int, int]


@dataclass(frozen=True)
class Intervention:
    """Which heads (layer, head) and what happens to their outputs; `factor` is for scale only."""

    heads: tuple[Head, ...]
    mode: str = "zero"
    factor: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"heads": [list(h) for h in self.heads], "mode": self.mode, "factor": self.factor}


def check_intervention(intervention: Intervention, shape: tuple[int, int], field: str = "intervene") -> None:
    """InputError naming the field and what is accepted when `intervention` does not fit a layers x heads model."""
    layers, heads = shape
    if intervention.mode not in MODES:
        raise InputError(f"mode {intervention.mode!r}: accepted {', '.join(MODES)}", field=f"{field}.mode")
    if intervention.mode == "scale":
        if intervention.factor is None or not math.isfinite(intervention.factor):
            raise InputError(f"factor {intervention.factor!r}: scale needs a finite number", field=f"{field}.factor")
    elif intervention.factor is not None:
        raise InputError(f"factor is for mode scale only, not {intervention.mode}", field=f"{field}.factor")
    if len(intervention.heads) > layers * heads:
        raise InputError(
            f"{len(intervention.heads)} heads given: the model has {layers * heads} ({layers} x {heads})",
            field=f"{field}.heads",
        )
    outside = [list(h) for h in intervention.heads if not (0 <= h[0] < layers and 0 <= h[1] < heads)]
    if outside:
        raise InputError(
            f"heads {outside} do not exist: layers 0..{layers - 1}, heads 0..{heads - 1}", field=f"{field}.heads"
        )
    twice = [list(h) for h, n in Counter(intervention.heads).items() if n > 1]
    if twice:
        raise InputError(f"heads {twice} are given more than once: name each head once", field=f"{field}.heads")


def by_layer(heads: Iterable[Head]) -> dict[int, list[int]]:
    """The heads grouped per layer, each layer's heads sorted."""
    grouped: dict[int, list[int]] = {}
    for layer, head in sorted(heads):
        grouped.setdefault(layer, []).append(head)
    return grouped


def replace_with_means(means: torch.Tensor, heads: Sequence[int]) -> HookFn:
    """The given heads' outputs set to `means[head]` ([heads, head_dim]) at every token of every example."""
    chosen = list(heads)

    def replace(value: torch.Tensor, point: HookPoint) -> torch.Tensor:
        out = value.clone()
        out[:, :, chosen] = means[chosen].to(value.dtype)
        return out

    return replace


def intervention_hooks(
    intervention: Intervention, heads_per_layer: int, means: torch.Tensor | None = None
) -> dict[str, HookFn]:
    """Hook functions by point for `hooks(model, ...)`; none for an empty head list.

    means: [layers, heads, head_dim], the reference mean outputs (mode mean only).
    """
    fns: dict[str, HookFn] = {}
    if intervention.mode == "scale" and intervention.factor == 1.0:
        return fns  # times one changes nothing: no hook, so the forward is the plain one
    for layer, chosen in by_layer(intervention.heads).items():
        if intervention.mode == "zero":
            fns[head_out(layer)] = zero_heads(chosen)
        elif intervention.mode == "scale":
            gate = torch.ones(heads_per_layer)
            gate[chosen] = float(intervention.factor if intervention.factor is not None else 1.0)
            fns[head_out(layer)] = scale_heads(gate)
        else:
            if means is None:
                raise ValueError("mode mean needs the reference mean outputs")
            fns[head_out(layer)] = replace_with_means(means[layer], chosen)
    return fns


def forked_hooks(fns: dict[str, HookFn]) -> dict[str, HookFn]:
    """`intervention_hooks`' functions for one forward of the plain and the intervened model together.

    At the first intervened layer's head outputs the batch's n rows become 2n: rows 0..n-1 as they are
    (the plain model), rows n..2n-1 intervened; each later intervened layer changes rows n.. only. The
    layers before, and that layer's attention pattern, run once. Everything after the fork reads 2n
    rows: the residual stream's n rows broadcast against them and an attention mask of one row does too,
    so fork only one-row inputs. A head that reads the input ids after the encoder (entity-start
    pooling) still sees n rows and returns n logits: callers check the logits' rows.
    """
    forked: dict[str, HookFn] = {}
    for name, fn in fns.items():  # in layer order (by_layer)
        forked[name] = _on_second_half(fn) if forked else _fork(fn)
    return forked


def _fork(fn: HookFn) -> HookFn:
    def fork(value: torch.Tensor, point: HookPoint) -> torch.Tensor:
        changed = fn(value, point)
        return torch.cat([value, value if changed is None else changed])

    return fork


def _on_second_half(fn: HookFn) -> HookFn:
    def second_half(value: torch.Tensor, point: HookPoint) -> torch.Tensor:
        half = value.shape[0] // 2
        changed = fn(value[half:], point)
        return value if changed is None else torch.cat([value[:half], changed])

    return second_half


def ablate_rows(keep: torch.Tensor, fill: torch.Tensor | None) -> HookFn:
    """Per example: heads where keep[example, head] is False get `fill[head]` ([heads, head_dim]; None: 0).

    The knock-out map's one hook per layer: each row of a batch removes its own heads, the others untouched
    (a row that keeps every head is that input's plain forward, up to the batch's floating-point order).
    """

    def ablate(value: torch.Tensor, point: HookPoint) -> torch.Tensor:
        replacement = torch.zeros((), dtype=value.dtype, device=value.device) if fill is None else fill.to(value.dtype)
        return torch.where(keep[:, None, :, None].to(value.device), value, replacement)

    return ablate


@torch.inference_mode()
def mean_head_outputs(model: Any, batches: Iterable[dict[str, torch.Tensor]]) -> torch.Tensor:
    """Each head's mean output over every non-padding token of `batches`: [layers, heads, head_dim].

    Sums in float64 on the model's device (thousands of tokens), one forward per batch, no attention kept.
    """
    points = hook_points(model)
    sums: dict[int, torch.Tensor] = {}
    count = 0
    for batch in batches:
        real = batch["attention_mask"].bool()  # [batch, tokens]
        count += int(real.sum())

        def add(value: torch.Tensor, point: HookPoint, real: torch.Tensor = real) -> None:
            layer = int(point.name.split(".")[1])
            total = value[real].double().sum(0)  # [heads, head_dim]
            sums[layer] = sums[layer] + total if layer in sums else total

        with hooks(model, {head_out(layer): add for layer in range(points.layers)}):
            model(**batch)
    if not count:
        raise ValueError("no tokens to average head outputs over")
    return torch.stack([sums[layer] / count for layer in range(points.layers)]).float()
