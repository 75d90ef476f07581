"""Faithfulness over a dataset: the attention pass with the faithfulness probe (probe.py), summarised per head
and per source with 95% bootstrap CIs (app.core.stats.bootstrap) and against the random ranking.

Against random: per pair, a source's AOPC minus the random rankings' AOPC on the same pair (paired),
its mean and percentile bootstrap CI over pairs. A head's attention is labelled **faithful** when,
from the readout query, its comprehensiveness beats random (CI of the difference above 0) and its
sufficiency beats random too (CI below 0: keeping its top tokens loses less than keeping random ones).
Plausibility beside it, for the same heads and pairs: the interpretability rate's rule (Stevens & Su:
do the 3 most attended tokens hold a gold opinion token?) per head, over the pairs with gold or
lexicon opinion tokens (probe.py), or a map the caller gives; so a reader sees where they disagree.
Source against source on the same pairs (the best head against the head mean, rollout, flow, IG ...):
paired.py. `faithfulness_of_data` is the one setup of the section an analysis carries (CLI and web).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from app.core.data.readers import OpinionLexicon
from app.core.faithfulness.paired import Interval, PairedDifference, interval, paired_differences
from app.core.faithfulness.probe import FIGURES, FaithfulnessProbe
from app.core.faithfulness.settings import CPU_BATCH_SIZE, FaithfulnessSettings
from app.core.faithfulness.sources import PER_HEAD
from app.core.inputs.batching import training_max_length
from app.core.inputs.units import UnitSpec, encode_unit, unit_specs
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.passes.attention_pass import Progress, Runner, attention_pass, run_here
from app.core.passes.batch_size import pass_batch_size
from app.core.stats.rounding import to_json

FAITHFUL = "faithful"
AGAINST_RANDOM = ("aopc_comprehensiveness", "aopc_sufficiency")


@dataclass
class FaithfulnessSection:
    pairs: int
    skipped: int
    pairs_per_s: float | None
    settings: dict[str, Any]
    sources: dict[str, dict[str, Interval]]  # source -> figure (FIGURES, and "<figure>_vs_random") -> interval
    heads: dict[str, dict[str, Interval]]  # per-head source -> figure -> [L][H] intervals
    faithful: list[dict[str, Any]]  # the heads labelled faithful, with their figures (and plausibility)
    plausibility: list[list[float]] | None = None  # the interpretability rate [L][H], when given
    disagreement: dict[str, int] = field(default_factory=dict)
    paired: list[PairedDifference] = field(default_factory=list)  # source vs source on the same pairs (paired.py)
    source_pairs: dict[str, int] = field(default_factory=dict)  # the pairs each source was scored on (flow: fewer)
    source_ms: dict[str, float] = field(default_factory=dict)  # mean time per pair of computing each source's scores

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def summarise(
    probe: FaithfulnessProbe, bootstrap: int, seed: int, plausibility: torch.Tensor | None = None
) -> FaithfulnessSection:
    figures = probe.figures
    pairs = len(figures.indices)
    sources: dict[str, dict[str, Interval]] = {}
    heads: dict[str, dict[str, Interval]] = {}
    if pairs:
        names = list(figures.values[FIGURES[0]])
        for source in names:
            target = heads if source in PER_HEAD else sources
            target[source] = {figure: interval(figures.stacked(figure, source), bootstrap, seed) for figure in FIGURES}
            if source == "random" or "random" not in names:
                continue
            for figure in AGAINST_RANDOM:
                values, chance = figures.stacked(figure, source), figures.stacked(figure, "random")
                difference = values - chance.view(-1, *([1] * (values.dim() - 1)))
                target[source][f"{figure}_vs_random"] = interval(difference, bootstrap, seed)
    if plausibility is None and probe.plausible:
        plausibility = torch.stack(probe.plausible).mean(0)
    faithful = faithful_heads(heads.get("attention", {}), plausibility)
    seconds = probe.seconds
    timed = probe.source_seconds
    stacked = {figure: {s: figures.stacked(figure, s) for s in figures.values[figure]} for figure in figures.values}
    return FaithfulnessSection(
        pairs=pairs,
        skipped=probe.skipped,
        pairs_per_s=pairs / seconds if seconds > 0 else None,
        settings={
            "limit": probe.limit,
            "methods": list(probe.methods),
            "k_percents": list(probe.k_percents),
            "erasure": probe.erasure,
            "erase_targets": probe.erase_targets,
            "ig_steps": probe.ig_steps,
            "random_draws": probe.random_draws,
            "flow_limit": probe.flow_limit,
            "flow_pairs": probe.flow_pairs,
            "query": "readout",
            "bootstrap": bootstrap,
            "plausibility_pairs": len(probe.plausible),
            "confidence": 0.95,
        },
        sources=sources,
        heads=heads,
        faithful=faithful,
        plausibility=plausibility.tolist() if plausibility is not None else None,
        disagreement=_disagreement(faithful, heads.get("attention", {}), plausibility),
        paired=paired_differences(stacked, bootstrap, seed) if pairs else [],
        source_pairs={s: _scored(v) for s, v in stacked.get(FIGURES[0], {}).items()},
        source_ms={m: 1000 * t / max(1, probe.flow_pairs if m == "flow" else pairs) for m, t in timed.items()},
    )


def _scored(values: torch.Tensor) -> int:
    """How many pairs have a figure (any finite value) in values [N] or [N, L, H]."""
    return int(torch.isfinite(values.reshape(values.shape[0], -1)).any(1).sum())


def faithful_heads(figures: dict[str, Interval], plausibility: torch.Tensor | None) -> list[dict[str, Any]]:
    """Heads whose comprehensiveness CI vs random is above 0 and whose sufficiency CI vs random is below 0."""
    if "aopc_comprehensiveness_vs_random" not in figures:
        return []
    comp, suff = figures["aopc_comprehensiveness_vs_random"], figures["aopc_sufficiency_vs_random"]
    found = []
    for layer, row in enumerate(comp.low):
        for head, low in enumerate(row):
            if low > 0 and suff.high[layer][head] < 0:
                entry = {
                    "layer": layer,
                    "head": head,
                    "label": FAITHFUL,
                    "comprehensiveness_vs_random": comp.mean[layer][head],
                    "sufficiency_vs_random": suff.mean[layer][head],
                }
                if plausibility is not None:
                    entry["plausibility"] = float(plausibility[layer, head])
                found.append(entry)
    return sorted(found, key=lambda e: -e["comprehensiveness_vs_random"])


def _disagreement(
    faithful: list[dict[str, Any]], figures: dict[str, Interval], plausibility: torch.Tensor | None
) -> dict[str, int]:
    """How many heads are faithful, plausible (interpretability rate above its median), both, or one only."""
    if plausibility is None or "aopc_comprehensiveness" not in figures:
        return {}
    plausible = plausibility > plausibility.median()
    chosen = torch.zeros_like(plausible)
    for entry in faithful:
        chosen[entry["layer"], entry["head"]] = True
    return {
        "faithful": int(chosen.sum()),
        "plausible": int(plausible.sum()),
        "both": int((chosen & plausible).sum()),
        "faithful_only": int((chosen & ~plausible).sum()),
        "plausible_only": int((plausible & ~chosen).sum()),
    }


def dataset_faithfulness(
    checkpoint: LoadedCheckpoint,
    specs: Sequence[UnitSpec],
    probe: FaithfulnessProbe,
    *,
    lexicon: OpinionLexicon | None = None,
    max_length: int = 512,
    batch_size: int = 16,
    bootstrap: int = 1000,
    seed: int = 0,
    plausibility: torch.Tensor | None = None,
    runner: Runner = run_here,
    progress: Progress | None = None,
) -> FaithfulnessSection:
    """The attention pass over the first probe.limit pairs of `specs` with the probe, summarised."""
    chosen = list(specs[: probe.limit])
    started = time.perf_counter()
    attention_pass(
        checkpoint,
        chosen,
        lambda spec: encode_unit(checkpoint, spec, lexicon, max_length),
        [probe],
        batch_size=batch_size,
        runner=runner,
        progress=progress,
        phase="faithfulness",
    )
    section = summarise(probe, bootstrap, seed, plausibility)
    total = time.perf_counter() - started
    section.pairs_per_s = section.pairs / total if total > 0 else None  # the whole pass, forward included
    return section


def faithfulness_of_data(
    checkpoint: LoadedCheckpoint,
    examples: Sequence[Any],
    source: str,
    pairs: str,
    settings: FaithfulnessSettings,
    *,
    lexicon: OpinionLexicon | None = None,
    batch_size: int | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    runner: Runner = run_here,
    progress: Progress | None = None,
) -> FaithfulnessSection:
    """The faithfulness section of an analysis (`headscope analyze --faithfulness-limit`, an analysis job): the
    analysed data's pairs as the analysis builds them (`pairs`, `source` naming the data in errors: an
    AnalysisError when they do not fit the checkpoint), the probe as `settings` says, at the checkpoint's
    training length; plausibility reads `lexicon`'s opinion words where the data has no gold spans. batch_size: the
    analysis's (None, left open: the device's, as its attention pass, passes/batch_size.py)."""
    specs, _ = unit_specs(checkpoint, list(examples), source, pairs)
    probe = FaithfulnessProbe(
        checkpoint,
        settings.limit,
        methods=settings.methods,
        erasure=settings.erasure,
        erase_targets=settings.erase_targets,
        ig_steps=settings.ig_steps,
        random_draws=settings.random_draws,
        seed=seed,
        flow_limit=settings.flow_limit,
    )
    if progress is not None:
        progress(0, min(settings.limit, len(specs)), "faithfulness")
    max_length = training_max_length(checkpoint)
    return dataset_faithfulness(
        checkpoint,
        specs,
        probe,
        lexicon=lexicon,
        max_length=max_length,
        batch_size=pass_batch_size(batch_size, checkpoint, max_length, CPU_BATCH_SIZE),
        bootstrap=bootstrap,
        seed=seed,
        runner=runner,
        progress=progress,
    )
