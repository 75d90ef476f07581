"""`headscope robustness --model NAME@13,14,15` on the console: which moved heads recur across the seeds of a group
(app.core.robustness.seed_moved), a table of each test's moved heads per seed; app.cli.seed_groups runs the suite on
each seed through the one-checkpoint path and writes the JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from app.cli.seed_groups import stability_table

QUERY_SET_NAMES = {"focus": "aspect/entity rows", "cls": "[CLS] rows"}


def render_robustness_group(console: Console, found: dict[str, Any]) -> None:
    moved = found["moved"]
    first = found["members"][0]["data"]
    console.print(
        f"{found['group']}: {len(found['members'])} seeds on {first['name']}, {first.get('sources', '?')} sources "
        f"each; {moved['layers']} layers × {moved['heads']} heads, top {moved['top_heads']} moved heads per test",
        soft_wrap=True,
    )
    for member in found["members"]:
        figures = "; ".join(
            f"{t['test']} flips {_rate(t['flip_rate'])}, {t['broken']}/{t['held']} broken/held" for t in member["tests"]
        )
        console.print(f"seed {member['seed']} ({member['model']}): {figures}", soft_wrap=True)
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


def _rate(rate: dict[str, Any] | None) -> str:
    return "–" if not rate or rate.get("value") is None else f"{rate['value']:.3f}"
