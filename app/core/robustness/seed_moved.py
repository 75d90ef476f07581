"""The heads that moved, across seeds: does each robustness test move the same heads when the recipe is fine-tuned
with another seed?

Input: each seed's robustness result JSON (the same data, tests and settings). A seed's moved heads for a test and
query set are the heads its report ranks at the top (`top_heads`, by the lower 95% CI bound of the separation:
the change on broken pairs minus the change on held pairs, app.core.robustness.metrics), kept only when that lower
bound is above 0 — a head ranked among the top five whose interval includes 0 did not move more on the broken
pairs. Per test and query set, the seeds' sets are compared by app.core.stats.head_overlap (pairwise Jaccard
against the chance Jaccard of random sets of the same sizes, k of n per head, heads in every seed against chance).
A seed whose test ranked no head (no broken or no held pair) contributes an empty set and is listed as unranked.

Pure functions over plain dicts: no model, no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.robustness.moved import QUERY_SETS
from app.core.stats.head_overlap import CHANCE_DEFINITION, Head, HeadSetsOverlap, head_sets_overlap
from app.core.stats.rounding import to_json
from app.core.stats.seed_spread import spread

MOVED_RULE = (
    "a seed's moved heads for a test: its top heads by the lower 95% CI bound of the separation (mean change on "
    "broken pairs - on held pairs), kept when that bound is above 0"
)
# the format of `group_moved_result`'s JSON, in the robustness seed-group job's cache key (as seed_stability's)
GROUP_MOVED_VERSION = 1
_SPREAD_RATES = ("source_accuracy", "variant_accuracy", "flip_rate")
_SUMMARY_KEYS = ("sources", "variants", "source_accuracy", "variant_accuracy", "flip_rate", "broken", "held")


@dataclass(kw_only=True)
class TestMovedAcrossSeeds(HeadSetsOverlap):
    """One test and query set: each seed's moved heads and their agreement, in the fields every comparison of head
    sets across seeds has (app.core.stats.head_overlap; the head roles across seeds have the same)."""

    test: str
    query_set: str  # "focus" (aspect / entity rows) or "cls"
    broken_held: list[list[int]]  # per seed: [broken pairs, held pairs]
    unranked: list[int]  # seeds whose test ranked no head (no broken or no held pair)


@dataclass
class MovedAcrossSeeds:
    seeds: list[int]
    models: list[str]
    layers: int
    heads: int
    top_heads: int
    tests: list[TestMovedAcrossSeeds]
    not_in_every_seed: list[str] = field(default_factory=list)  # tests some seed did not run
    rule: str = MOVED_RULE
    chance: str = CHANCE_DEFINITION

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def moved_set(report: Mapping[str, Any], query_set: str) -> set[Head] | None:
    """The moved heads of one test report (result JSON) for a query set; None when it ranked none."""
    moved = (report.get("moved") or {}).get(query_set)
    if not moved:
        return None
    return {(int(h["layer"]), int(h["head"])) for h in moved["top"] if h["ci"][0] is not None and h["ci"][0] > 0}


def moved_across_seeds(seeds: Sequence[int], results: Sequence[Mapping[str, Any]]) -> MovedAcrossSeeds:
    """Per test (in the first seed's order) and query set, the seeds' moved heads compared (module docstring)."""
    if len(results) < 2:
        raise ValueError("a comparison across seeds needs two or more seeds")
    layers, heads = _shape(results)
    top_heads = {r["settings"].get("top_heads") for r in results}
    if len(top_heads) != 1:
        raise ValueError(f"the seeds' runs list different numbers of moved heads (top_heads): {sorted(top_heads)}")
    by_seed = [{t["test"]: t for t in r["tests"]} for r in results]
    names = [t["test"] for t in results[0]["tests"]]
    common = [n for n in names if all(n in tests for tests in by_seed)]
    rows = []
    for name in common:
        reports = [tests[name] for tests in by_seed]
        for query_set in QUERY_SETS:
            found = [moved_set(report, query_set) for report in reports]
            rows.append(
                TestMovedAcrossSeeds(
                    test=name,
                    query_set=query_set,
                    broken_held=[[int(r["broken"]), int(r["held"])] for r in reports],
                    unranked=[seed for seed, s in zip(seeds, found, strict=True) if s is None],
                    **vars(head_sets_overlap(seeds, [s or set() for s in found], layers, heads)),
                )
            )
    every = {n for tests in by_seed for n in tests}
    return MovedAcrossSeeds(
        seeds=list(seeds),
        models=[r["model"]["id"] for r in results],
        layers=layers,
        heads=heads,
        top_heads=int(top_heads.pop()),
        tests=rows,
        not_in_every_seed=sorted(every - set(common)),
    )


def group_moved_result(
    label: str, name: str, seeds: Sequence[int], results: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The seed-group robustness result (CLI and web): the group, each member's data and per-test headline figures
    (and its run id when the web ran it), each test's figures over the seeds (mean, SD, min–max) and the moved heads
    compared. `results`: each seed's robustness result JSON."""
    return {
        "group": label,
        "name": name,
        "members": [
            {
                "seed": seed,
                "model": r["model"]["id"],
                "robustness_id": r.get("robustness_id"),
                "data": r["data"],
                "tests": [{"test": t["test"], **{k: t[k] for k in _SUMMARY_KEYS}} for t in r["tests"]],
            }
            for seed, r in zip(seeds, results, strict=True)
        ],
        "settings": results[0]["settings"],
        "figures": test_figures(seeds, results),
        "moved": moved_across_seeds(seeds, results).to_json(),
    }


def test_figures(seeds: Sequence[int], results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per test every seed ran (in the first seed's order): the spread over the seeds of its accuracy on the sources
    and on the variants, its flip rate and its broken and held pair counts."""
    by_seed = [{t["test"]: t for t in r["tests"]} for r in results]
    rows = []
    for name in (t["test"] for t in results[0]["tests"]):
        if not all(name in tests for tests in by_seed):
            continue
        members = [
            (seed, r["model"]["id"], tests[name]) for seed, r, tests in zip(seeds, results, by_seed, strict=True)
        ]
        row: dict[str, Any] = {"test": name}
        for key in _SPREAD_RATES:
            row[key] = spread([(seed, model, (t[key] or {}).get("value")) for seed, model, t in members])
        for key in ("broken", "held"):
            row[key] = spread([(seed, model, t[key]) for seed, model, t in members])
        rows.append(row)
    return rows


def _shape(results: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    shapes = {(r["model"]["num_layers"], r["model"]["num_heads"]) for r in results}
    if len(shapes) != 1:
        raise ValueError(f"the seeds' checkpoints differ in shape (layers, heads): {sorted(shapes)}")
    return shapes.pop()
