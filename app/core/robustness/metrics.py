"""Per-test robustness figures with 95% bootstrap intervals, and the heads whose change separates broken from held
pairs.

Definitions (per test; a variant's gold label is its own, e.g. flipped by RevTgt):
* source / variant accuracy: share predicted right, over the sources that have a variant in the
  test / over those variants;
* flip rate: share of variants whose prediction differs from their source's prediction;
* flips: where the changed predictions go (source prediction -> variant prediction -> count);
* broken / held: of the variants whose source is predicted right, those predicted wrong / right;
* aspect robustness score (ARS, ABSA; Xing et al. 2020): share of sources predicted right on the
  source and on every one of its variants in the test;
* kept source label (tests that change the gold label: RevTgt, counterfactuals): share of variants
  still given the source's gold label — DiagnoseRE's Q3 figure;
* debiased accuracy (bias probes): accuracy on the sources whose variant (e.g. the entities alone)
  the model gets wrong — what the model knows beyond the shortcut;
* heads that moved: per query set and head, the mean change (moved.py) on broken and on held pairs,
  and their difference with a stratified bootstrap CI; the top heads by the difference's lower bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from app.core.stats.bootstrap import bootstrap_ci, bootstrap_difference_ci


@dataclass
class Rate:
    value: float | None
    ci: tuple[float | None, float | None]
    n: int


@dataclass
class HeadChange:
    """Mean [L, H] change over a set of pairs, with its 95% CI."""

    mean: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor
    n: int


@dataclass
class MovedHeads:
    broken: HeadChange
    held: HeadChange
    separation: HeadChange  # broken - held
    top: list[dict]  # [{layer, head, separation, ci}] best lower bound first


def rate(flags: Sequence[bool], bootstrap: int, seed: int) -> Rate:
    if not flags:
        return Rate(None, (None, None), 0)
    values = torch.tensor([float(f) for f in flags])
    low, high = bootstrap_ci(values, bootstrap, seed)
    return Rate(float(values.mean()), (float(low), float(high)), len(flags))


def head_change(rows: Sequence[torch.Tensor], bootstrap: int, seed: int) -> HeadChange | None:
    values = torch.stack(list(rows)) if rows else None
    if values is None:
        return None
    values = values[~torch.isnan(values).flatten(1).any(1)]
    if values.shape[0] == 0:
        return None
    low, high = bootstrap_ci(values, bootstrap, seed)
    return HeadChange(values.mean(0), low, high, values.shape[0])


def moved_heads(
    broken: Sequence[torch.Tensor], held: Sequence[torch.Tensor], bootstrap: int, seed: int, top: int = 5
) -> MovedHeads | None:
    """The change on broken vs held pairs, per head; None unless both groups have pairs."""
    first, second = head_change(broken, bootstrap, seed), head_change(held, bootstrap, seed)
    if first is None or second is None:
        return None
    broken_rows = torch.stack([r for r in broken if not torch.isnan(r).any()])
    held_rows = torch.stack([r for r in held if not torch.isnan(r).any()])
    low, high = bootstrap_difference_ci(broken_rows, held_rows, bootstrap, seed)
    separation = HeadChange(first.mean - second.mean, low, high, first.n + second.n)
    heads = separation.mean.shape[1]
    order = torch.nan_to_num(low, nan=float("-inf")).flatten().argsort(descending=True)[:top].tolist()
    ranked = [
        {
            "layer": i // heads,
            "head": i % heads,
            "separation": float(separation.mean.flatten()[i]),
            "ci": [float(low.flatten()[i]), float(high.flatten()[i])],
        }
        for i in order
    ]
    return MovedHeads(first, second, separation, ranked)


def flip_table(pairs: Sequence[tuple[int, int]], labels: Sequence[str]) -> dict[str, dict[str, int]]:
    """source prediction -> variant prediction -> count, for the pairs whose prediction changed."""
    table: dict[str, dict[str, int]] = {}
    for before, after in pairs:
        if before != after:
            row = table.setdefault(labels[before], {})
            row[labels[after]] = row.get(labels[after], 0) + 1
    return table
