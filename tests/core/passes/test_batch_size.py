"""The batch size a pass runs when the user leaves it open: the settings' CPU default on a CPU, on CUDA as many
inputs (up to 512) as a quarter of the free device memory holds for their attention; a given one always wins."""

from __future__ import annotations

import pytest
import torch

from app.core.heads.settings import CPU_BATCH_SIZE, AnalysisSettings
from app.core.passes.batch_size import BYTES_PER_WEIGHT, batch_size_of, fitting_batch, pass_batch_size, with_pass_batch
from app.core.report.settings import CPU_BATCH_SIZE as REPORT_CPU_BATCH_SIZE
from app.core.report.settings import ReportSettings
from app.core.robustness.settings import RobustnessSettings

GIB = 2**30


def test_fitting_batch_of_bert_base_on_an_h100():
    # 12 x 12 heads of 64-token pairs: 9.4 MB per pair; a quarter of 78 GiB holds over 2,000: the cap
    assert fitting_batch(12, 12, 64, 78 * GIB) == 512
    # 512-token pairs: 604 MB per pair, 34 of them in a quarter of 78 GiB; half as many beside a reference model
    per_pair = 12 * 12 * 512 * 512 * BYTES_PER_WEIGHT
    assert fitting_batch(12, 12, 512, 78 * GIB) == (78 * GIB // 4) // per_pair == 34
    assert fitting_batch(12, 12, 512, 78 * GIB, models=2) == 17
    assert fitting_batch(12, 12, 512, 1 * GIB) == 1  # never 0: one input at a time still runs


def test_open_batch_size_on_a_cpu_is_the_settings_default(absa):
    assert absa.device.type == "cpu"
    assert AnalysisSettings().batch_size is None and RobustnessSettings().batch_size is None
    assert pass_batch_size(None, absa, 128, CPU_BATCH_SIZE) == CPU_BATCH_SIZE == 16
    assert pass_batch_size(7, absa, 128, CPU_BATCH_SIZE) == 7
    resolved = with_pass_batch(ReportSettings(), absa, 128, REPORT_CPU_BATCH_SIZE)
    assert batch_size_of(resolved) == 32 and ReportSettings().batch_size is None
    with pytest.raises(ValueError, match="batch_size left open"):
        batch_size_of(AnalysisSettings())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_open_batch_size_on_cuda_fills_the_device(absa):
    from app.core.model.checkpoint import load_checkpoint, pick_device

    on_gpu = load_checkpoint(absa.info, pick_device("cuda"))
    size = pass_batch_size(None, on_gpu, 128, CPU_BATCH_SIZE)
    free, _ = torch.cuda.mem_get_info(on_gpu.device)
    assert size == fitting_batch(on_gpu.info.num_layers, on_gpu.info.num_heads, 128, free) and size > CPU_BATCH_SIZE
