"""The probe stage of a pass (passes/pipeline.py): observing beside the forward on a helper thread, in data order,
chosen with one idle core only when the first batch's encoding took less than its forward; a probe's error reaches
the pass."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from app.core.data.demo import demo_dataset
from app.core.inputs.units import encode_unit, unit_specs
from app.core.passes.attention_pass import attention_pass
from app.core.passes.pipeline import TIMED_BATCHES, ProbeStage, observe_beside


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
    for batch in range(TIMED_BATCHES):  # the first batches are timed, observed on the forward's thread
        stage.timed_encoding(lambda: time.sleep(encode))
        assert not stage.overlapping
        stage.take(batch, forward)
    assert stage.overlapping is beside
    run(stage, 3, 0.0, forward)
    assert probe.seen == [0, 1, 0, 1, 2]


def test_take_hands_over_without_waiting_for_its_own_observation():
    release = threading.Event()
    probe = Recorder()
    stage = ProbeStage(lambda batch: (release.wait(5), probe(batch)), 2)
    stage.take(0, 0.0)  # returns while batch 0 is still being observed: the next forward can start
    assert probe.seen == [] and stage.pending is not None and not stage.pending.done()
    release.set()
    stage.finish()
    assert probe.seen == [0]


def test_probes_that_run_the_model_observe_on_the_forward_thread():
    class RunsModel:
        runs_model = True

    assert observe_beside([object()]) and not observe_beside([object(), RunsModel()])
    probe = Recorder()
    run(ProbeStage(probe, 8, beside=observe_beside([RunsModel()])), 3, 0.0, 1.0)
    assert probe.threads == {threading.current_thread().name}


def test_a_probe_error_on_the_helper_reaches_the_pass():
    stage = ProbeStage(Recorder(fail_at=2), 2)
    with pytest.raises(ValueError, match="batch 2"):
        run(stage, 5, 0.0, 0.0)
    assert stage.pool is None  # the helper is let go after the error


class ThreadProbe:
    timing = "probe"

    def __init__(self, fail: bool = False) -> None:
        self.threads: set[str] = set()
        self.batches = 0
        self.fail = fail

    def observe(self, batch) -> None:
        self.threads.add(threading.current_thread().name)
        self.batches += 1
        if self.fail:
            raise ValueError("the probe failed")


class ModelProbe(ThreadProbe):
    runs_model = True


def test_the_pass_observes_beside_its_forward_with_idle_cores(absa):
    specs, _ = unit_specs(absa, list(demo_dataset("demo-absa").examples), pairs="terms")
    reader, runner = ThreadProbe(), ModelProbe()
    encode = lambda spec: encode_unit(absa, spec)  # noqa: E731
    attention_pass(absa, specs[:12], encode, [reader], batch_size=4, helpers=2)
    attention_pass(absa, specs[:12], encode, [runner], batch_size=4, helpers=2)
    assert reader.batches == runner.batches == 3
    assert all(name.startswith("observe") for name in reader.threads)
    assert runner.threads == {threading.current_thread().name}


def test_the_first_chunk_is_encoded_alone_and_the_choice_times_the_chunks_encoded_beside_a_forward(absa):
    from app.core.inputs.unit_batch import encode_unit_batch

    specs, _ = unit_specs(absa, list(demo_dataset("demo-absa").examples), pairs="terms")
    calls: list[tuple[int, bool, str]] = []  # (chunk size, alone, thread)

    def encode_batch(chunk, alone=False):
        calls.append((len(chunk), alone, threading.current_thread().name))
        return encode_unit_batch(absa, chunk, None, 64)

    stages: list[ProbeStage] = []
    original = ProbeStage.__init__

    def keep(self, *args, **kwargs):
        original(self, *args, **kwargs)
        stages.append(self)

    probe = ThreadProbe()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ProbeStage, "__init__", keep)
        attention_pass(absa, specs[:20], None, [probe], batch_size=4, helpers=1, encode_batch=encode_batch)
    assert [alone for _, alone, _ in calls] == [True, False, False, False, False]
    assert all(thread.startswith("encode") for _, _, thread in calls)  # every chunk on the encoding helper
    assert probe.batches == 5
    (stage,) = stages
    assert len(stage.encodes) == TIMED_BATCHES and not stage.deciding  # chunks 2 and 3, then decided
    alone_pass = []
    attention_pass(
        absa,
        specs[:4],
        None,
        [ThreadProbe()],
        batch_size=4,
        helpers=1,
        encode_batch=lambda chunk, alone=False: alone_pass.append(alone) or encode_unit_batch(absa, chunk, None, 64),
    )
    assert alone_pass == [True]  # one chunk: encoded on the forward's thread, which waits for it


def test_a_runner_error_is_not_hidden_by_a_probe_error(absa):
    specs, _ = unit_specs(absa, list(demo_dataset("demo-absa").examples), pairs="terms")
    calls = []

    def failing_runner(work):
        calls.append(1)
        if len(calls) == 2:  # the first batch's observation (on the helper) fails meanwhile
            raise RuntimeError("the job was cancelled")
        return work()

    with pytest.raises(RuntimeError, match="cancelled"):
        attention_pass(
            absa,
            specs[:12],
            lambda s: encode_unit(absa, s),
            [ThreadProbe(fail=True)],
            batch_size=4,
            helpers=2,
            runner=failing_runner,
        )


def test_the_analysis_with_ig_and_the_faithfulness_probe_observe_on_the_forward_thread(absa):
    from app.core.faithfulness.probe import FaithfulnessProbe
    from app.core.heads.settings import AnalysisSettings
    from app.core.heads.statistics_pass import build_probes
    from app.core.report.passes import SubsetProbe

    plain = build_probes(absa, AnalysisSettings(pretrained=False, importance=False), with_pretrained=False)
    with_ig = build_probes(absa, AnalysisSettings(pretrained=False, importance=False, ig=True), with_pretrained=False)
    assert observe_beside(plain.active()) and not observe_beside(with_ig.active())
    assert FaithfulnessProbe.runs_model and not observe_beside([FaithfulnessProbe(absa, limit=4)])
    assert not observe_beside([SubsetProbe(ModelProbe(), {0})])  # a wrapped probe observes where it would alone
