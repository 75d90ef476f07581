"""An analysis job with faithfulness on (the tiny checkpoint): the result carries the faithfulness section beside
the analysis, the cache key tells it apart, and a bad erasure is a 422 naming the accepted ones."""

from __future__ import annotations

from job_support import wait_job
from tiny_model import TINY_ABSA_ID

SMALL = {"max_examples": 4, "batch_size": 4, "bootstrap": 20, "js_sample": 2, "typical_k": 1}
BASE = {"model": TINY_ABSA_ID, "data": "demo-absa", "settings": {**SMALL, "importance": False, "pretrained": False}}


def test_faithfulness_rides_beside_the_analysis(tiny_client):
    request = {**BASE, "faithfulness": {"limit": 2, "ig_steps": 2, "random_draws": 2}}
    started = tiny_client.post("/api/analyses", json=request)
    assert started.status_code == 202, started.text
    assert started.json()["faithfulness"]["limit"] == 2
    final, _ = wait_job(tiny_client, "analyses", started.json()["id"])
    assert final["status"] == "done", final["error"]
    result = tiny_client.get(f"/api/analyses/{started.json()['id']}").json()["result"]
    section = result["faithfulness"]
    assert section["pairs"] + section["skipped"] == 2 and section["settings"]["erasure"] == "remove"
    assert {"head_mean", "rollout", "random"} <= set(section["sources"])
    comp = section["heads"]["attention"]["aopc_comprehensiveness_vs_random"]
    assert len(comp["mean"]) == 6 and len(comp["low"][0]) == 12
    plain = tiny_client.post("/api/analyses", json=BASE).json()
    assert plain["id"] != started.json()["id"]  # without faithfulness: another cache key
    wait_job(tiny_client, "analyses", plain["id"])


def test_an_unknown_erasure_is_refused_naming_the_accepted(tiny_client):
    answer = tiny_client.post("/api/analyses", json={**BASE, "faithfulness": {"limit": 2, "erasure": "drop"}})
    assert answer.status_code == 422
    assert "'remove', 'mask' or 'pad'" in answer.text or "remove, mask, pad" in answer.text


def test_an_unknown_source_is_refused_naming_the_accepted(tiny_client):
    answer = tiny_client.post("/api/analyses", json={**BASE, "faithfulness": {"limit": 2, "methods": ["saliency"]}})
    assert answer.status_code == 422
    assert '"methods"' in answer.text and "'rollout'" in answer.text and "'flow'" in answer.text
