"""A robustness suite over shards of its sources: model tests and the scoring pass on workers, merged into one.

`run_robustness(..., shards=runner)` cuts the sources into contiguous shards (whole batches, as the
analysis does) and hands each worker its sources and the variants already made of them (offline
tests, a contrast set). The worker loads the checkpoint once per process, builds its sources' model
variants (counterfactuals, attacks: the costly part, one source at a time) and scores its sources
with all their variants in the same scoring pass as one process. Back here the shards' variants and
scores are put in the order one process would have made them — given variants first, then each
model test's, source by source — so the per-test reports, their bootstrap CIs and the heads that moved
come out as after a single pass (predictions identical, attention changes within float tolerance).
The ablation's masked re-scoring is sharded the same way (`sharded_predictions`).

Runners: app.core.passes.sharding.LocalShards (here, one after another) and app.core.passes.ray_shards.RayShards.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from app.core.inputs.units import UnitSpec
from app.core.model.checkpoint import CheckpointInfo, LoadedCheckpoint
from app.core.passes.attention_pass import Progress, Stopwatch, run_here
from app.core.passes.batch_size import given_batch
from app.core.passes.sharding import ShardRunner, load_models, shard_bounds
from app.core.robustness.attacks.runner import AttackOutcome
from app.core.robustness.model_tests import model_variants
from app.core.robustness.scoring import Scores, masked_predictions, score_suite
from app.core.robustness.settings import CPU_BATCH_SIZE, RobustnessSettings
from app.core.robustness.variants import Variant


@dataclass
class SuiteShardTask:
    """One shard: its sources (from source `offset` on), the variants given for them (source indices local
    to the shard), the model tests to run on them."""

    info: CheckpointInfo
    sources: list[UnitSpec]
    given: list[Variant]
    model_tests: list[str]
    settings: RobustnessSettings
    max_length: int
    offset: int


@dataclass
class SuiteShardResult:
    """A shard's model variants (local source indices), attack outcomes per test, and the scores of its
    sources and of `given + made` in that order."""

    offset: int
    made: list[Variant]
    outcomes: dict[str, list[AttackOutcome]]
    scores: Scores
    seconds: dict[str, float]
    worker: str = field(default="")


def suite_shard(
    task: SuiteShardTask,
    checkpoint: LoadedCheckpoint | None = None,
    pretrained: Any = None,
    device: str = "auto",
    half: bool = False,
) -> SuiteShardResult:
    """What a worker runs: its sources' model variants, then one scoring pass over its sources and variants."""

    if checkpoint is None:
        checkpoint, _ = load_models(task.info, False, device, half)
    stopwatch = Stopwatch()
    made, outcomes = model_variants(
        checkpoint, task.sources, task.model_tests, task.settings, run_here, lambda done, total, phase: None
    )
    scores = score_suite(
        checkpoint,
        task.sources,
        task.given + made,
        max_length=task.max_length,
        batch_size=given_batch(task.settings, CPU_BATCH_SIZE),
        stopwatch=stopwatch,
        helpers=0,  # a shard is one of several workers sharing this machine's cores: no helper threads
    )
    scores.change = {name: {j: value.cpu() for j, value in changes.items()} for name, changes in scores.change.items()}
    worker = f"{socket.gethostname()}:{os.getpid()}:{checkpoint.device}"
    return SuiteShardResult(task.offset, made, outcomes, scores, dict(stopwatch.seconds), worker)


def sharded_suite(
    info: CheckpointInfo,
    sources: Sequence[UnitSpec],
    given: Sequence[Variant],
    model_tests: Sequence[str],
    settings: RobustnessSettings,
    max_length: int,
    shards: ShardRunner,
    progress: Progress,
) -> tuple[list[Variant], Scores, dict[str, list[AttackOutcome]]]:
    """Every variant (given, then each model test's) with the scores of the sources and variants, and each
    attack's outcomes in source order: what one process makes, made on the runner's shards."""
    bounds = shard_bounds(len(sources), shards.count(), given_batch(settings, CPU_BATCH_SIZE))
    owned = [[g for g, v in enumerate(given) if start <= v.source < stop] for start, stop in bounds]
    tasks = [
        SuiteShardTask(
            info,
            list(sources[start:stop]),
            [moved(given[g], -start) for g in mine],
            list(model_tests),
            settings,
            max_length,
            start,
        )
        for (start, stop), mine in zip(bounds, owned)
    ]
    results = shards.map(suite_shard, tasks, [stop - start for start, stop in bounds], progress, "scoring (shards)")
    return merge_suite(given, owned, results, model_tests)


def merge_suite(
    given: Sequence[Variant],
    owned: Sequence[Sequence[int]],
    results: Sequence[SuiteShardResult],
    model_tests: Sequence[str],
) -> tuple[list[Variant], Scores, dict[str, list[AttackOutcome]]]:
    """The shards' variants and scores in one process's order; `owned[k]`: the given variants shard k got."""
    slots: dict[tuple[int, int], int] = {}  # (shard, its variant index) -> index in the merged list
    for k, mine in enumerate(owned):
        slots.update({(k, local): g for local, g in enumerate(mine)})
    variants = list(given)
    for group in made_groups(model_tests):
        for k, result in enumerate(results):
            for local, variant in enumerate(result.made):
                if group_of(variant.test) == group:
                    slots[(k, len(owned[k]) + local)] = len(variants)
                    variants.append(moved(variant, result.offset))
    merged = Scores(
        [p for r in results for p in r.scores.source_predictions],
        [None] * len(variants),
        [g for r in results for g in r.scores.source_gold],
        [None] * len(variants),
        {name: {} for name in results[0].scores.change} if results else {},
    )
    for (k, local), g in slots.items():
        shard = results[k].scores
        merged.variant_predictions[g], merged.variant_gold[g] = (
            shard.variant_predictions[local],
            shard.variant_gold[local],
        )
        for name, changes in shard.change.items():
            if local in changes:
                merged.change[name][g] = changes[local]
    outcomes = {
        test: [
            replace(o, source=o.source + r.offset, variant=o.variant and moved(o.variant, r.offset))
            for r in results
            for o in r.outcomes.get(test, [])
        ]
        for test in model_tests
        if test.startswith("q2-")
    }
    return variants, merged, outcomes


def made_groups(model_tests: Sequence[str]) -> list[str]:
    """The order model variants come in: the counterfactuals (one attribution serves every k), then each attack."""
    return list(dict.fromkeys(group_of(t) for t in model_tests))


def group_of(test: str) -> str:
    return "q3" if test.startswith("q3-") else test


def moved(variant: Variant, by: int) -> Variant:
    """The variant with its source index shifted (into a shard: negative; back: the shard's offset)."""
    return replace(variant, source=variant.source + by)


@dataclass
class MaskedTask:
    info: CheckpointInfo
    specs: list[UnitSpec]
    mask: torch.Tensor
    max_length: int
    batch_size: int


def masked_shard(
    task: MaskedTask,
    checkpoint: LoadedCheckpoint | None = None,
    pretrained: Any = None,
    device: str = "auto",
    half: bool = False,
) -> list[int | None]:
    if checkpoint is None:
        checkpoint, _ = load_models(task.info, False, device, half)
    return masked_predictions(checkpoint, task.specs, task.mask, max_length=task.max_length, batch_size=task.batch_size)


def sharded_predictions(
    info: CheckpointInfo, shards: ShardRunner, max_length: int, batch_size: int
) -> Callable[[torch.Tensor, Sequence[UnitSpec]], list[int | None]]:
    """predict(mask, specs) for the ablation, each shard of specs on a worker."""

    def predict(mask: torch.Tensor, specs: Sequence[UnitSpec]) -> list[int | None]:
        bounds = shard_bounds(len(specs), shards.count(), batch_size)
        tasks = [
            MaskedTask(info, list(specs[start:stop]), mask.cpu(), max_length, batch_size) for start, stop in bounds
        ]
        found = shards.map(
            masked_shard,
            tasks,
            [stop - start for start, stop in bounds],
            lambda done, total, phase: None,
            "ablation (shards)",
        )
        return [p for shard in found for p in shard]

    return predict
