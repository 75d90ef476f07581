"""`headscope analyze --model NAME@13,14,15` on the console: which heads keep their label across the seeds of a
group (app.core.heads.seed_stability), a table per label; app.cli.seed_groups runs the seeds and writes the JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from app.cli.seed_groups import stability_table


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
