"""An analysis's layers x heads heatmaps and ranked table as plain HTML (no script: they show in any notebook
viewer, trusted or not). The colours are viridis, as on the /analysis page; labelled heads carry a dot."""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

# viridis at 0, .25, .5, .75, 1 (matplotlib's), interpolated linearly between
VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def colour(t: float) -> str:
    if math.isnan(t):
        return "#eee"
    x = min(1.0, max(0.0, t)) * (len(VIRIDIS) - 1)
    i = min(int(x), len(VIRIDIS) - 2)
    f = x - i
    r, g, b = (round(a + (c - a) * f) for a, c in zip(VIRIDIS[i], VIRIDIS[i + 1]))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap_html(grid: np.ndarray, title: str, marked: list[list[int]] | None = None, cell: int = 18) -> str:
    """A [layers, heads] grid as a table of coloured cells (min..max of the grid), hover: layer.head and score."""
    finite = grid[np.isfinite(grid)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    span = high - low or 1.0
    dots = {(int(layer), int(head)) for layer, head in (marked or [])}
    rows = []
    for layer, values in enumerate(grid):
        cells = "".join(
            f"<td title='{layer}.{head}: {v:.4f}' style='width:{cell}px;height:{cell}px;padding:0;"
            f"background:{colour((v - low) / span)};color:#fff;text-align:center;font-size:{cell // 2}px'>"
            f"{'●' if (layer, head) in dots else ''}</td>"
            for head, v in enumerate(values.tolist())
        )
        rows.append(f"<tr><th style='font-weight:normal;padding-right:4px'>{layer}</th>{cells}</tr>")
    heads = "".join(f"<th style='font-weight:normal'>{h}</th>" for h in range(grid.shape[1]))
    return (
        f"<figure class='headscope-heatmap' style='margin:0'><figcaption style='font-size:12px'>"
        f"{html.escape(title)} · layers (rows) x heads · {low:.3f}..{high:.3f}</figcaption>"
        f"<table style='border-collapse:separate;border-spacing:1px;font-size:10px;color:#667'>"
        f"<tr><th></th>{heads}</tr>{''.join(rows)}</table></figure>"
    )


def _num(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def ranked_html(heads: list[Any], statistic: str) -> str:
    """The ranked heads of one statistic: score, 95% CI, baselines, labels (as the page's table)."""
    names = ("#", "head", statistic, "95% CI", "n", "uniform", "positional", "pretrained", "labels")
    header = "".join(f"<th>{html.escape(name)}</th>" for name in names)
    rows = []
    for rank, head in enumerate(heads, 1):
        entry = head.statistics[statistic]
        b = entry.baselines
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(cell))}</td>"
                for cell in (
                    rank,
                    f"{head.layer}.{head.head}",
                    _num(entry.score),
                    f"[{_num(entry.ci[0])}, {_num(entry.ci[1])}]",
                    entry.n,
                    _num(b.uniform),
                    f"{_num(b.positional)} ({b.positional_rule})",
                    _num(b.pretrained),
                    ", ".join(head.labels) or (f"– ({entry.no_label})" if entry.no_label else "–"),
                )
            )
            + "</tr>"
        )
    return (
        "<table class='headscope-ranked' style='font-size:12px;margin-top:10px'>"
        f"<caption style='text-align:left'>heads ranked by {html.escape(statistic)}</caption>"
        f"<tr>{header}</tr>{''.join(rows)}</table>"
    )
