"""The stages of an attention pass beside the forward: encoding the next batch, observing the last one.

Each batch of a pass goes through three stages: encode (tokenise), forward (the checkpoint with attentions, on the
calling thread or the runner's model thread) and observe (every probe on the batch). Where cores sit idle beside
torch's threads, the other two stages run on helper threads while the forward runs, the way a GPU data loader keeps
the device fed:

* one idle core or more: the next batch is encoded on a helper thread (the tokenizer and torch release the GIL);
* two or more: the probes also observe batch n on a helper thread while batch n + 1 is forwarded;
* exactly one: encoding and observing would share that core. Per batch the pass then takes max(F, E + O) with the
  observing beside the forward against max(F + O, E) without (F, E, O: forward, encode, observe), which is shorter
  exactly when E < F: the probes move to the helper when encoding took less than the forward over the first
  `TIMED_BATCHES` encodings beside a forward (the least of each, past a first batch's warm-up; the first chunk,
  which the forward waits for, is encoded alone, over every core, and not timed), observed meanwhile on the
  forward's thread (a big model's forward hides both; a tiny model's would wait for them).

Probes that run the model themselves (`runs_model`: integrated gradients, erasure) always observe on the forward's
thread, inside the runner's work: their forwards and hooks must not interleave with the next batch's forward on the
same module. The others only read the batch's tensors.

Probes observe one batch at a time, in the order of the data, so every accumulator sums what it would have summed
in one thread; at most two batches' attention are alive at once. Grad mode is per thread: the helper observes under
`torch.inference_mode` as the forward does.

On CUDA the helper observes on a stream of its own (`OBSERVE_STREAM`), after the batch's forward (an event): the
probes ask the host for values (a top-1's query tokens, the results' copies back), and each such wait on the
forward's stream would also wait for the next batch's forward queued there meanwhile, leaving the probes' remaining
work, and the device, idle behind it. On its own stream a probe waits for its own work only. The batch's tensors,
made on the forward's stream, are let go only once the observing stream has finished with them (the caching
allocator would otherwise hand their memory to the next forward while a probe's kernel still reads it). The same
holds for a probe's own state: what a probe keeps on the device is made, replaced and freed on the stream it observes
on (today every probe keeps its state on the host). One stream per device serves every pass (`observe_stream`): a
stream's cached memory is not lent to another stream's allocations.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import torch

TIMED_BATCHES = 2
OBSERVE_STREAM = True  # on CUDA, observe on the helper's own stream (the module docstring); bench/ compares without
log = logging.getLogger(__name__)


@functools.cache
def observe_stream(device: torch.device) -> Any:
    """The stream the probes observe on beside the forwards on `device` (a CUDA device), the same for every pass."""
    return torch.cuda.Stream(device)


def observe_beside(probes: Sequence[Any]) -> bool:
    """Whether the probes may observe on a helper thread: none of them runs the model (`runs_model`)."""
    return not any(getattr(probe, "runs_model", False) for probe in probes)


class ProbeStage:
    """The probes' observe of each batch: on the forward's thread, or on a helper thread beside the next forward.

    `take(batch, forward_seconds)` hands a batch over after its forward; `finish()` waits for the last observation
    (and raises what a probe raised). `helpers`: the idle cores the pass may use (0: observe on the forward's
    thread); `beside`: whether these probes may observe on a helper at all (`observe_beside`); `device`: the
    batches' device (CUDA: the helper observes on its own stream).
    """

    def __init__(
        self, observe: Callable[[Any], None], helpers: int, beside: bool = True, device: torch.device | None = None
    ) -> None:
        self.observe = observe
        cuda = device is not None and device.type == "cuda" and OBSERVE_STREAM
        self.stream = observe_stream(device) if cuda and beside and helpers >= 1 else None
        self.encodes: list[float] = []  # seconds of the first batches' encodings on the helper thread
        self.forwards: list[float] = []
        self.deciding = beside and helpers == 1
        self.pool: ThreadPoolExecutor | None = None
        self.pending: Future[None] | None = None
        if beside and helpers >= 2:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="observe")

    def timed_encoding(self, encode: Callable[[], Any]) -> Any:
        """`encode()` on the encoding helper beside a forward, timed while the first batches decide."""
        started = time.perf_counter()
        found = encode()
        if len(self.encodes) < TIMED_BATCHES:
            self.encodes.append(time.perf_counter() - started)
        return found

    def take(self, batch: Any, forward_seconds: float) -> None:
        """Observe `batch` (its forward took `forward_seconds`), after the previous batch's observation."""
        if self.deciding:
            self._decide(forward_seconds)
        self.wait()
        if self.pool is not None:
            self.pending = self.pool.submit(self._observe_without_grad, batch, self._forward_done())
        else:
            self.observe(batch)

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def finish(self, failing: bool = False) -> None:
        """Wait for the last observation and let the helper go. `failing`: the pass is already raising (a runner's
        error, a cancelled job): a probe's error is then logged, not raised over it."""
        try:
            self.wait()
        except Exception:
            if not failing:
                raise
            log.exception("a probe failed while the pass was already failing")
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True)
                self.pool = None

    @property
    def overlapping(self) -> bool:
        return self.pool is not None

    def _decide(self, forward_seconds: float) -> None:
        self.forwards.append(forward_seconds)
        if len(self.forwards) < TIMED_BATCHES or len(self.encodes) < TIMED_BATCHES:
            return  # (a pass too short for both stays on the forward's thread)
        self.deciding = False
        if min(self.encodes) < min(self.forwards):
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="observe")

    def _forward_done(self) -> Any:
        """An event at the end of the work queued so far on the forward's (this thread's) stream; None off CUDA."""
        if self.stream is None:
            return None
        done = torch.cuda.Event()
        done.record(torch.cuda.current_stream(self.stream.device))
        return done

    def _observe_without_grad(self, batch: Any, forward_done: Any = None) -> None:
        with torch.inference_mode():
            if self.stream is None:
                self.observe(batch)
                return
            self.stream.wait_event(forward_done)
            try:
                with torch.cuda.stream(self.stream):
                    self.observe(batch)
            finally:  # the batch goes (its memory back to the forward's stream) only once this stream is done with it
                self.stream.synchronize()


def idle_cores(device: torch.device) -> int:
    """The cores a pass's helper threads can encode and observe on without slowing the forward: every core on CUDA
    (the device runs the forward), and on a CPU those torch's threads leave idle (the tokenizer and torch's kernels
    release the GIL, so the stages overlap)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores if device.type == "cuda" else max(0, cores - torch.get_num_threads())
