"""Run the head analysis the way the CLI does, from a data path and keyword settings, for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.core.data import sources
from app.core.data.readers import Dataset, load_dataset
from app.core.heads.analysis import analyze
from app.core.heads.labels import DEFAULT_RULE
from app.core.heads.settings import AnalysisSettings


def run_analysis(
    loaded,
    data: Path | Dataset,
    *,
    pretrained=None,
    lexicon: Path | None = None,
    progress=None,
    runner=None,
    rule=DEFAULT_RULE,
    limit: int | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """The result JSON; `limit` is max_examples; importance is off unless asked (the tests time it separately)."""
    settings.setdefault("importance", False)
    dataset = data if isinstance(data, Dataset) else load_dataset(Path(data))
    extra = {"runner": runner} if runner is not None else {}
    result = analyze(
        loaded,
        dataset,
        AnalysisSettings(max_examples=limit, **settings),
        pretrained=pretrained,
        lexicon=sources.load_lexicon(lexicon),
        progress=progress or None,
        rule=rule,
        **extra,
    )
    return result.to_json()
