"""The head analysis: stream a labelled dataset through a checkpoint and score, label and rank every head.

`analyze` builds the pairs (units.py), runs one attention pass (app.core.passes.attention_pass) with the
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
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from app.core.data.readers import Dataset, OpinionLexicon
from app.core.data.sources import data_fingerprint
from app.core.heads import agreement_dataset as attribution
from app.core.heads import probes, sections
from app.core.heads.ablations import ABLATION_LABEL, importance_and_ablation
from app.core.heads.labels import DEFAULT_RULE, LabelRule, describe_rule
from app.core.heads.result import RESULT_VERSION, AnalysisResult, DataSummary
from app.core.heads.sep_survival import sep_survival, top_sep_survival
from app.core.heads.settings import CPU_BATCH_SIZE, AnalysisSettings
from app.core.heads.shards import ShardTask, merge_shards, run_shards
from app.core.heads.statistics_pass import AnalysisProbes, build_probes, statistics_pass
from app.core.inputs.batching import training_max_length
from app.core.inputs.units import AnalysisError, UnitSpec, example_record, unit_specs
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.pretrained import pretrained_location
from app.core.model.summary import ModelSummary
from app.core.passes.attention_pass import PassSummary, Progress, Runner, Stopwatch, run_here
from app.core.passes.batch_size import batch_size_of, given_batch, pass_batch_size, with_batch_size
from app.core.passes.sharding import ShardRunner

PHASES = ("statistics", "importance", "done")
NOT_REQUESTED = "not requested (importance=False / --no-importance)"


def analyze(
    checkpoint: LoadedCheckpoint,
    dataset: Dataset,
    settings: AnalysisSettings = AnalysisSettings(),
    *,
    pretrained: LoadedCheckpoint | None = None,
    lexicon: OpinionLexicon | None = None,
    progress: Progress | None = None,
    runner: Runner = run_here,
    rule: LabelRule = DEFAULT_RULE,
    shards: ShardRunner | None = None,
) -> AnalysisResult:
    """Analyse every head of `checkpoint` on a loaded dataset (app.core.data.sources.load_data_source).

    pretrained: the pretrained base model (`load_pretrained_baseline`) for the per-head pretrained
    baseline, the pretrained interpretability rate and the fine-tune change; None leaves them out
    (settings.pretrained says whether the caller should load it). lexicon: the opinion lexicon for
    data without gold opinions (settings.lexicon says whether the caller should give it).
    progress(done, total, phase): after every batch of the pass ("statistics"), once before
    importance ("importance"), once at the end ("done"). runner: runs each batch's model work (the
    web passes one that runs it on the app's model thread). shards: runs the statistics pass on
    shards of the pairs elsewhere (app.core.passes.ray_shards: Ray workers) and returns each shard's probes
    in data order; they are merged here and finished as one pass would be.
    """
    started, stopwatch = time.perf_counter(), Stopwatch()
    report = progress or (lambda done, total, phase: None)
    specs, pairing = unit_specs(checkpoint, list(dataset.examples), str(dataset.path), settings.pairs)
    specs = specs[: settings.max_examples]
    if not specs:
        raise AnalysisError(f"{dataset.path}: no pairs to analyse")
    max_length = training_max_length(checkpoint)
    # importance and shards: the same batches on any device
    asked = with_batch_size(settings, given_batch(settings, CPU_BATCH_SIZE))
    if shards is None:
        # attention maps held per weight: the pretrained model's beside the checkpoint's; norm-based, weights and norms
        maps = (2 if pretrained is not None else 1) * (3 if settings.attention == "norm" else 1)
        size = pass_batch_size(settings.batch_size, checkpoint, max_length, CPU_BATCH_SIZE, maps)
        settings = with_batch_size(settings, size)
    else:
        settings = asked
    found = build_probes(checkpoint, settings, pretrained is not None)
    pass_started = time.perf_counter()
    passed = run_statistics(
        checkpoint, specs, found, settings, pretrained, lexicon, max_length, shards, runner, report, stopwatch
    )
    pass_wall = time.perf_counter() - pass_started
    data = DataSummary(
        str(dataset.path),
        data_fingerprint(dataset),
        dataset.format,
        len(dataset.examples),
        passed.observed,
        passed.skipped,
        pairing,
    )
    result = head_sections(checkpoint, settings, found, rule, stopwatch, data)
    result.support = sections.support(
        checkpoint.info.task, pairing, found.statistics, found.summaries, lexicon is not None
    )
    if found.sep_survival is not None and settings.sep_heads == "top_sep":
        result.sep_survival = top_sep_survival(found.sep_survival, settings.bootstrap, settings.seed)
    elif found.sep_survival is not None:
        result.sep_survival = sep_survival(
            found.sep_survival, found.rules.rules, pretrained is not None, rule, settings.bootstrap, settings.seed
        )
    if found.agreement is not None:
        result.support["attribution"] = found.agreement.support()
        result.attribution = found.agreement.section(result.interpretability.rate)
    if settings.importance:
        report(passed.items, passed.items, "importance")
        add_importance(result, checkpoint, specs[: settings.importance_limit], asked, max_length, runner, stopwatch)
    report(passed.items, passed.items, "done")
    reference = pretrained_location(checkpoint) if pretrained is not None else None
    result.settings = settings_record(settings, reference, lexicon, max_length)
    result.finetune_change = sections.finetune_change(found.change, found.change_summary, reference)
    result.examples = typical_examples(specs, found.typical)
    # the pass's wall clock, every probe in it: its parts overlap where helper threads observe (passes/pipeline.py)
    result.pairs_per_s = passed.observed / pass_wall if pass_wall > 0 else None
    result.timings_s = {**timings(stopwatch), "pass_wall": pass_wall, "total": time.perf_counter() - started}
    return result


def run_statistics(
    checkpoint: LoadedCheckpoint,
    specs: Sequence[UnitSpec],
    found: AnalysisProbes,
    settings: AnalysisSettings,
    pretrained: LoadedCheckpoint | None,
    lexicon: OpinionLexicon | None,
    max_length: int,
    shards: ShardRunner | None = None,
    runner: Runner = run_here,
    progress: Progress | None = None,
    stopwatch: Stopwatch | None = None,
) -> PassSummary:
    """The statistics pass into `found`: here, or on `shards` (their probes merged into `found` in data order)."""
    stopwatch = stopwatch if stopwatch is not None else Stopwatch()
    if shards is None:
        return statistics_pass(
            checkpoint,
            specs,
            found,
            settings,
            pretrained,
            lexicon,
            max_length,
            runner=runner,
            progress=progress,
            stopwatch=stopwatch,
        )
    task = ShardTask(checkpoint.info, specs, settings, pretrained is not None, lexicon, max_length)
    return merge_shards(found, run_shards(shards, task, progress or (lambda done, total, phase: None)), stopwatch)


def head_sections(
    checkpoint: LoadedCheckpoint,
    settings: AnalysisSettings,
    found: AnalysisProbes,
    rule: LabelRule,
    stopwatch: Stopwatch,
    data: DataSummary,
) -> AnalysisResult:
    """The result's per-head sections from the finished probes (settings and timings are filled in after)."""
    info = checkpoint.info
    tick = time.perf_counter()
    found.summaries = summaries = found.statistics.summaries(settings.bootstrap, settings.seed)
    found.change_summary = found.change.summary(settings.bootstrap, settings.seed) if found.change else None
    tick = stopwatch.add("bootstrap", tick)
    baselines = probes.baseline_table(
        list(summaries), found.rules.rules, found.pretrained.pretrained if found.pretrained else None
    )
    if found.agreement is not None:
        found.agreement.merge(summaries, baselines, settings.bootstrap, settings.seed)
    labels, evidence = sections.head_labels(summaries, baselines, rule)
    heads = sections.head_rows(
        info.num_layers,
        info.num_heads,
        summaries,
        baselines,
        labels,
        evidence,
        found.typical,
        found.change_summary,
        rule,
    )
    head_map = sections.head_map(found.head_map)
    stopwatch.add("head_map", tick)
    return AnalysisResult(
        version=RESULT_VERSION,
        model=ModelSummary(
            info.id,
            info.task,
            info.format,
            list(info.labels),
            info.num_layers,
            info.num_heads,
            info.base_model,
            str(checkpoint.device),
        ),
        data=data,
        settings={},
        support={},
        statistics=sorted(summaries),
        heads=heads,
        labelled=sections.labelled_heads(heads),
        interpretability=sections.interpretability(
            info.task, found.interpretability, found.pretrained_interpretability
        ),
        head_map=head_map,
        finetune_change=None,
        examples={},
        importance=None,
        ablation=None,
        ablations={},
        not_computed={"importance": NOT_REQUESTED, "ablation": NOT_REQUESTED},
        pairs_per_s=None,
        timings_s={},
        computed_at=datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        run_id=uuid.uuid4().hex,
        rule=describe_rule(rule),
    )


def add_importance(
    result: AnalysisResult,
    checkpoint: LoadedCheckpoint,
    specs: Sequence[UnitSpec],
    settings: AnalysisSettings,
    max_length: int,
    runner: Runner,
    stopwatch: Stopwatch,
) -> None:
    """Head importance and the ablation of the labelled heads (the task's own label and settings.ablate_labels)."""
    tick = time.perf_counter()
    result.importance, result.ablations, result.not_computed = importance_and_ablation(
        checkpoint,
        specs,
        result.labelled,
        max_length=max_length,
        batch_size=batch_size_of(settings),
        draws=settings.ablation_draws,
        seed=settings.seed,
        runner=runner,
        ablate_labels=settings.ablate_labels,
    )
    result.ablation = result.ablations.get(ABLATION_LABEL[checkpoint.info.task])
    stopwatch.add("importance", tick)


def settings_record(
    settings: AnalysisSettings, pretrained: str | None, lexicon: OpinionLexicon | None, max_length: int
) -> dict[str, Any]:
    """The settings as the result file records them (what ran, with the resolved pretrained model and lexicon)."""
    return {
        "limit": settings.max_examples,
        "batch_size": batch_size_of(settings),
        "bootstrap": settings.bootstrap,
        "seed": settings.seed,
        "max_length": max_length,
        "js_sample": settings.js_sample,
        "pretrained": pretrained,
        "lexicon": getattr(lexicon, "source", None) if lexicon is not None else None,
        "pairs": settings.pairs,
        "phrase_k": 3,
        "confidence": 0.95,
        "typical_k": settings.typical_k,
        "importance": settings.importance,
        "ablation_draws": settings.ablation_draws,
        "attention": settings.attention,
        **({"sep_heads": settings.sep_heads} if settings.attention == "norm" else {}),  # which [SEP] survival ran
        "importance_limit": settings.importance_limit,
        **attribution.settings_record(settings),
    }


def typical_examples(specs: Sequence[UnitSpec], typical: probes.TypicalExamplesProbe) -> dict[str, dict[str, Any]]:
    """The pairs some head keeps as typical, by index, as the summary page shows them."""
    return {str(i): example_record(specs[i]) for i in sorted(typical.referenced() & set(range(len(specs))))}


def timings(stopwatch: Stopwatch) -> dict[str, float]:
    seconds = dict(stopwatch.seconds)
    # the statistics pass's parts: encoding, the forward pass, the statistics and the interpretability rate
    seconds["statistics_pass"] = seconds.get("forward", 0.0) + seconds.get("statistics_pass", 0.0)
    seconds.pop("forward", None)
    if "reference_forward" in seconds:
        seconds["pretrained_pass"] = seconds.get("pretrained_pass", 0.0) + seconds.pop("reference_forward")
    return seconds
