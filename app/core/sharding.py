"""The head analysis's statistics pass over shards of the data, merged back into one.

`analyze(..., shards=runner)` hands a `ShardTask` (the checkpoint's metadata, the pairs, the
settings, the lexicon) to a shard runner and gets back one `ShardResult` per shard; `merge_shards`
folds the shards' probes, in data order, into the analysis's own, which then finishes exactly as
after a single pass (bootstrap, baselines, labels, typical examples, head map, importance).

Shards are contiguous runs of whole batches (`shard_bounds`), so every forward pass sees the same
padded batch as in one process. What merging keeps equal to one pass:

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
`statistics_pass` as `analyze`. Runners: `LocalShards` (here, one after another: tests, reference),
`ProcessShards` (worker processes on this machine, several per GPU) and app.core.distributed.RayShards
(one Ray task per GPU or CPU slot). All also `map` any shard work
(a function of a task that loads its models with `load_models`): the robustness suite's shards use it.
"""

from __future__ import annotations

import math
import os
import socket
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Sequence

from app.core.attention_pass import PassSummary, Progress, Stopwatch
from app.core.checkpoint import CheckpointInfo, LoadedCheckpoint, load_checkpoint, pick_device

if TYPE_CHECKING:
    from app.core.heads.analysis import AnalysisProbes
    from app.core.heads.settings import AnalysisSettings


@dataclass
class ShardTask:
    """Everything a worker needs for its shard; `specs` are the shard's own pairs, from pair `offset` on."""

    info: CheckpointInfo
    specs: Sequence[Any]  # app.core.heads.units.UnitSpec
    settings: "AnalysisSettings"
    with_pretrained: bool
    lexicon: Any  # app.core.datasets.OpinionLexicon | None
    max_length: int
    offset: int = 0

    def shard(self, start: int, stop: int) -> "ShardTask":
        return replace(self, specs=list(self.specs[start:stop]), offset=self.offset + start)


@dataclass
class ShardResult:
    """One shard's pass: what it counted, its probes (no model inside), its seconds per part, who ran it."""

    offset: int
    summary: PassSummary
    probes: "AnalysisProbes"
    seconds: dict[str, float]
    worker: str


def shard_bounds(total: int, shards: int, batch_size: int) -> list[tuple[int, int]]:
    """[start, stop) of at most `shards` contiguous shards of whole batches (the last may be shorter)."""
    batches = math.ceil(total / batch_size)
    per = max(1, math.ceil(batches / max(1, shards))) * batch_size
    return [(start, min(start + per, total)) for start in range(0, total, per)]


_MODELS: dict[tuple, tuple[LoadedCheckpoint, LoadedCheckpoint | None]] = {}  # per worker process


def load_models(info: CheckpointInfo, with_pretrained: bool, device: str = "auto",
                half: bool = False) -> tuple[LoadedCheckpoint, LoadedCheckpoint | None]:
    """The checkpoint and (when asked) its pretrained base, loaded once per process."""
    from app.core.heads.pretrained import load_pretrained_baseline

    key = (info.id, str(info.path), info.source, with_pretrained, device, half)
    if key not in _MODELS:
        checkpoint = load_checkpoint(info, pick_device(device), half)
        _MODELS[key] = (checkpoint, load_pretrained_baseline(checkpoint) if with_pretrained else None)
    return _MODELS[key]


def shard_pass(task: ShardTask, checkpoint: LoadedCheckpoint | None = None, pretrained: LoadedCheckpoint | None = None,
               device: str = "auto", half: bool = False) -> ShardResult:
    """Run the analysis's statistics pass over one shard; its probes come back ready to merge."""
    from app.core.heads.analysis import build_probes, statistics_pass

    if checkpoint is None:
        checkpoint, pretrained = load_models(task.info, task.with_pretrained, device, half)
    found = build_probes(checkpoint, task.settings, pretrained is not None, shard=True)
    ig = found.agreement.ig if found.agreement is not None else None
    if ig is not None and ig.limit is not None:
        ig.limit = max(0, ig.limit - task.offset)
    # the head map averages the data's first js_sample pairs: a shard past them computes none
    found.head_map.sample = max(0, found.head_map.sample - task.offset)
    stopwatch = Stopwatch()
    summary = statistics_pass(checkpoint, task.specs, found, task.settings, pretrained, task.lexicon, task.max_length,
                              stopwatch=stopwatch, offset=task.offset)
    if found.agreement is not None:
        found.agreement.agreement.checkpoint = None  # the model stays here; only statistics travel
    worker = f"{socket.gethostname()}:{os.getpid()}:{checkpoint.device}"
    return ShardResult(task.offset, summary, found, dict(stopwatch.seconds), worker)


def merge_shards(found: "AnalysisProbes", results: Sequence[ShardResult], stopwatch: Stopwatch) -> PassSummary:
    """Fold the shards' probes into `found` in data order; the pass's counts, and its seconds summed over workers."""
    items = skipped = 0
    for result in sorted(results, key=lambda r: r.offset):
        found.merge(result.probes)
        items += result.summary.items
        skipped += result.summary.skipped
        for name, seconds in result.seconds.items():
            stopwatch.seconds[name] = stopwatch.seconds.get(name, 0.0) + seconds
    return PassSummary(items, skipped)


ShardWork = Callable[..., Any]  # work(task, checkpoint=None, pretrained=None, device="auto", half=False) -> result


class ShardRunner:
    """What every runner does with an analysis: cut `count()` shards of whole batches and run `shard_pass` on
    each through `map`; runners differ in where `map` runs the work."""

    def count(self) -> int:
        raise NotImplementedError

    def map(self, work: ShardWork, tasks: Sequence[Any], sizes: Sequence[int], progress: Progress,
            phase: str) -> list[Any]:
        raise NotImplementedError

    def __call__(self, task: ShardTask, progress: Progress | Callable[..., None]) -> list[ShardResult]:
        bounds = shard_bounds(len(task.specs), self.count(), task.settings.batch_size)
        return self.map(shard_pass, [task.shard(start, stop) for start, stop in bounds],
                        [stop - start for start, stop in bounds], progress, "statistics")


class LocalShards(ShardRunner):
    """Shards run one after another in this process (the same merge as a cluster's; tests and reference)."""

    def __init__(self, shards: int, checkpoint: LoadedCheckpoint | None = None,
                 pretrained: LoadedCheckpoint | None = None) -> None:
        self.shards, self.checkpoint, self.pretrained = shards, checkpoint, pretrained

    def count(self) -> int:
        return self.shards

    def map(self, work: ShardWork, tasks: Sequence[Any], sizes: Sequence[int], progress: Progress,
            phase: str) -> list[Any]:
        """work(task) for every task, in order, with the models given here; progress after each, by sizes."""
        results, done = [], 0
        for task, size in zip(tasks, sizes):
            results.append(work(task, checkpoint=self.checkpoint, pretrained=self.pretrained))
            done += size
            progress(done, sum(sizes), phase)
        return results


def _init_process(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    # the processes are the parallelism: a fast tokenizer's own thread pool in each would oversubscribe the cores
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _run_in_process(work: ShardWork, task: Any, device: str, half: bool | str) -> Any:
    return work(task, device=device, half=half)


class ProcessShards(ShardRunner):
    """Shards in worker processes on this machine, several sharing one GPU, or one per CPU core.

    A pass on a GPU is bound by its host side (tokenising, each batch's bookkeeping: one core per
    process) long before the device is busy, so `processes` workers on one GPU serve about that many
    times the pairs. Each worker loads the checkpoint from its folder once (`load_models`) and keeps it
    for later calls while the pool lives: use it as a context manager, or `close()` it.
    """

    def __init__(self, processes: int, device: str = "auto", half: bool | str = False, threads: int = 1) -> None:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        self.processes, self.device, self.half = processes, device, half
        # spawn, not fork: the parent may already hold a CUDA context, which a forked child cannot use
        self.pool = ProcessPoolExecutor(processes, mp_context=get_context("spawn"), initializer=_init_process,
                                        initargs=(threads,))
        self.workers: list[str] = []  # who ran each shard (host:pid:device), in data order

    def count(self) -> int:
        return self.processes

    def map(self, work: ShardWork, tasks: Sequence[Any], sizes: Sequence[int], progress: Progress,
            phase: str) -> list[Any]:
        """work(task, device=, half=) in the pool; results in the tasks' order, progress as each finishes."""
        from concurrent.futures import as_completed

        futures = {self.pool.submit(_run_in_process, work, task, self.device, self.half): k
                   for k, task in enumerate(tasks)}
        results: list[Any] = [None] * len(tasks)
        done = 0
        for future in as_completed(futures):
            k = futures[future]
            results[k] = future.result()
            done += sizes[k]
            progress(done, sum(sizes), phase)
        self.workers = [result.worker for result in results if hasattr(result, "worker")] or self.workers
        return results

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "ProcessShards":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
