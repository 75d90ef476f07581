"""`headscope robustness --model NAME@13,14,15` on the console: each test's figures over the seeds of a group (source
and variant accuracy, flip rate: mean ± SD and each seed's value; broken/held pairs per seed), then which
moved heads recur across the seeds (app.core.robustness.seed_moved), a table of each test's moved heads per seed;
app.cli.seed_groups runs the suite on each seed through the one-checkpoint path and writes the JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from app.cli.seed_groups import spread_text, stability_table, value_text

QUERY_SET_NAMES = {"focus": "aspect/entity rows", "cls": "[CLS] rows"}
FIGURE_NAMES = {"source_accuracy": "source accuracy", "variant_accuracy": "variant accuracy", "flip_rate": "flip rate"}


def render_robustness_group(console: Console, found: dict[str, Any]) -> None:
    moved = found["moved"]
    first = found["members"][0]["data"]
    console.print(
        f"{found['group']}: {len(found['members'])} seeds on {first['name']}, {first.get('sources', '?')} sources "
        f"each; {moved['layers']} layers × {moved['heads']} heads, top {moved['top_heads']} moved heads per test",
        soft_wrap=True,
    )
    seeds = ", ".join(f"{m['seed']} {m['model']}" for m in found["members"])
    console.print(f"seeds: {seeds}", soft_wrap=True)
    console.print(figures_table(found))
    rows = [
        {**row, "label": f"{row['test']}\n{QUERY_SET_NAMES.get(row['query_set'], row['query_set'])}"}
        for row in moved["tests"]
        if any(row["heads"])
    ]
    if rows:
        console.print(stability_table({"seeds": moved["seeds"], "labels": rows}, row_name="test"))
    else:
        console.print("no test moved a head more on broken than on held pairs in any seed")
    for row in moved["tests"]:
        if row["unranked"]:
            seeds = ", ".join(str(s) for s in row["unranked"])
            console.print(f"{row['test']} ({row['query_set']}): no head ranked for seed(s) {seeds}", soft_wrap=True)
    if moved["not_in_every_seed"]:
        console.print(f"not run in every seed: {', '.join(moved['not_in_every_seed'])}", soft_wrap=True)
    console.print(f"moved: {moved['rule']}", soft_wrap=True)
    console.print(f"chance: {moved['chance']}", soft_wrap=True)


def figures_table(found: dict[str, Any]) -> Table:
    """Per test (the tests every seed ran) a row per figure: its mean ± SD over the seeds, then each seed's value;
    and a row of each seed's broken/held pairs (their means in the mean column)."""
    seeds = [member["seed"] for member in found["members"]]
    table = Table(title="Each test over the seeds: mean ± SD, then each seed's value")
    for name in ("test", "figure", "mean ± SD", *(f"seed {seed}" for seed in seeds)):
        table.add_column(name, overflow="fold")
    for row in found["figures"]:
        for key, name in FIGURE_NAMES.items():
            per_seed = [value_text(v["value"]) for v in row[key]["values"]]
            table.add_row(row["test"], name, spread_text(row[key], span=False), *per_seed)
        broken, held = row["broken"], row["held"]
        pairs = [f"{b['value']}/{h['value']}" for b, h in zip(broken["values"], held["values"], strict=True)]
        means = f"{value_text(broken['mean'], 1)}/{value_text(held['mean'], 1)}"
        table.add_row(row["test"], "broken/held", means, *pairs, end_section=True)
    return table
