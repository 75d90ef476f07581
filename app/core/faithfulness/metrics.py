"""Comprehensiveness, sufficiency, AOPC and a normalised AOPC (DeYoung et al. 2020; Edin et al. 2024).

For one input, a target label with probability p(x) on the whole input, a ranking of its erasable
tokens (erasure.py) and k% of them (n_k = ceil(k / 100 * erasable tokens), at least 1):

* comprehensiveness_k = p(x) - p(x without its n_k top-ranked tokens): high when they were needed;
* sufficiency_k       = p(x) - p(x with only its n_k top-ranked tokens of the erasable ones): low
  when they are enough (the tokens that are never erased stay in both);
* AOPC (ERASER's area over the perturbation curve): each of them averaged over the k bins.

Raw AOPC depends on the model and the input as much as on the ranking (Edin et al. 2024,
"Normalized AOPC"), so it is normalised between the worst and the best AOPC reachable on that
input: (AOPC - lower) / (upper - lower) for comprehensiveness, (upper - AOPC) / (upper - lower) for
sufficiency, so 1 is the most faithful for both. Edin et al. find the bounds by a beam search over
orderings; here they are approximated by the best and worst AOPC among every ranking evaluated on
the input, including the leave-one-out (occlusion) ranking and its reverse (`bounds`): cheap (one
row per erasable token), never outside [0, 1], and tighter than the true bounds (so it can overstate
how close a ranking is to the best; docs/concepts.md says so). NaN when the bounds coincide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

K_PERCENTS = (1.0, 5.0, 10.0, 20.0, 50.0)
METRICS = ("comprehensiveness", "sufficiency")


def token_counts(percents: Sequence[float], erasable: int) -> list[int]:
    """n_k per k%: ceil(k / 100 * erasable), at least 1 and at most `erasable` (0 when nothing is erasable)."""
    if erasable == 0:
        return [0 for _ in percents]
    return [min(erasable, max(1, math.ceil(k / 100 * erasable - 1e-9))) for k in percents]


def top_sets(scores: torch.Tensor, erasable: torch.Tensor, counts: Sequence[int]) -> torch.Tensor:
    """bool [S, K, T]: the n_k top-ranked erasable tokens of each ranking scores [S, T] (ties to the earlier token)."""
    filled = scores.float().masked_fill(~erasable, float("-inf"))
    order = filled.sort(dim=-1, descending=True, stable=True).indices  # [S, T]
    rank = torch.empty_like(order).scatter_(-1, order, torch.arange(order.shape[-1]).expand_as(order))
    limits = torch.tensor(list(counts)).view(1, -1, 1)
    return (rank.unsqueeze(1) < limits) & erasable.view(1, 1, -1)


def erasures(top: torch.Tensor, erasable: torch.Tensor) -> torch.Tensor:
    """bool [S, K, 2, T]: what comprehensiveness erases (the top set) and sufficiency erases (the rest)."""
    return torch.stack([top, erasable.view(1, 1, -1) & ~top], dim=2)


def scores_from_probabilities(full: float, erased: torch.Tensor) -> dict[str, torch.Tensor]:
    """metric -> [S, K]: p(x) - p(erased) from the erased inputs' probabilities [S, K, 2]."""
    drop = full - erased.double()
    return {"comprehensiveness": drop[..., 0], "sufficiency": drop[..., 1]}


def aopc(per_k: torch.Tensor) -> torch.Tensor:
    """[...]: the mean over the k bins (last dimension)."""
    return per_k.mean(-1)


def bounds(aopcs: dict[str, torch.Tensor]) -> dict[str, tuple[float, float]]:
    """metric -> (lowest, highest) AOPC over every ranking evaluated on the input (values [S])."""
    return {name: (float(values.min()), float(values.max())) for name, values in aopcs.items()}


def normalised(aopcs: dict[str, torch.Tensor], limits: dict[str, tuple[float, float]]) -> dict[str, torch.Tensor]:
    """metric -> [S]: AOPC scaled to [0, 1] between the bounds, 1 the most faithful (NaN if they coincide)."""
    found = {}
    for name, values in aopcs.items():
        low, high = limits[name]
        span = high - low
        if span <= 0:
            found[name] = torch.full_like(values, float("nan"))
            continue
        scaled = (values - low) / span
        found[name] = scaled if name == "comprehensiveness" else 1 - scaled
    return found
