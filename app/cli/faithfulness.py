"""`headscope analyze --faithfulness-limit N`: faithfulness by erasure over the first N pairs of the analysed data
(app.core.faithfulness), written into the result JSON as "faithfulness" and printed after the analysis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from app.cli.common import fail, open_registry, settings_option
from app.config import get_settings
from app.core.faithfulness import FaithfulnessSection, FaithfulnessSettings, PairedDifference, faithfulness_of_data


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
    batch_size: int | None = None,
) -> FaithfulnessSection:
    """The faithfulness section (app.core.faithfulness.faithfulness_of_data); plausibility reads the same opinion
    words as the analysis (gold spans, else the lexicon's words when `use_lexicon`), at the analysis's batch size
    (None: left open, the device's)."""
    from app.core.data import sources
    from app.core.inputs.units import AnalysisError

    shared = get_settings().shared_data
    try:
        loaded = open_registry().get(model)
        dataset = sources.load_data_source(data, shared_data=shared, data_format=data_format, allow_paths=True)
        words = sources.load_lexicon(lexicon or sources.default_lexicon_path(shared)) if use_lexicon else None
        return faithfulness_of_data(
            loaded,
            dataset.examples,
            str(dataset.path),
            pairs,
            settings,
            lexicon=words,
            batch_size=batch_size,
            bootstrap=bootstrap,
            seed=seed,
        )
    except (AnalysisError, sources.DataSourceError, ValueError) as exc:
        fail(str(exc))


def render_faithfulness(console: Console, section: FaithfulnessSection) -> None:
    speed = f"{section.pairs_per_s:.2f}" if section.pairs_per_s else "–"
    console.print(f"faithfulness by erasure: {section.pairs} pairs, {speed} pairs/s", soft_wrap=True)
    for name, figures in section.sources.items():
        comp, suff = figures["aopc_comprehensiveness"], figures["aopc_sufficiency"]
        scored = section.source_pairs.get(name, section.pairs)
        console.print(
            f"  {name}: comprehensiveness AOPC {comp.mean:.4f} [{comp.low:.4f}, {comp.high:.4f}], "
            f"sufficiency AOPC {suff.mean:.4f} [{suff.low:.4f}, {suff.high:.4f}]"
            + (f" ({scored} pairs)" if scored != section.pairs else ""),
            soft_wrap=True,
        )
    heads = " ".join(f"{e['layer']}.{e['head']}" for e in section.faithful) or "none"
    console.print(f"  faithful heads (beat random on both, 95% CI): {heads}", soft_wrap=True)
    if section.disagreement:
        console.print(f"  plausible vs faithful heads: {section.disagreement}", soft_wrap=True)
    if section.paired:
        console.print("  paired differences (first − second over the same pairs, 95% bootstrap CI):", soft_wrap=True)
        for d in section.paired:
            console.print(f"    {paired_line(d)}", soft_wrap=True)


def paired_line(d: PairedDifference) -> str:
    """One comparison on one line (a table would be cut at a pipe's 80 columns)."""
    verdict = f"more faithful: {d.more_faithful}" if d.more_faithful else "not shown to differ"
    figure = d.figure.removeprefix("aopc_")
    return f"{figure} {d.first} − {d.second}: {d.mean:+.4f} [{d.low:+.4f}, {d.high:+.4f}], {d.pairs} pairs, {verdict}"
