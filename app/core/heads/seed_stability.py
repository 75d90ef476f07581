"""Head roles across seeds: do the same heads carry a label when the recipe is fine-tuned with another seed?

Input: each seed's `labelled` section of its analysis (label -> [[layer, head], ...], app.core.heads.sections).
Per label:

* the heads of each seed, and per head the number k of seeds that labelled it (its stability, k of n);
* for every pair of seeds the Jaccard overlap |A ∩ B| / |A ∪ B| of their head sets (None when both are
  empty: nothing to compare), and its chance reference: the expected Jaccard of two head sets of the same
  sizes drawn uniformly at random among the layers × heads of the model, i.e. E[K / (|A| + |B| - K)] with
  K ~ Hypergeometric(N = layers × heads, |A|, |B|) (the overlap of a fixed |A|-set with a random |B|-set);
* the means of both over the pairs that have a value, and the number of heads one would expect in every
  seed by chance (N × Π |A_i| / N), beside the number found.

Pure functions over plain lists: no model, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import combinations
from typing import Any

from scipy.stats import hypergeom

from app.core.heads.labels import LABEL_STATISTICS
from app.core.stats.rounding import to_json

CHANCE_DEFINITION = (
    "expected Jaccard of two head sets of the same sizes drawn uniformly at random among layers × heads: "
    "E[K / (a + b - K)], K ~ Hypergeometric(layers × heads, a, b)"
)

Head = tuple[int, int]


@dataclass(frozen=True)
class SeedLabels:
    """One member of a seed group: its seed, checkpoint id and labelled heads (label -> [[layer, head], ...])."""

    seed: int
    model: str
    labelled: Mapping[str, Sequence[Sequence[int]]]


@dataclass
class PairOverlap:
    seeds: tuple[int, int]
    sizes: tuple[int, int]  # heads with the label in each seed
    shared: int  # heads with the label in both
    jaccard: float | None  # None: neither seed labelled any head
    chance: float | None


@dataclass
class LabelStability:
    label: str
    heads: list[list[list[int]]]  # per seed (in the group's order): [[layer, head], ...]
    counts: list[list[int]]  # [layer][head]: in how many seeds the head has the label
    pairs: list[PairOverlap]
    mean_jaccard: float | None
    mean_chance: float | None
    in_all: list[list[int]]  # heads labelled in every seed
    in_all_by_chance: float  # heads expected in every seed if each seed's set were random of its size
    stable: list[list[int]] = field(default_factory=list)  # [layer, head, k] for k >= 2, most seeds first


@dataclass
class SeedStability:
    seeds: list[int]
    models: list[str]
    layers: int
    heads: int
    labels: list[LabelStability]
    chance: str = CHANCE_DEFINITION

    def to_json(self) -> dict:
        return to_json(self)


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


def label_stability(label: str, members: Sequence[SeedLabels], layers: int, heads: int) -> LabelStability:
    """One label across the members of a group (see the module docstring)."""
    sets = [head_set(m.labelled.get(label, ())) for m in members]
    counts = [[sum((layer, head) in s for s in sets) for head in range(heads)] for layer in range(layers)]
    total = layers * heads
    pairs = [
        PairOverlap(
            seeds=(members[i].seed, members[j].seed),
            sizes=(len(sets[i]), len(sets[j])),
            shared=len(sets[i] & sets[j]),
            jaccard=jaccard(sets[i], sets[j]),
            chance=chance_jaccard(len(sets[i]), len(sets[j]), total),
        )
        for i, j in combinations(range(len(members)), 2)
    ]
    n = len(members)
    in_all_by_chance = float(total)
    for s in sets:
        in_all_by_chance *= len(s) / total
    stable = sorted(
        ([layer, head, k] for layer, row in enumerate(counts) for head, k in enumerate(row) if k >= 2),
        key=lambda entry: (-entry[2], entry[0], entry[1]),
    )
    return LabelStability(
        label=label,
        heads=[sorted([list(h) for h in s]) for s in sets],
        counts=counts,
        pairs=pairs,
        mean_jaccard=_mean([p.jaccard for p in pairs]),
        mean_chance=_mean([p.chance for p in pairs if p.jaccard is not None]),
        in_all=[[layer, head] for layer, head, k in stable if k == n],
        in_all_by_chance=in_all_by_chance,
        stable=stable,
    )


def seed_stability(members: Sequence[SeedLabels], layers: int, heads: int) -> SeedStability:
    """Every label some seed assigned, in the labelling rule's order (labels of no seed are left out)."""
    if len(members) < 2:
        raise ValueError("a comparison across seeds needs two or more seeds")
    found = {label for m in members for label, hs in m.labelled.items() if hs}
    order = [label for label in LABEL_STATISTICS if label in found] + sorted(found - LABEL_STATISTICS.keys())
    return SeedStability(
        seeds=[m.seed for m in members],
        models=[m.model for m in members],
        layers=layers,
        heads=heads,
        labels=[label_stability(label, members, layers, heads) for label in order],
    )


def group_result(label: str, name: str, seeds: Sequence[int], analyses: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The seed-group result (CLI and web): the group, each member's data summary and labelled heads (and its
    analysis id when the web ran it), and the comparison. `analyses`: each seed's analysis result JSON."""
    shapes = {(a["model"]["num_layers"], a["model"]["num_heads"]) for a in analyses}
    if len(shapes) != 1:
        raise ValueError(f"{label}: the seeds' checkpoints differ in shape (layers, heads): {sorted(shapes)}")
    layers, heads = shapes.pop()
    members = [SeedLabels(seed, a["model"]["id"], a["labelled"]) for seed, a in zip(seeds, analyses, strict=True)]
    return {
        "group": label,
        "name": name,
        "members": [
            {
                "seed": seed,
                "model": a["model"]["id"],
                "analysis_id": a.get("analysis_id"),
                "data": a["data"],
                "labelled": a["labelled"],
            }
            for seed, a in zip(seeds, analyses, strict=True)
        ],
        "stability": seed_stability(members, layers, heads).to_json(),
    }


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None
