"""`headscope analyze --model NAME@13,14,15`: the head analysis of every seed of a group, then which heads keep
their label across seeds (app.core.heads.seed_stability): a table per label, and the group result JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from app.cli.common import fail, open_registry
from app.core.heads.result import AnalysisResult
from app.core.heads.seed_stability import SeedLabels, SeedStability, seed_stability
from app.core.model.errors import CheckpointError
from app.core.model.seed_groups import SeedGroup, resolve_group


def resolve(text: str) -> SeedGroup:
    """The group's checkpoints in the models folder; a bad group exits 2 with seed_groups' message."""
    try:
        return resolve_group(text, open_registry().infos())
    except CheckpointError as exc:
        fail(str(exc))


def analyze_group(group: SeedGroup, analyse: Callable[[str], AnalysisResult]) -> dict[str, Any]:
    """Analyse each member with `analyse(checkpoint id)` (the same data and settings), then compare them."""
    results = [analyse(model_id) for model_id in group.checkpoint_ids]
    shapes = {(r.model.num_layers, r.model.num_heads) for r in results}
    if len(shapes) != 1:
        fail(f"{group.label}: the seeds' checkpoints differ in shape (layers, heads): {sorted(shapes)}")
    layers, heads = shapes.pop()
    members = [SeedLabels(seed, r.model.id, r.labelled) for seed, r in zip(group.seeds, results, strict=True)]
    return group_result(group, seed_stability(members, layers, heads), [r.to_json() for r in results])


def group_result(group: SeedGroup, stability: SeedStability, analyses: list[dict[str, Any]]) -> dict[str, Any]:
    """The group result file: the group, each member's data summary and labelled heads, the comparison.
    (The web's group job writes the same shape, with each member's analysis id.)"""
    return {
        "group": group.label,
        "name": group.name,
        "members": [
            {
                "seed": seed,
                "model": analysis["model"]["id"],
                "analysis_id": analysis.get("analysis_id"),
                "data": analysis["data"],
                "labelled": analysis["labelled"],
            }
            for seed, analysis in zip(group.seeds, analyses, strict=True)
        ],
        "stability": stability.to_json(),
    }


def render_group(console: Console, found: dict[str, Any]) -> None:
    stability = found["stability"]
    first = found["members"][0]["data"]
    console.print(
        f"{found['group']}: {len(found['members'])} seeds on {first['path']}, {first['pairs']} pairs each; "
        f"{stability['layers']} layers × {stability['heads']} heads",
        soft_wrap=True,
    )
    if not stability["labels"]:
        console.print("no seed labelled any head")
        return
    console.print(stability_table(stability))
    console.print(f"chance: {stability['chance']}", soft_wrap=True)


def stability_table(stability: dict[str, Any]) -> Table:
    n = len(stability["seeds"])
    table = Table("label", *(f"seed {s}" for s in stability["seeds"]), "Jaccard per pair", "mean (chance)", "k/n")
    for entry in stability["labels"]:
        pairs = " ".join(
            f"{a}-{b}:{_number(p['jaccard'])}({_number(p['chance'])})" for p in entry["pairs"] for a, b in [p["seeds"]]
        )
        stable = " ".join(f"{layer}.{head}={k}/{n}" for layer, head, k in entry["stable"]) or "none in 2+ seeds"
        table.add_row(
            entry["label"],
            *(" ".join(f"{layer}.{head}" for layer, head in heads) or "–" for heads in entry["heads"]),
            pairs,
            f"{_number(entry['mean_jaccard'])} ({_number(entry['mean_chance'])})",
            stable,
        )
    return table


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"
