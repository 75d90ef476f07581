"""The batch size a pass runs when the user leaves it open: the settings' CPU default on a CPU, on CUDA as many
inputs (up to 512) as a quarter of the free device memory holds for their attention; a given one always wins."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from app.core.heads.settings import CPU_BATCH_SIZE, AnalysisSettings
from app.core.passes.batch_size import (
    BYTES_PER_WEIGHT,
    batch_size_of,
    fitting_batch,
    given_batch,
    pass_batch_size,
    with_batch_size,
)
from app.core.report.settings import CPU_BATCH_SIZE as REPORT_CPU_BATCH_SIZE
from app.core.report.settings import ReportSettings
from app.core.robustness.settings import RobustnessSettings

GIB = 2**30


def test_fitting_batch_of_bert_base_on_an_h100():
    # 12 x 12 heads of 64-token pairs: 19 MB per pair (two batches alive); a quarter of 78 GiB holds over 1,000
    assert fitting_batch(12, 12, 64, 78 * GIB) == 512
    # 512-token pairs: 1.2 GB per pair, 17 of them in a quarter of 78 GiB; half as many beside a reference model
    per_pair = 12 * 12 * 512 * 512 * BYTES_PER_WEIGHT
    assert fitting_batch(12, 12, 512, 78 * GIB) == (78 * GIB // 4) // per_pair == 17
    assert fitting_batch(12, 12, 512, 78 * GIB, maps=2) == 8
    assert fitting_batch(12, 12, 512, 1 * GIB) == 1  # never 0: one input at a time still runs


def test_open_batch_size_on_a_cpu_is_the_settings_default(absa):
    assert absa.device.type == "cpu"
    assert AnalysisSettings().batch_size is None and RobustnessSettings().batch_size is None
    assert pass_batch_size(None, absa, 128, CPU_BATCH_SIZE) == CPU_BATCH_SIZE == 16
    assert pass_batch_size(7, absa, 128, CPU_BATCH_SIZE) == 7
    resolved = with_batch_size(ReportSettings(), pass_batch_size(None, absa, 128, REPORT_CPU_BATCH_SIZE))
    assert batch_size_of(resolved) == 32 and ReportSettings().batch_size is None
    with pytest.raises(ValueError, match="batch_size left open"):
        batch_size_of(AnalysisSettings())


def test_open_batch_size_on_cuda_is_what_its_free_memory_holds(absa, monkeypatch):
    # the CUDA branch on any machine: a checkpoint that says it is on CUDA (no forward runs here) and the device's
    # free memory as torch would report it
    on_cuda = dataclasses.replace(absa, device=torch.device("cuda", 0))
    # 36 GiB free on the device, and 4 GiB that torch's allocator holds without a tensor in it: 40 GiB for the pass
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (36 * GIB, 80 * GIB))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda device=None: 6 * GIB)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device=None: 2 * GIB)
    layers, heads = absa.info.num_layers, absa.info.num_heads  # MiniLM's 6 x 12
    assert pass_batch_size(None, on_cuda, 64, CPU_BATCH_SIZE) == fitting_batch(layers, heads, 64, 40 * GIB) == 512
    # 256 tokens: 151 MB per input, 71 in a quarter of 40 GiB; 35 beside the pretrained model's attention
    assert pass_batch_size(None, on_cuda, 256, CPU_BATCH_SIZE) == fitting_batch(layers, heads, 256, 40 * GIB) == 71
    assert pass_batch_size(None, on_cuda, 256, CPU_BATCH_SIZE, maps=2) == 35
    assert pass_batch_size(8, on_cuda, 128, CPU_BATCH_SIZE) == 8  # a given size is kept on any device
    assert given_batch(AnalysisSettings(), CPU_BATCH_SIZE) == 16  # attacks, shards, importance: device-independent


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_open_batch_size_on_a_real_cuda_device(absa):
    from app.core.model.checkpoint import load_checkpoint, pick_device

    on_gpu = load_checkpoint(absa.info, pick_device("cuda"))
    assert CPU_BATCH_SIZE < pass_batch_size(None, on_gpu, 128, CPU_BATCH_SIZE) <= 512


def test_only_the_attention_pass_takes_the_device_batch(absa, monkeypatch):
    """An open batch size: the analysis's attention pass runs the device's batch (here as a GPU's would be, 5),
    head importance's gradient passes the given one (the CPU default), so importance does not depend on the
    device; the result records the pass's."""
    from app.core.data.demo import demo_dataset
    from app.core.heads import analysis

    def device_batch(requested, checkpoint, length, cpu_default, maps=1):
        return requested if requested is not None else 5

    importance_batches = []

    def importance_spy(*args, **kwargs):  # the real importance and ablation, its batch size noted
        importance_batches.append(kwargs["batch_size"])
        return analysis_importance(*args, **kwargs)

    analysis_importance = analysis.importance_and_ablation
    monkeypatch.setattr(analysis, "pass_batch_size", device_batch)
    monkeypatch.setattr(analysis, "importance_and_ablation", importance_spy)
    settings = AnalysisSettings(max_examples=12, importance_limit=6, pretrained=False, bootstrap=20, js_sample=0)
    result = analysis.analyze(absa, demo_dataset("demo-absa"), settings)
    assert result.settings["batch_size"] == 5 and importance_batches == [CPU_BATCH_SIZE]


def test_a_robustness_suite_records_the_batch_its_scoring_ran(relation, monkeypatch):
    """An open batch size: the suite's scoring pass runs the device's batch (here as a GPU's would be, 5) and its
    result records that one, not the open setting."""
    from app.core.data.demo import demo_dataset
    from app.core.robustness import suite
    from app.core.robustness.run import run_robustness

    scored_at = []

    def scoring_spy(*args, **kwargs):  # the real scoring pass, its batch size noted
        scored_at.append(kwargs["batch_size"])
        return real_scoring(*args, **kwargs)

    real_scoring = suite.score_suite
    monkeypatch.setattr(suite, "pass_batch_size", lambda requested, *_: requested if requested is not None else 5)
    monkeypatch.setattr(suite, "score_suite", scoring_spy)
    settings = RobustnessSettings(tests=("q1-typo",), max_examples=6, bootstrap=20)
    result = run_robustness(relation, demo_dataset("demo-re"), settings, name="demo-re")
    assert settings.batch_size is None and result.settings["batch_size"] == 5 and scored_at == [5]


def test_faithfulness_of_an_analysis_takes_its_open_batch_size_as_the_device_s(relation, monkeypatch):
    """The CLI and the analysis job hand faithfulness the analysis's batch size; left open it is the device's (here
    as a GPU's would be, 5), resolved in one place."""
    from app.core.data.demo import demo_dataset
    from app.core.faithfulness import FaithfulnessSettings, dataset

    batches = []

    def pass_spy(*args, **kwargs):  # the real pass, its batch size noted
        batches.append(kwargs["batch_size"])
        return real_pass(*args, **kwargs)

    real_pass = dataset.attention_pass
    monkeypatch.setattr(dataset, "pass_batch_size", lambda requested, *_: requested if requested is not None else 5)
    monkeypatch.setattr(dataset, "attention_pass", pass_spy)
    chosen = FaithfulnessSettings(limit=2, methods=("attention", "random"), flow_limit=0)
    examples = demo_dataset("demo-re").examples
    dataset.faithfulness_of_data(relation, examples, "demo-re", "auto", chosen, bootstrap=20)
    dataset.faithfulness_of_data(relation, examples, "demo-re", "auto", chosen, batch_size=3, bootstrap=20)
    assert batches == [5, 3]
