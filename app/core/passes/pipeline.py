"""The stages of an attention pass beside the forward: encoding the next batch, observing the last one.

Each batch of a pass goes through three stages: encode (tokenise), forward (the checkpoint with attentions, on the
calling thread or the runner's model thread) and observe (every probe on the batch). Where cores sit idle beside
torch's threads, the other two stages run on helper threads while the forward runs, the way a GPU data loader keeps
the device fed:

* one idle core or more: the next batch is encoded on a helper thread (the tokenizer and torch release the GIL);
* two or more: the probes also observe batch n on a helper thread while batch n + 1 is forwarded;
* exactly one: encoding and observing would share that core, so observing moves there only where the first batches,
  timed stage by stage, say the pass gets faster: max(forward, encode + observe) < max(forward + observe, encode)
  (a big model's forward hides both; a tiny model's would wait for them).

Probes observe one batch at a time, in the order of the data, so every accumulator sums what it would have summed
in one thread; at most two batches' attention are alive at once. Grad mode is per thread: the helper observes under
`torch.inference_mode` as the forward does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import torch

# batches observed on the forward's thread, each stage timed, before a pass with one idle core decides
TIMED_BATCHES = 2


@dataclass
class StageSeconds:
    """Seconds per stage summed over the timed batches."""

    encode: float = 0.0
    forward: float = 0.0
    observe: float = 0.0
    batches: int = 0

    def overlap_pays(self) -> bool:
        """With one idle core shared by encoding and observing: does observing beside the forward shorten the pass?"""
        overlapped = max(self.forward, self.encode + self.observe)
        serial = max(self.forward + self.observe, self.encode)
        return overlapped < serial


class ProbeStage:
    """The probes' observe of each batch: on the forward's thread, or on a helper thread beside the next forward.

    `take(batch)` hands a batch over after its forward; `finish()` waits for the last observation (and raises what a
    probe raised). `helpers` is the number of idle cores the pass may use (0: observe on the forward's thread)."""

    def __init__(self, observe: Callable[[Any], None], helpers: int) -> None:
        self.observe = observe
        self.helpers = helpers
        self.seconds = StageSeconds()
        self.pool: ThreadPoolExecutor | None = None
        self.pending: Future[None] | None = None
        if helpers >= 2:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="observe")

    def timed_encoding(self, encode: Callable[[], Any]) -> Any:
        """`encode()` with its seconds counted while the first batches are timed."""
        started = time.perf_counter()
        found = encode()
        if self.seconds.batches < TIMED_BATCHES:
            self.seconds.encode += time.perf_counter() - started
        return found

    def take(self, batch: Any, forward_seconds: float) -> None:
        """Observe `batch` (its forward took `forward_seconds`), after the previous batch's observation."""
        self.wait()
        if self.pool is not None:
            self.pending = self.pool.submit(self._observe_without_grad, batch)
            return
        started = time.perf_counter()
        self.observe(batch)
        self._time(forward_seconds, time.perf_counter() - started)

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def finish(self) -> None:
        """Wait for the last observation and let the helper go (also after an error: nothing observes later)."""
        try:
            self.wait()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True)
                self.pool = None

    def _observe_without_grad(self, batch: Any) -> None:
        with torch.inference_mode():
            self.observe(batch)

    def _time(self, forward: float, observe: float) -> None:
        if self.helpers != 1 or self.seconds.batches >= TIMED_BATCHES:
            return
        self.seconds.forward += forward
        self.seconds.observe += observe
        self.seconds.batches += 1
        if self.seconds.batches == TIMED_BATCHES and self.seconds.overlap_pays():
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="observe")
