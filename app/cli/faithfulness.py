"""`headscope analyze --faithfulness-limit N`: faithfulness by erasure over the first N pairs of the analysed data
(app.core.faithfulness), written into the result JSON as "faithfulness" and printed after the analysis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from app.cli.common import fail, open_registry, settings_option
from app.config import get_settings
from app.core.faithfulness import FaithfulnessProbe, FaithfulnessSection, FaithfulnessSettings, dataset_faithfulness


def option(name: str, *flags: str) -> Any:
    return settings_option(FaithfulnessSettings, name, *flags)


def run_faithfulness(
    model: str,
    data: str,
    data_format: str | None,
    pairs: str,
    settings: FaithfulnessSettings,
    bootstrap: int,
    seed: int,
    lexicon: Path | None = None,
    use_lexicon: bool = True,
) -> FaithfulnessSection:
    """The faithfulness section; plausibility reads the same opinion words as the analysis (gold spans, else the
    lexicon's words when `use_lexicon`), so the faithful-vs-plausible comparison covers data without gold opinions."""
    from app.core.data import sources
    from app.core.inputs.batching import training_max_length
    from app.core.inputs.units import AnalysisError, unit_specs

    shared = get_settings().shared_data
    try:
        loaded = open_registry().get(model)
        dataset = sources.load_data_source(data, shared_data=shared, data_format=data_format, allow_paths=True)
        words = sources.load_lexicon(lexicon or sources.default_lexicon_path(shared)) if use_lexicon else None
        specs, _ = unit_specs(loaded, list(dataset.examples), str(dataset.path), pairs)
    except (AnalysisError, sources.DataSourceError, ValueError) as exc:
        fail(str(exc))
    probe = FaithfulnessProbe(
        loaded,
        settings.limit,
        erasure=settings.erasure,
        erase_targets=settings.erase_targets,
        ig_steps=settings.ig_steps,
        random_draws=settings.random_draws,
        seed=seed,
    )
    return dataset_faithfulness(
        loaded,
        specs,
        probe,
        lexicon=words,
        max_length=training_max_length(loaded),
        bootstrap=bootstrap,
        seed=seed,
    )


def render_faithfulness(console: Console, section: FaithfulnessSection) -> None:
    speed = f"{section.pairs_per_s:.2f}" if section.pairs_per_s else "–"
    console.print(f"faithfulness by erasure: {section.pairs} pairs, {speed} pairs/s", soft_wrap=True)
    for name, figures in section.sources.items():
        comp, suff = figures["aopc_comprehensiveness"], figures["aopc_sufficiency"]
        console.print(
            f"  {name}: comprehensiveness AOPC {comp.mean:.4f} [{comp.low:.4f}, {comp.high:.4f}], "
            f"sufficiency AOPC {suff.mean:.4f} [{suff.low:.4f}, {suff.high:.4f}]",
            soft_wrap=True,
        )
    heads = " ".join(f"{e['layer']}.{e['head']}" for e in section.faithful) or "none"
    console.print(f"  faithful heads (beat random on both, 95% CI): {heads}", soft_wrap=True)
    if section.disagreement:
        console.print(f"  plausible vs faithful heads: {section.disagreement}", soft_wrap=True)
