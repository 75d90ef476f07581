"""The ONNX Runtime fast path of live inspection: built in the background, checked against transformers' eager
attention before use, served within 1e-3 of it (measured: ~1e-6), the plain path wherever it does not apply."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from app.core.model.hooks import head_out, hooks, zero_heads
from app.core.model.onnx_fastpath import BuildStart, FastPaths, check, supported
from app.core.passes.inspection import InspectionInput, inspect, inspect_batch, prepare_inspection

pytest.importorskip("onnxruntime")
ITEMS = [
    InspectionInput("The pasta was great but the waiter was rude.", "service"),
    InspectionInput("We waited forty minutes for a table and the soup was cold when it came.", "food"),
]


@pytest.fixture(scope="module")
def fast(absa):
    paths = FastPaths(threads=1)
    forward = paths.wait(absa)
    assert forward is not None, paths.status
    assert paths.status[absa.info.id] == "onnx"
    return forward


def test_fast_forward_equals_eager(absa, fast):
    assert check(fast, BuildStart.taken(absa)) < 1e-4
    plain = inspect_batch(absa, [prepare_inspection(absa, item) for item in ITEMS])
    quick = inspect_batch(absa, [prepare_inspection(absa, item) for item in ITEMS], fast)  # padded: two lengths
    alone = inspect_batch(absa, [prepare_inspection(absa, ITEMS[0])], fast)
    for one, two in zip(quick + alone, plain + plain[:1]):
        assert one.prediction.label == two.prediction.label
        assert torch.allclose(one.attention, two.attention, atol=1e-4, rtol=0)


def test_plain_path_where_it_does_not_apply(absa):
    assert FastPaths(enabled=False).forward(absa) is None
    on_cuda = type(absa)(info=absa.info, model=absa.model, tokenizer=absa.tokenizer, device=torch.device("cuda"))
    assert "CUDA" in supported(on_cuda)  # the GPU keeps the PyTorch path (nothing is moved: only the check)
    other = type(absa)(info=absa.info, model=torch.nn.Linear(2, 2), tokenizer=absa.tokenizer, device=absa.device)
    assert "BertForSequenceClassification" in supported(other)


def test_api_serves_the_fast_path(client, absa):
    state = client.app.state
    payload = {
        "model": absa.info.id,
        "text": "The soup was cold but the staff were lovely.",
        "aspect": "food",
        "attention": "full",
    }
    client.post("/api/inspect", json=payload)  # starts the build
    loaded = state.registry.get(absa.info.id)
    # the ONNX export runs in a child process that loads torch and the checkpoint: minutes on a loaded machine
    fast = state.model_executor.fast
    assert fast.wait(loaded, timeout=600) is not None, fast.status.get(absa.info.id)
    assert client.get("/api/health").json()["fast_path"][absa.info.id] == "onnx"
    body = client.post("/api/inspect", json={**payload, "text": payload["text"] + " Really."}).json()
    eager = inspect(absa, InspectionInput(payload["text"] + " Really.", "food"))
    assert torch.allclose(torch.tensor(body["attention"]["values"]), eager.attention, atol=1e-3, rtol=0)


@pytest.mark.parametrize("in_child", [True, False], ids=["export-in-child", "export-here"])
def test_build_never_runs_the_live_model(absa, tmp_path, in_child):
    """Hooks held on the model meanwhile (an intervention on the model thread) act on every forward of that model:
    the builder must neither check against nor export through them. Without a headscope.json in its folder the
    checkpoint cannot be loaded by a child process and is exported here, from a copy taken before the hooks."""
    loaded = absa if in_child else dataclasses.replace(absa, info=dataclasses.replace(absa.info, path=tmp_path))
    paths = FastPaths(threads=1)
    assert paths.forward(loaded) is None and paths.status[loaded.info.id] == "building"
    with hooks(loaded.model, {head_out(layer): zero_heads(range(12)) for layer in range(6)}):
        paths.wait(loaded, timeout=600)
        assert paths.status[loaded.info.id] == "onnx", paths.status[loaded.info.id]
    fast = paths.forward(loaded)
    assert fast is not None and check(fast, BuildStart.taken(loaded)) < 1e-4  # the checkpoint's own forward


def test_a_failed_export_in_a_child_leaves_the_plain_path(absa, monkeypatch):
    """The export in a child process failing (a crash, a timeout) must not fall back to tracing the live model here."""
    from app.core.model import onnx_fastpath

    monkeypatch.setattr(onnx_fastpath, "_export_in_child", lambda loaded, path: False)  # as a crashed child answers
    traced = []
    monkeypatch.setattr(onnx_fastpath, "export", lambda *args: traced.append(args))
    paths = FastPaths(threads=1)
    assert paths.wait(absa, timeout=600) is None
    assert "child process failed" in paths.status[absa.info.id] and traced == []
