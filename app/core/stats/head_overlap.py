"""How far sets of heads found in several runs (e.g. one per seed) agree, against what random sets would share.

Shared by the head roles across seeds (app.core.heads.seed_stability: the heads given a label) and the moved heads
across seeds (app.core.robustness.seed_moved: each test's top moved heads). For sets A_1..A_n of (layer, head):

* per head, the number k of sets that hold it (its stability, k of n);
* for every pair of sets the Jaccard overlap |A ∩ B| / |A ∪ B| (None when both are empty: nothing to compare),
  and its chance reference: the expected Jaccard of two head sets of the same sizes drawn uniformly at random among
  the layers × heads of the model, i.e. E[K / (|A| + |B| - K)] with K ~ Hypergeometric(N = layers × heads, |A|, |B|)
  (the overlap of a fixed |A|-set with a random |B|-set);
* the means of both over the pairs that have a value, and the number of heads one would expect in every set by
  chance (N × Π |A_i| / N), beside the number found.

Pure functions over plain lists: no model, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import combinations

from scipy.stats import hypergeom

CHANCE_DEFINITION = (
    "expected Jaccard of two head sets of the same sizes drawn uniformly at random among layers × heads: "
    "E[K / (a + b - K)], K ~ Hypergeometric(layers × heads, a, b)"
)

Head = tuple[int, int]


@dataclass
class PairOverlap:
    seeds: tuple[int, int]
    sizes: tuple[int, int]  # heads in each set
    shared: int  # heads in both
    jaccard: float | None  # None: both sets empty
    chance: float | None


@dataclass
class HeadSetsOverlap:
    heads: list[list[list[int]]]  # per set (in the given order): [[layer, head], ...]
    counts: list[list[int]]  # [layer][head]: in how many sets the head is
    pairs: list[PairOverlap]
    mean_jaccard: float | None
    mean_chance: float | None
    in_all: list[list[int]]  # heads in every set
    in_all_by_chance: float  # heads expected in every set if each set were random of its size
    stable: list[list[int]] = field(default_factory=list)  # [layer, head, k] for k >= 2, most sets first


def jaccard(a: set[Head], b: set[Head]) -> float | None:
    union = len(a | b)
    return len(a & b) / union if union else None


@cache
def chance_jaccard(size_a: int, size_b: int, total: int) -> float | None:
    """Expected Jaccard of a fixed size_a-set and a uniformly random size_b-set among `total` items."""
    if not 0 <= size_a <= total or not 0 <= size_b <= total:
        raise ValueError(f"set sizes {size_a}, {size_b} must lie in 0..{total}")
    if size_a + size_b == 0:
        return None
    low, high = max(0, size_a + size_b - total), min(size_a, size_b)
    return float(sum(hypergeom.pmf(k, total, size_a, size_b) * k / (size_a + size_b - k) for k in range(low, high + 1)))


def head_set(heads: Sequence[Sequence[int]]) -> set[Head]:
    return {(int(h[0]), int(h[1])) for h in heads}


def head_sets_overlap(seeds: Sequence[int], sets: Sequence[set[Head]], layers: int, heads: int) -> HeadSetsOverlap:
    """The agreement of `sets` (one per seed, in the order of `seeds`) among a model's layers × heads."""
    counts = [[sum((layer, head) in s for s in sets) for head in range(heads)] for layer in range(layers)]
    total = layers * heads
    pairs = [
        PairOverlap(
            seeds=(seeds[i], seeds[j]),
            sizes=(len(sets[i]), len(sets[j])),
            shared=len(sets[i] & sets[j]),
            jaccard=jaccard(sets[i], sets[j]),
            chance=chance_jaccard(len(sets[i]), len(sets[j]), total),
        )
        for i, j in combinations(range(len(sets)), 2)
    ]
    in_all_by_chance = float(total)
    for s in sets:
        in_all_by_chance *= len(s) / total
    stable = sorted(
        ([layer, head, k] for layer, row in enumerate(counts) for head, k in enumerate(row) if k >= 2),
        key=lambda entry: (-entry[2], entry[0], entry[1]),
    )
    return HeadSetsOverlap(
        heads=[sorted([list(h) for h in s]) for s in sets],
        counts=counts,
        pairs=pairs,
        mean_jaccard=_mean([p.jaccard for p in pairs]),
        mean_chance=_mean([p.chance for p in pairs if p.jaccard is not None]),
        in_all=[[layer, head] for layer, head, k in stable if k == len(sets)],
        in_all_by_chance=in_all_by_chance,
        stable=stable,
    )


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None
