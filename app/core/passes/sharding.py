"""Shard runners: a dataset pass cut into contiguous shards of whole batches, run here, in worker
processes or on Ray (ray_shards.py), and handed back in data order. The head analysis
(app.core.heads.shards) and the robustness suite (app.core.robustness.sharded) use them.

Shards are contiguous runs of whole batches (`shard_bounds`), so every forward pass sees the same
padded batch as in one process; what merging keeps equal to one pass is said where each feature
merges its shards. Runners: `LocalShards` (here, one after another: tests, reference),
`ProcessShards` (worker processes on this machine, several per GPU) and app.core.passes.ray_shards.RayShards
(one Ray task per GPU or CPU slot). Each `map`s a
shard work (a function of a task that loads its models with `load_models`) over the tasks.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

from app.core.model.checkpoint import CheckpointInfo, LoadedCheckpoint, load_checkpoint, pick_device
from app.core.passes.attention_pass import Progress


def shard_bounds(total: int, shards: int, batch_size: int) -> list[tuple[int, int]]:
    """[start, stop) of at most `shards` contiguous shards of whole batches (the last may be shorter)."""
    batches = math.ceil(total / batch_size)
    per = max(1, math.ceil(batches / max(1, shards))) * batch_size
    return [(start, min(start + per, total)) for start in range(0, total, per)]


_MODELS: dict[tuple, tuple[LoadedCheckpoint, LoadedCheckpoint | None]] = {}  # per worker process


def load_models(
    info: CheckpointInfo, with_pretrained: bool, device: str = "auto", half: bool = False
) -> tuple[LoadedCheckpoint, LoadedCheckpoint | None]:
    """The checkpoint and (when asked) its pretrained base, loaded once per process."""
    from app.core.model.pretrained import load_pretrained_baseline

    key = (info.id, str(info.path), info.source, with_pretrained, device, half)
    if key not in _MODELS:
        checkpoint = load_checkpoint(info, pick_device(device), half)
        _MODELS[key] = (checkpoint, load_pretrained_baseline(checkpoint) if with_pretrained else None)
    return _MODELS[key]


ShardWork = Callable[..., Any]  # work(task, checkpoint=None, pretrained=None, device="auto", half=False) -> result


class ShardRunner:
    """A place to run shard work: `count()` shards to cut, and `map` to run a work over their tasks;
    runners differ in where `map` runs it."""

    def count(self) -> int:
        raise NotImplementedError

    def map(
        self, work: ShardWork, tasks: Sequence[Any], sizes: Sequence[int], progress: Progress, phase: str
    ) -> list[Any]:
        raise NotImplementedError


class LocalShards(ShardRunner):
    """Shards run one after another in this process (the same merge as a cluster's; tests and reference)."""

    def __init__(
        self, shards: int, checkpoint: LoadedCheckpoint | None = None, pretrained: LoadedCheckpoint | None = None
    ) -> None:
        self.shards, self.checkpoint, self.pretrained = shards, checkpoint, pretrained

    def count(self) -> int:
        return self.shards

    def map(
        self, work: ShardWork, tasks: Sequence[Any], sizes: Sequence[int], progress: Progress, phase: str
    ) -> list[Any]:
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
        self.pool = ProcessPoolExecutor(
            processes, mp_context=get_context("spawn"), initializer=_init_process, initargs=(threads,)
        )
        self.workers: list[str] = []  # who ran each shard (host:pid:device), in data order

    def count(self) -> int:
        return self.processes

    def map(
        self, work: ShardWork, tasks: Sequence[Any], sizes: Sequence[int], progress: Progress, phase: str
    ) -> list[Any]:
        """work(task, device=, half=) in the pool; results in the tasks' order, progress as each finishes."""
        from concurrent.futures import as_completed

        futures = {
            self.pool.submit(_run_in_process, work, task, self.device, self.half): k for k, task in enumerate(tasks)
        }
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

    def __enter__(self) -> ProcessShards:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
