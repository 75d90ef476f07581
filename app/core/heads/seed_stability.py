"""Head roles across seeds: do the same heads carry a label when the recipe is fine-tuned with another seed?

Input: each seed's `labelled` section of its analysis (label -> [[layer, head], ...], app.core.heads.sections).
Per label, the agreement of the seeds' head sets (app.core.stats.head_overlap): the heads of each seed, per head
the number k of seeds that labelled it (its stability, k of n), for every pair of seeds the Jaccard overlap and
its chance reference (two random head sets of the same sizes), their means, and the number of heads in every seed
against the number expected by chance.

Pure functions over plain lists: no model, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.core.heads.labels import LABEL_STATISTICS
from app.core.stats.head_overlap import CHANCE_DEFINITION, HeadSetsOverlap, head_set, head_sets_overlap
from app.core.stats.rounding import to_json

# the format of `group_result`'s JSON: in a seed-group job's cache key (from 2 on), so a group asked for again is
# compared again (from its members' stored results) rather than served in an older format; one reopened by its id
# (the history, a shared link) is read as stored, so a change the result's schema would refuse needs an upgrade too
GROUP_RESULT_VERSION = 1


@dataclass(frozen=True)
class SeedLabels:
    """One member of a seed group: its seed, checkpoint id and labelled heads (label -> [[layer, head], ...])."""

    seed: int
    model: str
    labelled: Mapping[str, Sequence[Sequence[int]]]


@dataclass(kw_only=True)
class LabelStability(HeadSetsOverlap):
    """One label's heads per seed and their agreement: the fields every comparison of head sets across seeds has
    (app.core.stats.head_overlap; the moved heads across seeds have the same), named by the label."""

    label: str


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


def label_stability(label: str, members: Sequence[SeedLabels], layers: int, heads: int) -> LabelStability:
    """One label across the members of a group (see the module docstring)."""
    sets = [head_set(m.labelled.get(label, ())) for m in members]
    return LabelStability(label=label, **vars(head_sets_overlap([m.seed for m in members], sets, layers, heads)))


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
