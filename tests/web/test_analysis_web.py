"""Web analysis jobs: start -> progress -> result, the result cache, bad input.

Real app (TestClient over create_app), real demo checkpoints, real background job thread.
"""

import json
import time
from pathlib import Path

import pytest
from job_support import wait_job
from locations import FIXTURES_DIR  # tests/ is on sys.path (rootdir conftest)

from app.config import Settings
from app.web.analysis_jobs import AnalysisJobs, AnalysisRequest
from app.web.job_context import JobInputError
from app.web.jobs import JobQueue

SMALL = {"max_examples": 12, "batch_size": 4, "bootstrap": 100, "js_sample": 2, "typical_k": 2}


@pytest.fixture(scope="module")
def finished(client):
    request = {
        "model": "demo-absa-qa-m",
        "data": "demo-absa",
        "settings": {**SMALL, "importance": True, "ablation_draws": 2},
    }
    started = client.post("/api/analyses", json=request)
    assert started.status_code == 202, started.text
    job = started.json()
    final, seen = wait_job(client, "analyses", job["id"])
    return request, job, final, seen


def test_job_reports_progress_then_the_result(client, finished):
    request, job, final, seen = finished
    assert job["status"] in ("queued", "running") and job["progress"]["total"] == 12
    assert job["data"] == {**job["data"], "name": "demo-absa", "kind": "demo", "pairing": "categories", "pairs": 12}
    assert final["status"] == "done", final["error"]
    statistics = [p for p in seen if p["phase"] == "statistics"]
    assert statistics, seen  # the statistics pass was observed while running
    assert all(0 <= p["done"] <= p["total"] == 12 for p in seen)
    assert [p["done"] for p in seen] == sorted(p["done"] for p in seen)  # never goes back
    assert any(p["eta_s"] is not None for p in statistics if p["done"])
    assert final["progress"]["done"] == 12 and final["progress"]["fraction"] == 1.0
    # every batch of model work ran on the app's one model thread, the one inspections use
    assert client.app.state.jobs.work_threads == {"model_0"}

    body = client.get(f"/api/analyses/{job['id']}").json()
    result = body["result"]
    assert result["analysis_id"] == job["id"] and result["data"]["pairs"] == 12
    assert result["model"]["id"] == "demo-absa-qa-m" and len(result["heads"]) == 6 * 12
    head = result["heads"][0]
    assert {"js", "ci", "n", "typical"} <= set(head["finetune_change"])
    assert len(head["statistics"]["to_sep"]["typical"]) == 2
    assert result["importance"] is not None and len(result["importance"]["scores"]) == 6
    assert result["finetune_change"]["examples"] == 12

    download = client.get(f"/api/analyses/{job['id']}/result.json")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    assert download.json() == result


def test_second_request_is_served_from_the_cache(client, finished):
    request, job, final, _ = finished
    service = client.app.state.jobs
    runs = service.runs
    first = client.get(f"/api/analyses/{job['id']}").json()["result"]
    started = time.perf_counter()
    again = client.post("/api/analyses", json=request)
    elapsed = time.perf_counter() - started
    assert again.status_code == 200 and elapsed < 5
    body = again.json()
    assert body["id"] == job["id"] and body["status"] == "done" and body["cached"] is True
    assert body["result"]["run_id"] == first["run_id"] and body["result"]["computed_at"] == first["computed_at"]
    assert service.runs == runs  # nothing recomputed
    # Another setting is another key: a new job.
    other = client.post("/api/analyses", json={**request, "settings": {**request["settings"], "seed": 1}})
    assert other.status_code == 202 and other.json()["id"] != job["id"]
    assert wait_job(client, "analyses", other.json()["id"])[0]["status"] == "done"
    assert service.runs == runs + 1


def test_cache_survives_a_restart(client, finished, settings, registry):
    """A new queue over the same data folder (a restarted server) answers from the stored file."""
    request, job, _, _ = finished
    fresh = JobQueue(settings, registry, client.app.state.store, None, kinds=[AnalysisJobs()])
    try:
        kind, local = fresh.kind("analyses"), client.app.state.local_user
        stored, seen = fresh.get(kind, job["id"], local)
        assert stored.status == "done" and stored.cached and seen.owner == "local"
        again, created = fresh.submit(kind, AnalysisRequest(**request), local)
        assert not created and again.id == job["id"] and fresh.runs == 0
        body = fresh.describe(again, seen)
        assert body["result"]["run_id"] == client.get(f"/api/analyses/{job['id']}").json()["result"]["run_id"]
        assert body["data"] == job["data"] and body["progress"]["done"] == 12
    finally:
        fresh.shutdown()
    path = Path(settings.data_dir) / "analyses" / f"{job['id']}.json"
    assert json.loads(path.read_text())["analysis_id"] == job["id"]


def test_relation_job_on_uploaded_jsonl(client):
    lines = [
        {"text": "The <e1>fire</e1> was caused by a <e2>cigarette</e2>.", "relation": "Cause-Effect(e2,e1)"},
        {"text": "The <e1>wine</e1> is in the <e2>cellar</e2>.", "relation": "Content-Container(e1,e2)"},
        {"text": "The <e1>author</e1> wrote a <e2>novel</e2>.", "relation": "Product-Producer(e2,e1)"},
    ]
    upload = "\n".join(json.dumps(line) for line in lines) + "\n"
    started = client.post("/api/analyses", json={"model": "demo-re", "upload": upload, "settings": SMALL})
    assert started.status_code == 202, started.text
    data = started.json()["data"]
    assert data["kind"] == "upload" and data["name"].startswith("upload:") and data["pairs"] == 3
    final, _ = wait_job(client, "analyses", started.json()["id"])
    assert final["status"] == "done", final["error"]
    result = client.get(f"/api/analyses/{final['id']}").json()["result"]
    assert "entity_mass" in result["statistics"]
    # The stored upload is reusable by name: same data and settings -> the same cached job.
    again = client.post("/api/analyses", json={"model": "demo-re", "data": data["name"], "settings": SMALL})
    assert again.status_code == 200 and again.json()["id"] == final["id"]


def detail(response):
    return response.json()["detail"]


def test_bad_input_gets_a_4xx_naming_what_is_accepted(client):
    unknown = client.post("/api/analyses", json={"model": "no-such-model", "data": "demo-absa"})
    assert unknown.status_code == 404 and "demo-absa-qa-m" in unknown.json()["known_models"]

    mismatch = client.post("/api/analyses", json={"model": "demo-re", "data": "demo-absa"})
    assert mismatch.status_code == 422 and "relation" in detail(mismatch)[0]["msg"]
    assert detail(mismatch)[0]["loc"] == ["body", "data"]

    dataset = client.post("/api/analyses", json={"model": "demo-re", "data": "semeval-2099"})
    assert dataset.status_code == 422
    assert "demo-absa" in detail(dataset)[0]["msg"] and "demo-re" in dataset.json()["accepted"]

    for sneaky in ("../../etc/passwd", "/etc/passwd", "upload:" + "0" * 64):
        refused = client.post("/api/analyses", json={"model": "demo-re", "data": sneaky})
        assert refused.status_code == 422, sneaky

    broken = client.post("/api/analyses", json={"model": "demo-re", "upload": '{"text": "no relation here"}\n'})
    assert broken.status_code == 422 and "line 1" in detail(broken)[0]["msg"]

    setting = client.post("/api/analyses", json={"model": "demo-re", "data": "demo-re", "settings": {"batch": 4}})
    assert setting.status_code == 422 and detail(setting)[0]["loc"] == ["body", "settings", "batch"]
    assert "batch_size" in detail(setting)[0]["msg"] and "max_examples" in detail(setting)[0]["msg"]
    assert (
        client.post("/api/analyses", content=b"{not json", headers={"content-type": "application/json"}).status_code
        == 422
    )
    size = client.post("/api/analyses", json={"model": "demo-re", "data": "demo-re", "settings": {"batch_size": 0}})
    assert size.status_code == 422 and "batch_size" in detail(size)[0]["loc"]
    pairs = client.post("/api/analyses", json={"model": "demo-re", "data": "demo-re", "settings": {"pairs": "words"}})
    assert pairs.status_code == 422 and "terms" in detail(pairs)[0]["msg"]
    missing = client.post("/api/analyses", json={"model": "demo-re"})
    assert missing.status_code == 422 and "demo-re" in detail(missing)[0]["msg"]

    assert client.get("/api/analyses/" + "f" * 32).status_code == 404
    assert client.get("/api/analyses/..%2F..%2Fsecrets").status_code == 404
    assert client.get("/api/analyses/" + "f" * 32 + "/result.json").status_code == 404


def test_datasets_list_and_shared_data_files(client, tmp_path, registry):
    listing = client.get("/api/analyses/datasets").json()
    assert {d["name"]: d["task"] for d in listing["demo"]} == {"demo-absa": "absa", "demo-re": "re"}

    shared = tmp_path / "shared"
    (shared / "semeval2010_task8").mkdir(parents=True)
    fixture = FIXTURES_DIR / "datasets" / "semeval2010_train.txt"
    (shared / "semeval2010_task8" / "TRAIN_FILE.TXT").write_bytes(fixture.read_bytes())
    (tmp_path / "outside.txt").write_bytes(fixture.read_bytes())
    settings = Settings(models_dir=registry.models_dir, data_dir=tmp_path / "data", shared_data=shared, device="cpu")
    queue = JobQueue(settings, registry, client.app.state.store, None, kinds=[AnalysisJobs()])
    try:
        kind, local = queue.kind("analyses"), client.app.state.local_user
        listed = kind.datasets(local, queue.context)["shared"]
        assert [(d["name"], d["task"]) for d in listed] == [("semeval2010_task8/TRAIN_FILE.TXT", "re")]  # RE data
        prepared = kind.prepare(
            AnalysisRequest(model="demo-re", data="semeval2010_task8/TRAIN_FILE.TXT"), local, queue.context
        )
        data = prepared.description["data"]
        assert data["kind"] == "shared" and data["format"] == "semeval2010"
        assert len(prepared.inputs.examples) == data["examples"]
        with pytest.raises(JobInputError, match="accepted") as outside:
            kind.prepare(AnalysisRequest(model="demo-re", data="../outside.txt"), local, queue.context)
        with pytest.raises(JobInputError, match="no such file") as missing:
            kind.prepare(AnalysisRequest(model="demo-re", data="semeval2010_task8/TEST_FILE.TXT"), local, queue.context)
        for refused in (outside.value, missing.value):  # named as given, the shared folder never shown
            assert str(tmp_path) not in str(refused) and str(tmp_path) not in " ".join(refused.accepted or [])
    finally:
        queue.shutdown()


def test_unknown_ablation_label_is_refused_with_the_accepted_ones(client):
    response = client.post(
        "/api/analyses",
        json={
            "model": "demo-absa-qa-m",
            "data": "demo-absa",
            "settings": {"importance": True, "ablate_labels": ["bogus"]},
        },
    )
    assert response.status_code == 422
    assert "aspect-sentiment" in response.text and "ablate_labels" in response.text
