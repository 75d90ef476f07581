"""The server's one model thread, which pads concurrent live inspections into one forward pass.

All model work of the server runs on this one thread: torch's OpenMP pool is per calling thread,
and hopping between threadpool workers made every forward pass slower. Two kinds of work arrive:

* `submit(fn)` (the `Executor` interface): a background job's batch, a comparison, an attribution;
  run alone, in arrival order;
* `inspect(loaded, prepared)`: one live inspection (app.core.passes.inspection.prepare_inspection), a
  future of its `Inspection`.

Micro-batching. When the thread takes an inspection it also takes every inspection of the same
checkpoint queued behind it, up to `max_batch` rows and `max_tokens` padded tokens (rows x the
longest), and runs them as one padded forward pass (`inspect_batch`; each result equals the
inspection run alone). While requests are still being read and tokenised (`arriving()`), it waits
up to `window_ms` for them to join; nothing else waits, so a lone client never pays the window.

Interleaving. Job batches are queued like everything else and keep their order: the job thread puts
one batch at a time and waits for it, so a live user waits for at most the batch in progress plus
one job batch, and a job waits for at most one inspection batch between two of its own.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from app.core.model.checkpoint import LoadedCheckpoint
from app.core.model.onnx_fastpath import FastPaths
from app.core.passes.inspection import Inspection, PreparedInspection, inspect_batch

log = logging.getLogger(__name__)


@dataclass
class _Work:
    future: Future
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict


@dataclass
class _Inspect:
    future: Future
    loaded: LoadedCheckpoint
    prepared: PreparedInspection


@dataclass
class BatchStats:
    """What the thread ran: forward passes of inspections, the inspections in them, the largest batch."""

    batches: int = 0
    inspections: int = 0
    largest: int = 0
    work: int = 0
    sizes: dict[int, int] = field(default_factory=dict)  # inspections per batch -> batches
    busy_s: float = 0.0  # seconds the thread spent running work and batches

    def to_json(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "inspections": self.inspections,
            "largest": self.largest,
            "work": self.work,
            "busy_s": round(self.busy_s, 3),
            "sizes": {str(k): v for k, v in sorted(self.sizes.items())},
        }


class ModelBatcher(Executor):
    def __init__(
        self,
        window_ms: float = 2.0,
        max_batch: int = 32,
        max_tokens: int = 8192,
        threads: int | None = None,
        name: str = "model_0",
        fast: FastPaths | None = None,
    ):
        self.window_s, self.max_batch, self.max_tokens, self.threads = window_ms / 1000, max_batch, max_tokens, threads
        self.fast = fast  # inspections' faster forward (ONNX Runtime) per checkpoint, once built; None: plain
        self.stats = BatchStats()
        self._queue: deque[_Work | _Inspect] = deque()
        self._cond = threading.Condition()
        self._arriving = 0
        self._closing = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    # --- asking ------------------------------------------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self._put(_Work(Future(), fn, args, kwargs))

    def inspect(self, loaded: LoadedCheckpoint, prepared: PreparedInspection) -> Future[Inspection]:
        return self._put(_Inspect(Future(), loaded, prepared))

    @contextmanager
    def arriving(self) -> Iterator[Arrival]:
        """Around reading and tokenising a request: a batch being formed waits for it (up to the window)
        until it is queued by `Arrival.inspect` or given up (an error, the cache answered)."""
        arrival = Arrival(self)
        with self._cond:
            self._arriving += 1
        try:
            yield arrival
        finally:
            arrival.leave()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._cond:
            self._closing = True
            if cancel_futures:
                while self._queue:
                    self._queue.popleft().future.cancel()
            self._cond.notify_all()
        if wait and threading.current_thread() is not self._thread:
            self._thread.join()

    def _put(self, task: _Work | _Inspect, arrived: bool = False) -> Future:
        with self._cond:
            if arrived:
                self._arriving -= 1
            if self._closing:
                raise RuntimeError("the model thread is shut down")
            self._queue.append(task)
            self._cond.notify_all()
        return task.future

    # --- the model thread --------------------------------------------------------------------------

    def _loop(self) -> None:
        if self.threads:
            torch.set_num_threads(self.threads)
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                task = self._queue.popleft()
                batch = self._gather(task) if isinstance(task, _Inspect) else None
            started = time.perf_counter()
            if batch is None:
                self._run_work(task)  # type: ignore[arg-type]
            else:
                self._run_inspections(batch)
            self.stats.busy_s += time.perf_counter() - started

    def _gather(self, first: _Inspect) -> list[_Inspect]:
        """`first` and the queued inspections of its checkpoint that fit (called holding the lock)."""
        batch, rows, longest = [first], len(first.prepared.encodeds), first.prepared.longest
        deadline = time.monotonic() + self.window_s
        while True:
            for task in list(self._queue):
                if not isinstance(task, _Inspect) or task.loaded is not first.loaded:
                    continue
                more_rows = rows + len(task.prepared.encodeds)
                more_longest = max(longest, task.prepared.longest)
                if more_rows > self.max_batch or more_rows * more_longest > self.max_tokens:
                    return batch
                self._queue.remove(task)
                batch.append(task)
                rows, longest = more_rows, more_longest
            remaining = deadline - time.monotonic()
            if self._arriving <= 0 or remaining <= 0 or rows >= self.max_batch or self._closing:
                return batch
            self._cond.wait(remaining)

    def _run_work(self, task: _Work) -> None:
        if not task.future.set_running_or_notify_cancel():
            return
        self.stats.work += 1
        try:
            task.future.set_result(task.fn(*task.args, **task.kwargs))
        except BaseException as exc:  # the caller gets it; the thread lives on
            task.future.set_exception(exc)

    def _run_inspections(self, batch: list[_Inspect]) -> None:
        batch = [task for task in batch if task.future.set_running_or_notify_cancel()]
        if not batch:
            return
        stats = self.stats
        stats.batches += 1
        stats.inspections += len(batch)
        stats.largest = max(stats.largest, len(batch))
        stats.sizes[len(batch)] = stats.sizes.get(len(batch), 0) + 1
        if len(batch) == 1:
            self._run_alone(batch[0])
            return
        try:
            results = inspect_batch(batch[0].loaded, [task.prepared for task in batch], self._forward(batch[0].loaded))
        except Exception:  # one of them broke the batch: each alone, so only that one fails
            log.exception("a batch of %d inspections failed; running them one by one", len(batch))
            for task in batch:
                self._run_alone(task)
            return
        for task, result in zip(batch, results):
            task.future.set_result(result)

    def _run_alone(self, task: _Inspect) -> None:
        try:
            task.future.set_result(inspect_batch(task.loaded, [task.prepared], self._forward(task.loaded))[0])
        except BaseException as exc:
            task.future.set_exception(exc)

    def _forward(self, loaded: LoadedCheckpoint):
        return self.fast.forward(loaded) if self.fast is not None else None


class Arrival:
    """One request on its way to the model thread (`ModelBatcher.arriving`)."""

    def __init__(self, batcher: ModelBatcher) -> None:
        self.batcher, self.queued = batcher, False

    def inspect(self, loaded: LoadedCheckpoint, prepared: PreparedInspection) -> Future[Inspection]:
        """Queue the inspection and stop counting as arriving, in one step."""
        self.queued = True
        return self.batcher._put(_Inspect(Future(), loaded, prepared), arrived=True)

    def leave(self) -> None:
        if not self.queued:
            self.queued = True
            with self.batcher._cond:
                self.batcher._arriving -= 1
                self.batcher._cond.notify_all()
