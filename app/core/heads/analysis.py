"""The head analysis: stream a labelled dataset through a checkpoint and score, label and rank every head.

`analyze` builds the pairs (units.py), runs one attention pass (app.core.attention_pass) with the
analysis probes (probes.py) — the checkpoint's statistics, the rule and pretrained baselines, the
interpretability rate, the fine-tune change, typical examples, the heads x heads map — then labels
the heads (labels.py), measures importance and ablation when asked (ablations.py) and returns a
typed `AnalysisResult` (result.py; `.to_json()` for files and the API).

Baselines: uniform and Clark et al.'s positional rules (baselines.py) on every input, and the
pretrained base model's same head (pretrained.py: the base model with the checkpoint's tokenizer)
on the same inputs. `result.support` says, per statistic family, how many examples carried it and
which data it came from (the no-op contrast needs category pairs whose aspect is absent).
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Any, Sequence

from app.core.attention_pass import Progress, Runner, Stopwatch, attention_pass, run_here
from app.core.checkpoint import LoadedCheckpoint
from app.core.datasets import Dataset, OpinionLexicon
from app.core.heads import probes, sections
from app.core.heads.ablations import ABLATION_LABEL, importance_and_ablation
from app.core.heads.labels import DEFAULT_RULE, LabelRule, describe_rule
from app.core.heads.pretrained import pretrained_location
from app.core.heads.result import RESULT_VERSION, AnalysisResult, DataSummary, ModelSummary
from app.core.heads.settings import AnalysisSettings
from app.core.heads.units import AnalysisError, UnitSpec, encode_unit, example_record, unit_specs
from app.core.sources import data_fingerprint

PHASES = ("statistics", "importance", "done")


def analyze(checkpoint: LoadedCheckpoint, dataset: Dataset, settings: AnalysisSettings = AnalysisSettings(), *,
            pretrained: LoadedCheckpoint | None = None, lexicon: OpinionLexicon | None = None,
            progress: Progress | None = None, runner: Runner = run_here,
            rule: LabelRule = DEFAULT_RULE) -> AnalysisResult:
    """Analyse every head of `checkpoint` on a loaded dataset (app.core.sources.load_data_source).

    pretrained: the pretrained base model (`load_pretrained_baseline`) for the per-head pretrained
    baseline, the pretrained interpretability rate and the fine-tune change; None leaves them out
    (settings.pretrained says whether the caller should load it). lexicon: the opinion lexicon for
    data without gold opinions (settings.lexicon says whether the caller should give it).
    progress(done, total, phase): after every batch of the pass ("statistics"), once before
    importance ("importance"), once at the end ("done"). runner: runs each batch's model work (the
    web passes one that runs it on the app's model thread).
    """
    started = time.perf_counter()
    info = checkpoint.info
    specs, pairing = unit_specs(checkpoint, list(dataset.examples), str(dataset.path), settings.pairs)
    specs = specs[:settings.max_examples] if settings.max_examples is not None else specs
    if not specs:
        raise AnalysisError(f"{dataset.path}: no pairs to analyse")
    max_length = training_max_length(checkpoint)
    report = progress or (lambda done, total, phase: None)

    found = analysis_probes(info.task, settings, pretrained is not None)
    stopwatch = Stopwatch()
    summary = attention_pass(checkpoint, specs, lambda spec: encode_unit(checkpoint, spec, lexicon, max_length),
                             [p for p in found.values() if p is not None], reference=pretrained,
                             batch_size=settings.batch_size, runner=runner, progress=report, phase="statistics",
                             stopwatch=stopwatch)

    tick = time.perf_counter()
    summaries = found["statistics"].summaries(settings.bootstrap, settings.seed)
    change = found["change"].summary(settings.bootstrap, settings.seed) if found["change"] else None
    stopwatch.add("bootstrap", tick)
    baselines = probes.baseline_table(list(summaries), found["rules"].rules,
                                      found["pretrained"].pretrained if found["pretrained"] else None)
    labels, evidence = sections.head_labels(summaries, baselines, rule)
    heads = sections.head_rows(info.num_layers, info.num_heads, summaries, baselines, labels, evidence,
                               found["typical"], change)
    labelled = sections.labelled_heads(heads)
    tick = time.perf_counter()
    head_map = sections.head_map(found["head_map"])
    stopwatch.add("head_map", tick)

    importance, ablations, not_computed = None, {}, {key: "not requested (importance=False / --no-importance)"
                                                     for key in ("importance", "ablation")}
    if settings.importance:
        report(summary.items, summary.items, "importance")
        tick = time.perf_counter()
        importance, ablations, not_computed = importance_and_ablation(
            checkpoint, specs[:settings.importance_limit], labelled, max_length=max_length,
            batch_size=settings.batch_size, draws=settings.ablation_draws, seed=settings.seed, runner=runner,
            ablate_labels=settings.ablate_labels)
        stopwatch.add("importance", tick)
    report(summary.items, summary.items, "done")

    reference = pretrained_location(checkpoint) if pretrained is not None else None
    return AnalysisResult(
        version=RESULT_VERSION,
        model=ModelSummary(info.id, info.task, info.format, list(info.labels), info.num_layers, info.num_heads,
                           info.base_model, str(checkpoint.device)),
        data=DataSummary(str(dataset.path), data_fingerprint(dataset), dataset.format, len(dataset.examples),
                         summary.observed, summary.skipped, pairing),
        settings=settings_record(settings, reference, lexicon, max_length),
        support=sections.support(info.task, pairing, found["statistics"], summaries, lexicon is not None),
        statistics=sorted(summaries), heads=heads, labelled=labelled,
        interpretability=sections.interpretability(info.task, found["interpretability"],
                                                   found["pretrained_interpretability"]),
        head_map=head_map,
        finetune_change=sections.finetune_change(found["change"], change, reference),
        examples=typical_examples(specs, found["typical"]),
        importance=importance, ablation=ablations.get(ABLATION_LABEL[info.task]), ablations=ablations,
        not_computed=not_computed,
        pairs_per_s=summary.observed / pass_seconds(stopwatch) if pass_seconds(stopwatch) > 0 else None,
        timings_s={**timings(stopwatch), "total": time.perf_counter() - started},
        computed_at=datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        run_id=uuid.uuid4().hex, rule=describe_rule(rule))


def analysis_probes(task: str, settings: AnalysisSettings, with_pretrained: bool) -> dict[str, Any]:
    """The probes of one analysis by role (None: not run). Order matters only for timing."""
    return {
        "statistics": probes.StatisticsProbe(task),
        "interpretability": probes.InterpretabilityProbe(task),
        "head_map": probes.HeadMapProbe(settings.js_sample),
        "rules": probes.RuleBaselinesProbe(task),
        "pretrained": probes.PretrainedBaselineProbe(task) if with_pretrained else None,
        "pretrained_interpretability": probes.InterpretabilityProbe(task, reference=True) if with_pretrained else None,
        "change": probes.FinetuneChangeProbe(task) if with_pretrained else None,
        "typical": probes.TypicalExamplesProbe(task, settings.typical_k, finetune=with_pretrained),
    }


def training_max_length(checkpoint: LoadedCheckpoint) -> int:
    """The max_length the checkpoint was trained with (its headscope.json training record), else its own."""
    info = checkpoint.info
    return int((info.metadata.get("training") or {}).get("args", {}).get("max_length") or info.max_length)


def settings_record(settings: AnalysisSettings, pretrained: str | None, lexicon: OpinionLexicon | None,
                    max_length: int) -> dict[str, Any]:
    """The settings as the result file records them (what ran, with the resolved pretrained model and lexicon)."""
    return {"limit": settings.max_examples, "batch_size": settings.batch_size, "bootstrap": settings.bootstrap,
            "seed": settings.seed, "max_length": max_length, "js_sample": settings.js_sample,
            "pretrained": pretrained, "lexicon": getattr(lexicon, "source", None) if lexicon is not None else None,
            "pairs": settings.pairs, "phrase_k": 3, "confidence": 0.95, "typical_k": settings.typical_k,
            "importance": settings.importance, "ablation_draws": settings.ablation_draws,
            "importance_limit": settings.importance_limit}


def typical_examples(specs: Sequence[UnitSpec], typical: probes.TypicalExamplesProbe) -> dict[str, dict[str, Any]]:
    """The pairs some head keeps as typical, by index, as the summary page shows them."""
    return {str(i): example_record(specs[i]) for i in sorted(typical.referenced() & set(range(len(specs))))}


def pass_seconds(stopwatch: Stopwatch) -> float:
    """The statistics pass: encoding, the forward pass, the statistics and the interpretability rate."""
    return stopwatch.seconds.get("forward", 0.0) + stopwatch.seconds.get("statistics_pass", 0.0)


def timings(stopwatch: Stopwatch) -> dict[str, float]:
    seconds = dict(stopwatch.seconds)
    seconds["statistics_pass"] = pass_seconds(stopwatch)
    seconds.pop("forward", None)
    if "reference_forward" in seconds:
        seconds["pretrained_pass"] = seconds.get("pretrained_pass", 0.0) + seconds.pop("reference_forward")
    return seconds
