"""The GPU path: float16 / bfloat16 weights, statistics on the device with one pinned copy back, the next
batch tokenised while the device runs this one. The CUDA tests skip without a device; the prefetching
and the dtype choice are checked on the CPU too."""

from __future__ import annotations

import pytest
import torch

from app.core.data.demo import demo_dataset
from app.core.heads import probes
from app.core.inputs.units import encode_unit, unit_specs
from app.core.model.checkpoint import CheckpointError, cuda_dtype, load_checkpoint, pick_device
from app.core.passes.attention_pass import attention_pass
from app.core.passes.inspection import InspectionInput, inspect, inspect_batch, prepare_inspection, to_host

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
TEXT, ASPECT = "The pasta was great but the waiter was rude.", "service"


def test_cuda_dtype_choices():
    assert cuda_dtype(False) is None and cuda_dtype("float32") is None
    assert cuda_dtype(True) is torch.float16 and cuda_dtype("float16") is torch.float16
    assert cuda_dtype("bfloat16") is torch.bfloat16
    with pytest.raises(CheckpointError):
        cuda_dtype("int8")


def statistics_of(checkpoint, specs, prefetch: bool):
    probe = probes.StatisticsProbe("absa")
    typical = probes.TypicalExamplesProbe("absa", 3, finetune=False)
    attention_pass(
        checkpoint,
        specs,
        lambda s: encode_unit(checkpoint, s),
        [probe, typical],
        batch_size=4,
        helpers=1 if prefetch else 0,
    )
    return probe, typical


def test_prefetched_encoding_gives_the_same_pass(absa):
    specs, _ = unit_specs(absa, list(demo_dataset("demo-absa").examples), pairs="terms")
    plain, plain_top = statistics_of(absa, specs[:10], prefetch=False)
    ahead, ahead_top = statistics_of(absa, specs[:10], prefetch=True)
    for name in plain.scores.names:
        assert torch.equal(plain.scores.values(name), ahead.scores.values(name))
    assert all(torch.equal(plain_top.top.index[n], ahead_top.top.index[n]) for n in plain_top.top.index)


@cuda
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_inspection_matches_cpu(absa, dtype):
    on_gpu = load_checkpoint(absa.info, pick_device("cuda"), half=dtype)
    assert next(on_gpu.model.parameters()).dtype == cuda_dtype(dtype)
    gpu, cpu = inspect(on_gpu, InspectionInput(TEXT, ASPECT)), inspect(absa, InspectionInput(TEXT, ASPECT))
    assert gpu.attention.device.type == "cpu" and gpu.attention.dtype == torch.float32
    error = (gpu.attention - cpu.attention).abs()
    # bfloat16 keeps 8 bits of mantissa (float16: 11): single probabilities drift by up to a few hundredths
    # over the layers (over 2e-2 on an H200; 2.2e-2 in bfloat16 on the CPU), while the maps as a whole stay close
    assert error.max() < (5e-2 if dtype == "bfloat16" else 5e-3) and error.mean() < 1e-3
    assert gpu.prediction.label == cpu.prediction.label


@cuda
def test_batched_inspections_on_cuda_equal_each_alone(absa):
    on_gpu = load_checkpoint(absa.info, pick_device("cuda"))
    items = [InspectionInput(TEXT, ASPECT), InspectionInput("Great food.", "food")]
    batched = inspect_batch(on_gpu, [prepare_inspection(on_gpu, item) for item in items])
    for one, item in zip(batched, items):
        assert torch.allclose(one.attention, inspect(on_gpu, item).attention, atol=1e-4)


@cuda
def test_statistics_on_the_device_come_back_pinned_and_equal(absa):
    on_gpu = load_checkpoint(absa.info, pick_device("cuda"))
    assert to_host(torch.ones(3, device="cuda")).is_pinned()
    specs, _ = unit_specs(absa, list(demo_dataset("demo-absa").examples), pairs="terms")
    gpu, _ = statistics_of(on_gpu, specs[:12], prefetch=True)
    cpu, _ = statistics_of(absa, specs[:12], prefetch=False)
    for name in cpu.scores.names:
        assert torch.allclose(gpu.scores.values(name), cpu.scores.values(name), atol=1e-4, equal_nan=True), name


class StreamProbe:
    """Records the CUDA stream current where it observes."""

    timing = "streams"

    def __init__(self) -> None:
        self.streams: set = set()

    def observe(self, batch) -> None:
        self.streams.add(torch.cuda.current_stream(batch.device))


def analysis_on(checkpoint, specs, helpers: int, *extra):
    """The analysis's default probes (and `extra` ones) over `specs` on `checkpoint`'s device, observing beside the
    forward with 2+ helpers (on CUDA: on the helpers' own stream)."""
    from app.core.heads.settings import AnalysisSettings
    from app.core.heads.statistics_pass import build_probes, statistics_pass

    settings = AnalysisSettings(batch_size=4, pretrained=False, importance=False, js_sample=8)
    found = build_probes(checkpoint, settings, with_pretrained=False)
    active = found.active
    found.active = lambda: active() + list(extra)
    statistics_pass(checkpoint, specs, found, settings, None, None, 64, helpers=helpers)
    return found


@cuda
def test_probes_on_their_own_stream_give_what_the_forward_stream_gives(absa, monkeypatch):
    from app.core.passes import pipeline

    on_gpu = load_checkpoint(absa.info, pick_device("cuda"))
    specs, _ = unit_specs(absa, list(demo_dataset("demo-absa").examples), pairs="terms")
    streams = []
    made = pipeline.ProbeStage.__init__

    def keep(self, *args, **kwargs):
        made(self, *args, **kwargs)
        streams.append(self.stream)

    monkeypatch.setattr(pipeline.ProbeStage, "__init__", keep)
    recorder = StreamProbe()
    beside = analysis_on(on_gpu, specs[:24], 2, recorder)
    monkeypatch.setattr(pipeline, "OBSERVE_STREAM", False)
    on_forward_stream = analysis_on(on_gpu, specs[:24], helpers=2)
    here = analysis_on(on_gpu, specs[:24], helpers=0)
    assert streams[0] is not None and streams[1] is None and streams[2] is None
    assert recorder.streams == {streams[0]}  # every batch observed on it
    assert streams[0] == pipeline.observe_stream(on_gpu.device)  # one stream per device, whatever the pass
    for found in (on_forward_stream, here):
        for name in beside.statistics.scores.names:
            first, second = beside.statistics.scores.values(name), found.statistics.scores.values(name)
            # a race would be far off; cuBLAS may pick other kernels with two streams busy: not bit for bit
            assert torch.allclose(first, second, rtol=1e-5, atol=1e-6, equal_nan=True), name
