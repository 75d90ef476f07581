"""`headscope analyze --model NAME@13,14,15`: the head analysis of every seed of a group, then which heads keep
their label across seeds (app.core.heads.seed_stability): a table per label, and the group result JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from app.cli.common import fail, open_registry
from app.core.heads.result import AnalysisResult
from app.core.heads.seed_stability import group_result
from app.core.model.errors import CheckpointError
from app.core.model.seed_groups import SeedGroup, resolve_group


def resolve(text: str) -> SeedGroup:
    """The group's checkpoints in the models folder; a bad group exits 2 with seed_groups' message."""
    try:
        return resolve_group(text, open_registry().infos)
    except CheckpointError as exc:
        fail(str(exc))


def analyze_group(group: SeedGroup, analyse: Callable[[str], AnalysisResult]) -> dict[str, Any]:
    """Analyse each member with `analyse(checkpoint id)` (the same data and settings), then compare them."""
    analyses = [analyse(model_id).to_json() for model_id in group.checkpoint_ids]
    try:
        return group_result(group.label, group.name, group.seeds, analyses)
    except ValueError as exc:
        fail(str(exc))


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


def stability_table(stability: dict[str, Any], row_name: str = "label") -> Table:
    """One row per label (or per entry of `stability["labels"]`, named in its "label"): each seed's heads, the
    Jaccard per pair and its mean (chance in brackets), the heads in every seed (chance) and each head's k/n; long
    cells fold rather than being cut."""
    n = len(stability["seeds"])
    table = Table()
    table.add_column(row_name, no_wrap=True)
    for name in ("heads per seed", "Jaccard per pair (chance)", "mean (chance)", f"in all {n} (chance)", "k/n"):
        table.add_column(name, overflow="fold")
    for entry in stability["labels"]:
        heads = "\n".join(
            f"{seed}: " + (" ".join(f"{layer}.{head}" for layer, head in found) or "–")
            for seed, found in zip(stability["seeds"], entry["heads"], strict=True)
        )
        pairs = "\n".join(
            f"{p['seeds'][0]}-{p['seeds'][1]}: {_number(p['jaccard'])} ({_number(p['chance'])})" for p in entry["pairs"]
        )
        table.add_row(
            entry["label"],
            heads,
            pairs,
            f"{_number(entry['mean_jaccard'])} ({_number(entry['mean_chance'])})",
            f"{len(entry['in_all'])} ({_number(entry['in_all_by_chance'])})",
            " ".join(f"{layer}.{head}={k}/{n}" for layer, head, k in entry["stable"]) or "none in 2+ seeds",
        )
    return table


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"
