"""Which explanation source is more faithful, over the same pairs: paired differences with bootstrap CIs.

Every source is scored on the same pairs, so two sources compare best pair by pair: per pair, the
first source's AOPC minus the second's, its mean over pairs and the 95% percentile bootstrap CI of
that mean (app.core.stats.bootstrap, resampling pairs: a paired bootstrap). Pairs where either source
has no figure (flow beyond its bound: probe.py) are left out, and each difference says how many
pairs it covers.

Compared: every source (and the best head) against the random ranking, and the best head against
every other source. The best head is the one whose attention has the highest mean comprehensiveness
AOPC over these pairs; it is chosen on the same pairs it is then compared on, so its differences are
optimistic (the largest of L x H means; docs/concepts.md says so). Comprehensiveness: higher is more
faithful; sufficiency: lower is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from app.core.stats.bootstrap import bootstrap_ci

PAIRED_FIGURES = ("aopc_comprehensiveness", "aopc_sufficiency")
RANDOM = "random"
HEADS = "attention"  # the per-head source the best head is taken from


@dataclass
class Interval:
    mean: Any  # float, or [L][H]
    low: Any
    high: Any


@dataclass
class PairedDifference:
    """mean(first - second) over the pairs both have, with its 95% paired bootstrap CI."""

    first: str  # a source, or "attention:<layer>.<head>" for the best head
    second: str
    figure: str  # aopc_comprehensiveness or aopc_sufficiency
    pairs: int
    mean: float
    low: float
    high: float
    more_faithful: str | None  # first or second's name where the CI excludes 0, else None


def interval(values: torch.Tensor, bootstrap: int, seed: int) -> Interval:
    """Mean and 95% percentile bootstrap CI over pairs of values [N] or [N, L, H]; a pair whose values are all
    NaN (a source not computed on it) is left out."""
    shaped = values.double().reshape(values.shape[0], -1)
    shaped = shaped[torch.isfinite(shaped).any(1)]
    low, high = bootstrap_ci(shaped.unsqueeze(-1), bootstrap, seed)
    mean = shaped.mean(0)
    view = values.shape[1:]
    as_value = (lambda t: float(t.reshape(-1)[0])) if not view else (lambda t: t.reshape(view).tolist())
    return Interval(as_value(mean), as_value(low.squeeze(-1)), as_value(high.squeeze(-1)))


def best_head(heads: torch.Tensor) -> tuple[int, int] | None:
    """(layer, head) with the highest mean over pairs of heads [N, L, H] (comprehensiveness AOPC)."""
    if heads.shape[0] == 0:
        return None
    means = heads.double().nanmean(0)
    flat = int(means.flatten().nan_to_num(float("-inf")).argmax())
    return divmod(flat, heads.shape[-1])


def difference(
    first: str, second: str, figure: str, values: tuple[torch.Tensor, torch.Tensor], bootstrap: int, seed: int
) -> PairedDifference:
    """The paired difference of two sources' values [N] on one figure, over the pairs both are finite on."""
    both = torch.isfinite(values[0]) & torch.isfinite(values[1])
    delta = (values[0].double() - values[1].double())[both]
    found = interval(delta, bootstrap, seed)
    higher_is_better = figure != "aopc_sufficiency"
    if found.low > 0:
        winner: str | None = first if higher_is_better else second
    elif found.high < 0:
        winner = second if higher_is_better else first
    else:
        winner = None
    return PairedDifference(first, second, figure, int(both.sum()), found.mean, found.low, found.high, winner)


def paired_differences(
    values: Mapping[str, Mapping[str, torch.Tensor]], bootstrap: int, seed: int
) -> list[PairedDifference]:
    """values: figure -> source -> [N] (or [N, L, H] for "attention"), the same N pairs in the same order.

    Each source (the best head first) minus random, then the best head minus each other source."""
    comprehensiveness = values.get(PAIRED_FIGURES[0], {})
    chosen = best_head(comprehensiveness[HEADS]) if HEADS in comprehensiveness else None
    found: list[PairedDifference] = []
    for figure in PAIRED_FIGURES:
        series = {name: v for name, v in values.get(figure, {}).items() if v.dim() == 1}
        head = None
        if chosen is not None:
            head = f"{HEADS}:{chosen[0]}.{chosen[1]}"
            series = {head: values[figure][HEADS][:, chosen[0], chosen[1]], **series}
        if RANDOM in series:
            found += [
                difference(name, RANDOM, figure, (v, series[RANDOM]), bootstrap, seed)
                for name, v in series.items()
                if name != RANDOM
            ]
        if head is not None:
            found += [
                difference(head, name, figure, (series[head], v), bootstrap, seed)
                for name, v in series.items()
                if name not in (head, RANDOM)
            ]
    return found
