"""The probe stage of a pass (passes/pipeline.py): observing beside the forward on a helper thread, in data order,
chosen with one idle core only when the first batch's encoding took less than its forward; a probe's error reaches
the pass."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from app.core.passes.pipeline import ProbeStage


class Recorder:
    def __init__(self, delay: float = 0.0, fail_at: int | None = None) -> None:
        self.seen: list[int] = []
        self.threads: set[str] = set()
        self.grad: list[bool] = []
        self.delay, self.fail_at = delay, fail_at

    def __call__(self, batch: int) -> None:
        time.sleep(self.delay)  # a slow probe: a later batch handed over meanwhile must wait its turn
        if batch == self.fail_at:
            raise ValueError(f"probe failed on batch {batch}")
        self.seen.append(batch)
        self.threads.add(threading.current_thread().name)
        self.grad.append(torch.is_inference_mode_enabled())


def run(stage: ProbeStage, batches: int, encode_seconds: float, forward_seconds: float) -> None:
    """As attention_pass drives the stage: each batch encoded, forwarded, handed over; finished whatever happens."""
    try:
        for batch in range(batches):
            stage.timed_encoding(lambda: time.sleep(encode_seconds))
            stage.take(batch, forward_seconds)
    finally:
        stage.finish()


@pytest.mark.parametrize("helpers, encode, forward, beside", [(0, 0.0, 1.0, False), (2, 0.05, 0.0, True)])
def test_no_idle_core_observes_here_and_two_observe_beside(helpers, encode, forward, beside):
    probe = Recorder(delay=0.01)
    run(ProbeStage(probe, helpers), 6, encode, forward)
    assert probe.seen == list(range(6))
    assert (probe.threads != {threading.current_thread().name}) is beside
    if beside:
        assert all(probe.grad)  # the helper observes under inference mode, as the forward's thread does


@pytest.mark.parametrize("encode, forward, beside", [(0.001, 0.5, True), (0.05, 0.001, False)])
def test_one_idle_core_observes_beside_only_when_encoding_is_faster_than_the_forward(encode, forward, beside):
    probe = Recorder()
    stage = ProbeStage(probe, 1)
    stage.timed_encoding(lambda: time.sleep(encode))
    stage.take(0, forward)
    assert stage.overlapping is beside
    run(stage, 3, 0.0, forward)
    assert probe.seen == [0, 0, 1, 2]


def test_a_probe_error_on_the_helper_reaches_the_pass():
    stage = ProbeStage(Recorder(fail_at=2), 2)
    with pytest.raises(ValueError, match="batch 2"):
        run(stage, 5, 0.0, 0.0)
    assert stage.pool is None  # the helper is let go after the error
