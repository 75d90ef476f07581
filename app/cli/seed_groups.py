"""What `--model NAME@13,14,15` does the same way in every command: resolve the group in the models folder, run
the one-checkpoint path on each seed in turn, compare the seeds in the core, write and render the group result;
and what the renderers show alike: the table of heads per seed, their Jaccard against chance and k of n, and a
figure's spread over the seeds (app.core.stats.seed_spread) as mean ± SD [min–max]."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.table import Table

from app.cli.common import console, fail, open_registry, write_and_show
from app.core.model.errors import CheckpointError
from app.core.model.seed_groups import SeedGroup, resolve_group


class SeedResult(Protocol):
    """A one-checkpoint result (an analysis, a robustness run): the JSON the core compares across seeds."""

    def to_json(self) -> dict[str, Any]: ...


Compare = Callable[[str, str, Sequence[int], Sequence[Mapping[str, Any]]], dict[str, Any]]


def resolve(text: str) -> SeedGroup:
    """The group's checkpoints in the models folder; a bad group exits 2 with seed_groups' message."""
    try:
        return resolve_group(text, open_registry().infos)
    except CheckpointError as exc:
        fail(str(exc))


def run_seed_group(
    group: SeedGroup,
    run_one: Callable[[str], SeedResult],
    compare: Compare,
    render: Callable[[Console, dict[str, Any]], None],
    out: Path | None,
) -> None:
    """Run each member with `run_one(checkpoint id)` (the same data and settings), compare the members' result
    JSON with `compare(label, name, seeds, results)` (a ValueError, e.g. seeds of different shapes, exits 2), then
    write the group result to --out and render it."""
    results = [run_one(model_id).to_json() for model_id in group.checkpoint_ids]
    try:
        found = compare(group.label, group.name, group.seeds, results)
    except ValueError as exc:
        fail(str(exc))
    write_and_show(out, found, lambda: render(console, found))


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


def spread_text(figure: dict[str, Any], span: bool = True) -> str:
    """A spread over seeds as "0.850 ± 0.012 [0.837–0.862]" (without the min–max when not `span`, for a table that
    shows each seed's value beside it): the mean alone under two values, "–" with none."""
    if figure["mean"] is None:
        return "–"
    if figure["sd"] is None:
        return value_text(figure["mean"])
    text = f"{value_text(figure['mean'])} ± {value_text(figure['sd'])}"
    return f"{text} [{value_text(figure['min'])}–{value_text(figure['max'])}]" if span else text


def value_text(value: Any, digits: int = 3) -> str:
    """A figure as the seed-group tables print it: floats to `digits` places, "–" for none."""
    return "–" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"
