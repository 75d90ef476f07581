"""The head analysis's statistics pass over shards of the data, merged back into one.

`analyze(..., shards=runner)` hands a `ShardTask` (the checkpoint's metadata, the pairs, the settings,
the lexicon) to a shard runner (app.core.passes.sharding) through `run_shards`, and gets back one
`ShardResult` per shard; `merge_shards` folds the shards' probes, in data order, into the analysis's
own, which then finishes exactly as after a single pass (bootstrap, baselines, labels, typical
examples, head map, importance). What merging keeps equal to one pass:

* per-example statistic rows (bootstrap CIs, fine-tune change, agreement) are concatenated in data
  order: the very same rows, so the CIs come out the same;
* sums and counts (rule and pretrained baselines, interpretability hits, opinion sources) add;
* top-k typical examples are re-ranked over both shards' top-k;
* the heads x heads JS map averages over the first `js_sample` pairs of the whole data (a shard's
  head-map probe keeps each example's distances for that);
* with integrated gradients and an `ig_limit`, a shard that starts at pair s gets `ig_limit - s`, and
  its head map `js_sample - s` pairs (both exact when no pair is skipped as unencodable).

`shard_pass` is what a worker runs: it loads the checkpoint (and its pretrained base) once per
process unless given them, builds the shard probes and streams its pairs through the same
`statistics_pass` as `analyze`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.core.data.readers import OpinionLexicon
from app.core.heads.settings import AnalysisSettings
from app.core.heads.statistics_pass import AnalysisProbes, build_probes, statistics_pass
from app.core.inputs.units import UnitSpec
from app.core.model.checkpoint import CheckpointInfo, LoadedCheckpoint
from app.core.passes.attention_pass import PassSummary, Progress, Stopwatch
from app.core.passes.batch_size import batch_size_of
from app.core.passes.sharding import ShardRunner, load_models, shard_bounds


@dataclass
class ShardTask:
    """Everything a worker needs for its shard; `specs` are the shard's own pairs, from pair `offset` on."""

    info: CheckpointInfo
    specs: Sequence[UnitSpec]
    settings: AnalysisSettings
    with_pretrained: bool
    lexicon: OpinionLexicon | None
    max_length: int
    offset: int = 0

    def shard(self, start: int, stop: int) -> ShardTask:
        return replace(self, specs=list(self.specs[start:stop]), offset=self.offset + start)


@dataclass
class ShardResult:
    """One shard's pass: what it counted, its probes (no model inside), its seconds per part, who ran it."""

    offset: int
    summary: PassSummary
    probes: AnalysisProbes
    seconds: dict[str, float]
    worker: str


def shard_pass(
    task: ShardTask,
    checkpoint: LoadedCheckpoint | None = None,
    pretrained: LoadedCheckpoint | None = None,
    device: str = "auto",
    half: bool = False,
) -> ShardResult:
    """Run the analysis's statistics pass over one shard; its probes come back ready to merge."""
    if checkpoint is None:
        checkpoint, pretrained = load_models(task.info, task.with_pretrained, device, half)
    found = build_probes(checkpoint, task.settings, pretrained is not None, shard=True)
    ig = found.agreement.ig if found.agreement is not None else None
    if ig is not None and ig.limit is not None:
        ig.limit = max(0, ig.limit - task.offset)
    # the head map averages the data's first js_sample pairs: a shard past them computes none
    found.head_map.sample = max(0, found.head_map.sample - task.offset)
    stopwatch = Stopwatch()
    summary = statistics_pass(
        checkpoint,
        task.specs,
        found,
        task.settings,
        pretrained,
        task.lexicon,
        task.max_length,
        stopwatch=stopwatch,
        offset=task.offset,
        helpers=0,  # a shard is one of several workers sharing this machine's cores: no helper threads
    )
    if found.agreement is not None:
        found.agreement.agreement.checkpoint = None  # the model stays here; only statistics travel
    worker = f"{socket.gethostname()}:{os.getpid()}:{checkpoint.device}"
    return ShardResult(task.offset, summary, found, dict(stopwatch.seconds), worker)


def merge_shards(found: AnalysisProbes, results: Sequence[ShardResult], stopwatch: Stopwatch) -> PassSummary:
    """Fold the shards' probes into `found` in data order; the pass's counts, and its seconds summed over workers."""
    items = skipped = 0
    for result in sorted(results, key=lambda r: r.offset):
        found.merge(result.probes)
        items += result.summary.items
        skipped += result.summary.skipped
        for name, seconds in result.seconds.items():
            stopwatch.seconds[name] = stopwatch.seconds.get(name, 0.0) + seconds
    return PassSummary(items, skipped)


def run_shards(runner: ShardRunner, task: ShardTask, progress: Progress) -> list[ShardResult]:
    """Cut `runner.count()` shards of whole batches and run `shard_pass` on each through the runner."""
    bounds = shard_bounds(len(task.specs), runner.count(), batch_size_of(task.settings))
    return runner.map(
        shard_pass,
        [task.shard(start, stop) for start, stop in bounds],
        [stop - start for start, stop in bounds],
        progress,
        "statistics",
    )
