"""Micro-batching on the model thread: padded batches answer exactly as single inspections, concurrent
requests share forward passes, job work keeps its turn, and a lone request never waits for the window.

On the tiny checkpoints in the demo checkpoints' shape (tiny_absa, tiny_relation, tiny_client): what is
checked is the batching, the same for any checkpoint, so the fast loop runs it without training anything."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from tiny_model import TINY_ABSA_ID

from app.core.passes.inspection import InspectionInput, inspect, inspect_batch, prepare_inspection
from app.web.batcher import ModelBatcher

ABSA_INPUTS = [
    InspectionInput("The pasta was great but the waiter was rude.", "service"),
    InspectionInput("Great food.", "food"),
    InspectionInput("We waited forty minutes for a table and the soup was cold when it came.", "food"),
    InspectionInput("The pasta was great but the waiter was rude.", "pasta", aspect_span=(4, 9)),
]


def assert_same(batched, alone) -> None:
    assert batched.encoded.input_ids == alone.encoded.input_ids
    assert batched.prediction.label == alone.prediction.label
    for label, p in alone.prediction.probabilities.items():
        assert batched.prediction.probabilities[label] == pytest.approx(p, abs=1e-5)
    assert batched.attention.shape == alone.attention.shape
    assert torch.allclose(batched.attention, alone.attention, atol=1e-5, rtol=0)


def test_padded_batch_equals_each_alone(tiny_absa, tiny_relation):
    alone = [inspect(tiny_absa, item) for item in ABSA_INPUTS]
    batched = inspect_batch(tiny_absa, [prepare_inspection(tiny_absa, item) for item in ABSA_INPUTS])
    for one, two in zip(batched, alone):
        assert_same(one, two)
        assert one.attention.is_contiguous()
    assert len({len(x.encoded.input_ids) for x in alone}) > 1  # padding really happened
    items = [
        InspectionInput("The <e1>fire</e1> was caused by a <e2>cigarette</e2>."),
        InspectionInput("The <e1>author</e1> of the long and winding <e2>book</e2> was unknown to us."),
    ]
    for one, two in zip(
        inspect_batch(tiny_relation, [prepare_inspection(tiny_relation, i) for i in items]),
        [inspect(tiny_relation, i) for i in items],
    ):
        assert_same(one, two)


def run_behind_gate(batcher: ModelBatcher, work) -> list:
    """Hold the model thread, queue `work()` from several threads, release: returns their results."""
    gate = threading.Event()
    held = batcher.submit(gate.wait, 30)
    with ThreadPoolExecutor(8) as pool:
        futures = work(pool)
        time.sleep(0.3)  # every request is queued behind the gate
        gate.set()
        held.result()
        return [f.result(timeout=60) for f in futures]


def test_queued_inspections_share_one_forward_pass(tiny_absa):
    batcher = ModelBatcher(window_ms=0, max_batch=32)
    try:
        results = run_behind_gate(
            batcher,
            lambda pool: [
                pool.submit(lambda item=item: batcher.inspect(tiny_absa, prepare_inspection(tiny_absa, item)).result())
                for item in ABSA_INPUTS
            ],
        )
        assert batcher.stats.batches == 1 and batcher.stats.inspections == len(ABSA_INPUTS)
        for item, batched in zip(ABSA_INPUTS, results):
            assert_same(batched, inspect(tiny_absa, item))
    finally:
        batcher.shutdown()


def test_batch_bounds(tiny_absa):
    batcher = ModelBatcher(window_ms=0, max_batch=3)
    try:
        run_behind_gate(
            batcher,
            lambda pool: [
                pool.submit(lambda: batcher.inspect(tiny_absa, prepare_inspection(tiny_absa, ABSA_INPUTS[1])).result())
                for _ in range(7)
            ],
        )
        assert batcher.stats.largest == 3 and batcher.stats.inspections == 7 and batcher.stats.batches == 3
    finally:
        batcher.shutdown()
    tokens = len(prepare_inspection(tiny_absa, ABSA_INPUTS[1]).encodeds[0].input_ids)
    batcher = ModelBatcher(window_ms=0, max_batch=32, max_tokens=2 * tokens)
    try:
        run_behind_gate(
            batcher,
            lambda pool: [
                pool.submit(lambda: batcher.inspect(tiny_absa, prepare_inspection(tiny_absa, ABSA_INPUTS[1])).result())
                for _ in range(4)
            ],
        )
        assert batcher.stats.largest == 2  # two rows of that length fill the padded-token budget
    finally:
        batcher.shutdown()


def test_job_work_keeps_its_turn_between_inspection_batches(tiny_absa):
    batcher = ModelBatcher(window_ms=0)
    order: list[str] = []
    gate = threading.Event()
    try:
        batcher.submit(gate.wait, 30)
        first = batcher.inspect(tiny_absa, prepare_inspection(tiny_absa, ABSA_INPUTS[0]))
        first.add_done_callback(lambda _: order.append("inspection"))
        job = batcher.submit(lambda: order.append("job batch"))
        second = batcher.inspect(tiny_absa, prepare_inspection(tiny_absa, ABSA_INPUTS[1]))
        second.add_done_callback(lambda _: order.append("inspection"))
        gate.set()
        job.result(timeout=60), first.result(timeout=60), second.result(timeout=60)
        # the two inspections went in one forward pass; the job batch came right after it, not after more
        assert order == ["inspection", "inspection", "job batch"]
        assert batcher.stats.batches == 1
        with pytest.raises(ZeroDivisionError):
            batcher.submit(lambda: 1 / 0).result()
        assert batcher.submit(lambda: threading.current_thread().name).result() == "model_0"  # the thread lives on
    finally:
        batcher.shutdown()


def test_window_waits_only_for_requests_on_their_way(tiny_absa):
    batcher = ModelBatcher(window_ms=3000)
    try:
        started = time.perf_counter()
        batcher.inspect(tiny_absa, prepare_inspection(tiny_absa, ABSA_INPUTS[1])).result(timeout=60)
        assert time.perf_counter() - started < 2.5  # nothing was arriving: no wait for the window

        def late() -> object:
            with batcher.arriving() as arrival:
                time.sleep(0.3)  # still reading / tokenising when the batch starts forming
                return arrival.inspect(tiny_absa, prepare_inspection(tiny_absa, ABSA_INPUTS[2])).result(timeout=60)

        before = batcher.stats.batches
        with ThreadPoolExecutor(2) as pool:
            with batcher.arriving() as arrival:
                waiting = pool.submit(late)
                time.sleep(0.05)
                first = arrival.inspect(tiny_absa, prepare_inspection(tiny_absa, ABSA_INPUTS[0]))
            assert_same(first.result(timeout=60), inspect(tiny_absa, ABSA_INPUTS[0]))
            assert_same(waiting.result(timeout=60), inspect(tiny_absa, ABSA_INPUTS[2]))
        assert batcher.stats.batches == before + 1  # the late one joined the batch
    finally:
        batcher.shutdown()


def test_concurrent_api_requests_are_batched(tiny_client):
    state = tiny_client.app.state
    pair = {"model": TINY_ABSA_ID, "aspect": "food", "attention": "full"}
    texts = [f"The soup number {i} was {'cold' if i % 2 else 'lovely'} tonight." for i in range(6)]
    alone = [tiny_client.post("/api/inspect", json={**pair, "text": t}).json() for t in texts]
    before = state.model_executor.stats.batches
    answers = run_behind_gate(
        state.model_executor,
        lambda pool: [
            pool.submit(lambda t=t: tiny_client.post("/api/inspect", json={**pair, "text": t + " "}).json())
            for t in texts
        ],
    )
    assert state.model_executor.stats.batches - before < len(texts)
    for one, two in zip(answers, alone):
        assert one["input_ids"] == two["input_ids"] and one["prediction"]["label"] == two["prediction"]["label"]
        assert torch.allclose(
            torch.tensor(one["attention"]["values"]), torch.tensor(two["attention"]["values"]), atol=1e-5, rtol=0
        )


def test_oversized_and_malformed_bodies(tiny_client):
    limit = tiny_client.app.state.settings.max_inspect_body_bytes
    big = b'{"text": "' + b"a" * (limit + 10) + b'"}'
    response = tiny_client.post("/api/inspect", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "HEADSCOPE_MAX_INSPECT_BODY_BYTES" in response.text
    response = tiny_client.post("/api/inspect", content=b'{"text": ', headers={"content-type": "application/json"})
    assert response.status_code == 422
    long_text = "The soup was fine and the staff were kind. " * 1200  # ~10k tokens, over the character limit
    response = tiny_client.post("/api/inspect", json={"model": TINY_ABSA_ID, "aspect": "food", "text": long_text})
    assert response.status_code == 422 and "text" in str(response.json()["detail"][0]["loc"])
