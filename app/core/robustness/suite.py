"""Run a robustness suite: score the sources and their variants in one pass, report each test.

`evaluate_variants` takes variants already generated (by the offline generators, the attacks, or a
user's own contrast set read from JSONL) and returns the typed result; the generation step that
feeds it lives with the tests themselves.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import torch

from app.core.inputs.batching import training_max_length
from app.core.inputs.units import UnitSpec
from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.summary import ModelSummary
from app.core.passes.attention_pass import Progress, Runner, Stopwatch, run_here
from app.core.passes.batch_size import given_batch, pass_batch_size, with_batch_size
from app.core.robustness.carriers import flip_carriers
from app.core.robustness.outcomes import SuiteTest, ablated_report, test_report
from app.core.robustness.result import ROBUSTNESS_VERSION, RobustnessResult
from app.core.robustness.scoring import Scores, masked_predictions, score_suite
from app.core.robustness.settings import CPU_BATCH_SIZE, RobustnessSettings
from app.core.robustness.variants import Variant


def evaluate_variants(
    checkpoint: LoadedCheckpoint,
    sources: Sequence[UnitSpec],
    variants: Sequence[Variant],
    infos: dict[str, SuiteTest],
    settings: RobustnessSettings,
    *,
    data: dict[str, Any],
    not_run: dict[str, str] | None = None,
    runner: Runner = run_here,
    progress: Progress | None = None,
    scores: Scores | None = None,
    predict: Callable[[torch.Tensor, Sequence[UnitSpec]], list] | None = None,
) -> RobustnessResult:
    """Score every source and variant, then report each test (in the order of `infos`).

    scores: already scored elsewhere (app.core.robustness.sharded); predict(mask, specs): the ablation's
    masked predictions (default: here, on the runner)."""
    started, stopwatch = time.perf_counter(), Stopwatch()
    info = checkpoint.info
    max_length = training_max_length(checkpoint)
    batch_size = pass_batch_size(settings.batch_size, checkpoint, max_length, CPU_BATCH_SIZE)
    # the record says the batch the scoring ran at (left open: this device's, or the shards' given one)
    recorded = with_batch_size(settings, batch_size if scores is None else given_batch(settings, CPU_BATCH_SIZE))
    if scores is None:
        scores = score_suite(
            checkpoint,
            sources,
            variants,
            max_length=max_length,
            batch_size=batch_size,
            runner=runner,
            progress=progress,
            stopwatch=stopwatch,
        )
    if predict is None:

        def predict(mask: torch.Tensor, specs: Sequence[UnitSpec]) -> list:
            return masked_predictions(
                checkpoint, specs, mask, max_length=max_length, batch_size=batch_size, runner=runner
            )

    by_test: dict[str, list[int]] = {}
    for j, variant in enumerate(variants):
        by_test.setdefault(variant.test, []).append(j)
    labels = list(info.labels)
    reports = []
    for name, test in infos.items():
        indices = by_test.get(name, [])
        report = test_report(test, sources, variants, indices, scores, labels, settings, info.task)
        if settings.ablate_moved and indices:
            tick = time.perf_counter()
            report.ablated = ablated_report(
                report, sources, variants, indices, scores, (info.num_layers, info.num_heads), predict, settings
            )
            stopwatch.add("ablation", tick)
        if settings.patch and indices:
            tick = time.perf_counter()
            report.patched = _patched(
                checkpoint, sources, variants, indices, scores, report, settings, runner, progress
            )
            stopwatch.add("patching", tick)
        reports.append(report)
    if progress is not None:
        progress(len(sources) + len(variants), len(sources) + len(variants), "done")
    return RobustnessResult(
        version=ROBUSTNESS_VERSION,
        model=ModelSummary(
            info.id,
            info.task,
            info.format,
            labels,
            info.num_layers,
            info.num_heads,
            info.base_model,
            str(checkpoint.device),
        ),
        data={**data, "sources": len(sources), "variants": len(variants)},
        settings=recorded.model_dump(mode="json"),
        tests=reports,
        overall=overall(scores, labels),
        not_run=dict(not_run or {}),
        timings_s={**stopwatch.seconds, "total": time.perf_counter() - started},
        computed_at=datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        run_id=uuid.uuid4().hex,
    )


def _patched(checkpoint, sources, variants, indices, scores, report, settings, runner, progress):
    """The heads that carry the test's flips, next to its top moved heads (focus rows, else [CLS])."""
    moved = report.moved.get("focus") or report.moved.get("cls")

    def step(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total, f"patching ({report.test})")

    return flip_carriers(
        checkpoint,
        sources,
        variants,
        indices,
        scores,
        [(h["layer"], h["head"]) for h in moved.top] if moved else [],
        limit=settings.patch_limit,
        bootstrap=settings.bootstrap,
        seed=settings.seed,
        max_length=training_max_length(checkpoint),
        runner=runner,
        progress=step,
    )


def overall(scores, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy on every source the model could read (the in-distribution figure the tests start from)."""
    pairs = [(p, g) for p, g in zip(scores.source_predictions, scores.source_gold) if p is not None and g is not None]
    return {
        "source_accuracy": sum(p == g for p, g in pairs) / len(pairs) if pairs else None,
        "sources": len(pairs),
        "labels": list(labels),
    }
