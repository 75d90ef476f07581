"""`analyze`, `robustness` and `report`: the command line's dataset jobs from Python, on the same core calls
(app.core.heads.analysis.analyze, app.core.robustness.run.run_robustness, app.core.report.run.run_report) with
the same settings models (their fields are the keyword arguments) and tqdm.auto progress bars, which
draw as widgets in a notebook.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.cli.common import showing_progress
from app.config import get_settings
from app.core.data import sources
from app.core.model.checkpoint import LoadedCheckpoint
from headscope.loading import Checkpoint, load
from headscope.service_calls import settings_of
from headscope.summaries import AnalysisView, ReportView, RobustnessView


def _data(name: str | Path, data_format: str | None = None):
    """A dataset by the names the command line takes: a file, a path under HEADSCOPE_SHARED_DATA, demo-absa/-re."""
    return sources.load_data_source(
        str(name), shared_data=get_settings().shared_data, data_format=data_format, allow_paths=True
    )


def _pretrained(loaded: LoadedCheckpoint, base: str | Path | None) -> LoadedCheckpoint:
    from app.core.model.pretrained import load_pretrained_baseline

    if base is None and loaded.info.path == Path(".") and not loaded.info.metadata.get("training"):
        raise ValueError(
            "an in-memory model has no record of its pretrained base: pass base=<its folder or hub name>, "
            "or pretrained=False"
        )
    return load_pretrained_baseline(loaded, None if base is None else str(base))


def analyze(
    checkpoint: Any,
    data: str | Path,
    *,
    data_format: str | None = None,
    lexicon: str | Path | None = None,
    base: str | Path | None = None,
    progress: bool = True,
    **settings: Any,
) -> AnalysisView:
    """Label every head on labelled data (`headscope analyze`); keyword arguments are AnalysisSettings fields
    (max_examples, batch_size, bootstrap, pretrained, importance, ...; docs/reference/settings.md).
    base: the pretrained model for the baselines when the checkpoint does not record it."""
    from app.core.heads.analysis import analyze as run_analysis
    from app.core.heads.settings import AnalysisSettings

    chosen = settings_of(AnalysisSettings, settings)
    loaded = load(checkpoint).loaded
    dataset = _data(data, data_format)
    shared = get_settings().shared_data
    words = sources.load_lexicon(Path(lexicon) if lexicon else sources.default_lexicon_path(shared))
    reference = _pretrained(loaded, base) if chosen.pretrained else None
    with showing_progress(f"analyze {loaded.info.id}", progress) as update:
        result = run_analysis(
            loaded, dataset, chosen, pretrained=reference, lexicon=words if chosen.lexicon else None, progress=update
        )
    return AnalysisView(result)


def robustness(
    checkpoint: Any,
    data: str | Path,
    *,
    train: str | Path | None = None,
    baseline: Any = None,
    contrast: str | Path | None = None,
    progress: bool = True,
    **settings: Any,
) -> RobustnessView:
    """Robustness tests and the heads that moved (`headscope robustness`); keyword arguments are
    RobustnessSettings fields (tests=("q1-typo", ...), max_examples, budget, ...)."""
    from app.core.robustness.run import run_robustness
    from app.core.robustness.settings import RobustnessSettings

    chosen = settings_of(RobustnessSettings, settings)
    loaded = load(checkpoint).loaded
    shared = get_settings().shared_data
    with showing_progress(f"robustness {loaded.info.id}", progress) as update:
        result = run_robustness(
            loaded,
            _data(data),
            chosen,
            name=str(data),
            # what the command line defaults to: the demo data is its own training file and brings its opinion words
            training=_data(train) if train else sources.default_training(str(data)),
            lexicon=sources.load_lexicon(sources.default_lexicon_path(shared, str(data))),
            contrast=Path(contrast) if contrast else None,
            baseline=load(baseline).loaded if baseline is not None else None,
            progress=update,
        )
    return RobustnessView(result)


def report(checkpoints: Sequence[Any], *, progress: bool = True, **settings: Any) -> ReportView:
    """Checkpoints side by side across perspectives (`headscope report`); keyword arguments are ReportSettings
    fields (max_examples, attacks=("pwws",), attack_examples, ...)."""
    from app.core.model.pretrained import load_pretrained_baseline
    from app.core.report.run import plan_all, run_report
    from app.core.report.settings import ReportSettings

    chosen = settings_of(ReportSettings, settings)
    loaded = [load(c).loaded for c in ([checkpoints] if isinstance(checkpoints, (str, Checkpoint)) else checkpoints)]
    shared = get_settings().shared_data
    plans = plan_all([c.info for c in loaded], chosen, shared, lambda name: _data(name))
    with showing_progress("report", progress) as update:
        result = run_report(loaded, plans, chosen, pretrained_for=load_pretrained_baseline, progress=update)
    return ReportView(result)
