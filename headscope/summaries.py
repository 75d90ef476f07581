"""The dataset results in a notebook: the command line's own tables (app/cli) as text and HTML, and for an
analysis its layers x heads heatmaps and ranked table of heads.

Each view keeps the core's typed result (`.result`) and its JSON (`.to_json()`, the file `--out` writes).
"""

from __future__ import annotations

import html
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from app.cli.render import render_analysis, render_robustness

Rendering = Callable[[Console], None]


def _rendered(draw: Rendering) -> Console:
    console = Console(
        record=True, width=140, force_terminal=False, force_jupyter=False, file=io.StringIO()
    )  # recorded, never printed
    draw(console)
    return console


class _ResultView:
    result: Any

    def _draw(self, console: Console) -> None:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        return self.result if isinstance(self.result, dict) else self.result.to_json()

    def save_json(self, path: str | Path) -> Path:
        """The JSON the command line's --out writes."""
        target = Path(path)
        target.write_text(json.dumps(self.to_json(), allow_nan=False) + "\n", encoding="utf-8")
        return target

    def summary(self) -> str:
        """What the command line prints for this result."""
        return _rendered(self._draw).export_text()

    def _tables_html(self) -> str:
        code = "<pre style='font-size:12px'>{code}</pre>"
        return _rendered(self._draw).export_html(inline_styles=True, code_format=code)

    def _repr_html_(self) -> str:
        return self._tables_html()

    def __repr__(self) -> str:  # a console shows the text a notebook shows as tables
        return self.summary()

    def save_html(self, path: str | Path) -> Path:
        """The view as one HTML file (no script, no network)."""
        target = Path(path)
        body = self._repr_html_()
        target.write_text(f"<!doctype html><meta charset='utf-8'><title>headscope</title>{body}", encoding="utf-8")
        return target


class RobustnessView(_ResultView):
    def __init__(self, result: Any) -> None:
        self.result = result

    def _draw(self, console: Console) -> None:
        render_robustness(console, self.result)


class ReportView(_ResultView):
    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result

    def _draw(self, console: Console) -> None:
        from app.cli.report import render

        render(self.result, console)


class AnalysisView(_ResultView):
    """A head analysis: `.result` is the core's AnalysisResult; displays its heatmaps and ranked table."""

    def __init__(self, result: Any) -> None:
        self.result = result

    def _draw(self, console: Console) -> None:
        render_analysis(console, self.result)

    def statistic(self) -> str:
        """The statistic shown first: the one the web page opens on (aspect / entity mass) when present."""
        names = self.result.statistics
        preferred = "entity_mass" if self.result.model.task == "re" else "aspect_mass"
        return preferred if preferred in names else names[0]

    def scores(self, statistic: str | None = None) -> Any:
        """[layers, heads] numpy array of one statistic's scores."""
        import numpy as np

        stat = statistic or self.statistic()
        model = self.result.model
        grid = np.full((model.num_layers, model.num_heads), np.nan)
        for head in self.result.heads:
            if stat in head.statistics:
                grid[head.layer, head.head] = head.statistics[stat].score
        return grid

    def ranked(self, statistic: str | None = None, top: int = 15) -> list[Any]:
        """The heads by score on one statistic, best first (the page's ranked table)."""
        stat = statistic or self.statistic()
        found = [h for h in self.result.heads if stat in h.statistics]
        return sorted(found, key=lambda h: -h.statistics[stat].score)[:top]

    def _repr_html_(self) -> str:
        from headscope.heatmaps import heatmap_html, ranked_html

        stat = self.statistic()
        maps = [heatmap_html(self.scores(stat), stat, self.result.labelled.get(_label_of(self.result, stat)))]
        for label, stats in (self.result.rule or {}).get("labels", {}).items():
            chosen = next((s for s in stats if s in self.result.statistics), None)
            if chosen:
                marked = self.result.labelled.get(label)
                maps.append(heatmap_html(self.scores(chosen), f"{label} ({chosen})", marked, 10))
        meta = html.escape(f"{self.result.model.id} on {self.result.data.path}: {self.result.data.pairs} pairs")
        return (
            f"<div class='headscope-analysis' style='font-family:system-ui,sans-serif'><p>{meta}</p>"
            f"<div style='display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start'>{''.join(maps)}</div>"
            f"{ranked_html(self.ranked(stat), stat)}{self._tables_html()}</div>"
        )


def _label_of(result: Any, stat: str) -> str | None:
    return next((label for label, stats in (result.rule or {}).get("labels", {}).items() if stat in stats), None)
