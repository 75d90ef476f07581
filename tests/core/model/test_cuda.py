"""The CUDA path: runs where a GPU is present, skipped otherwise."""

import pytest
import torch

from app.core.model.checkpoint import load_checkpoint, pick_device
from app.core.passes.inspection import InspectionInput, inspect

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]


@pytest.mark.parametrize("half", [False, True])
def test_inspection_on_cuda_matches_cpu(absa, half):
    device = pick_device("auto")
    assert device.type == "cuda"
    on_gpu = load_checkpoint(absa.info, device, half=half)
    assert next(on_gpu.model.parameters()).device.type == "cuda"
    text, aspect = "The pasta was great but the waiter was rude.", "service"
    gpu, cpu = inspect(on_gpu, InspectionInput(text, aspect)), inspect(absa, InspectionInput(text, aspect))
    assert gpu.attention.device.type == "cpu"  # moved back for the response
    assert torch.allclose(gpu.attention, cpu.attention, atol=5e-3 if half else 1e-4)
    assert gpu.prediction.label == cpu.prediction.label
