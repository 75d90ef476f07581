"""Model reports from the web: a small report on the two demo checkpoints end to end, the stored result
answering a repeat, bad requests refused before anything is queued or stored, the page.

Real app (TestClient over create_app), real demo checkpoints, real background job thread; the refusals and
the page on the tiny checkpoints (tiny_client), which need nothing trained.
"""

import os

import pytest
from job_support import stored_results, wait_job
from tiny_model import TINY_RE_ID

SMALL = {
    "max_examples": 16,
    "batch_size": 16,
    "attacks": ["hotflip"],
    "attack_examples": 2,
    "budget": 8,
    "interpretability": True,
    "pretrained_baseline": True,
}
REQUEST = {"models": ["demo-absa-qa-m", "demo-re"], "settings": SMALL}


@pytest.fixture(scope="module")
def finished(client):
    started = client.post("/api/reports", json=REQUEST)
    assert started.status_code == 202, started.text
    job = started.json()
    final, seen = wait_job(client, "reports", job["id"], timeout=600.0)
    return job, final, seen


def test_a_small_report_end_to_end(client, finished):
    job, final, seen = finished
    assert job["models"] == REQUEST["models"] and job["settings"]["attacks"] == ["hotflip"]
    assert set(job["data"]) == set(REQUEST["models"])
    assert final["status"] == "done", final["error"]
    assert all(0 <= p["done"] <= p["total"] for p in seen) and final["progress"]["fraction"] == 1.0
    threads = client.app.state.jobs.work_threads
    assert len(threads) == 1 and next(iter(threads)).startswith("model")  # model work on the one model thread

    result = client.get(f"/api/reports/{job['id']}").json()["result"]
    assert result["report_id"] == job["id"] and [m["id"] for m in result["models"]] == REQUEST["models"]
    for model in result["models"]:
        assert model["in_distribution"]["n"] == 16 and model["in_distribution"]["headline"]["accuracy"] is not None
        assert (
            model["calibration"]["temperature"] > 0
            and len(model["calibration"]["in_distribution"]["reliability"]) == 10
        )
        assert model["anomaly"]["sets"] and 0 <= model["anomaly"]["sets"][0]["auroc"] <= 1
        assert model["adversarial"]["attacks"]["hotflip"]["n"] <= 2
        assert model["interpretability"]["random"] is not None
        if model["task"] == "re" or not os.environ.get("HEADSCOPE_SHARED_DATA"):
            assert model["shift"]["sets"] == [] and model["shift"]["not_available"]["shift"]  # said why
        else:  # categories: SemEval-2014 -> MAMS-ACSA on the categories both have
            assert all(s["n"] > 0 for s in model["shift"]["sets"])
    rows = result["summary"]["rows"]
    assert [r["model"] for r in rows] == REQUEST["models"] and rows[0]["accuracy_name"] == "3-way sentiment accuracy"
    assert "/work/" not in str(result) and "models/" not in str(result)  # no server folder

    download = client.get(f"/api/reports/{job['id']}/result.json")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    assert download.json() == result


def test_the_same_request_is_answered_from_the_cache(client, finished):
    job, _, _ = finished
    runs = client.app.state.jobs.runs
    again = client.post("/api/reports", json=REQUEST)
    assert again.status_code == 200 and again.json()["cached"] is True and again.json()["id"] == job["id"]
    assert client.app.state.jobs.runs == runs


@pytest.mark.parametrize(
    "body,status,field,words",
    [
        ({"models": [TINY_RE_ID], "settings": {"bogus": 1}}, 422, "bogus", "accepted: max_examples"),
        ({"models": [TINY_RE_ID, TINY_RE_ID]}, 422, "models", "names a checkpoint twice"),
        ({"models": []}, 422, "models", "at least 1"),
        ({"models": [TINY_RE_ID], "settings": {"attacks": ["fgsm"]}}, 422, "attacks", "'pwws' or 'hotflip'"),
        (
            {"models": [TINY_RE_ID], "settings": {"shift": ["demo-absa"]}},
            422,
            "settings.shift",
            f"cannot be scored by {TINY_RE_ID}",
        ),
        ({"models": [TINY_RE_ID], "settings": {"ood": ["no/such/file.txt"]}}, 422, "settings.ood", "unknown dataset"),
        ({"models": [TINY_RE_ID], "settings": {"ood": ["/etc/passwd"]}}, 422, "settings.ood", "unknown dataset"),
    ],
)
def test_bad_requests_are_refused_before_anything_is_queued(tiny_client, body, status, field, words):
    before = stored_results(tiny_client, "reports")
    answer = tiny_client.post("/api/reports", json=body)
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert any(field in ".".join(map(str, d["loc"])) and words in d["msg"] for d in detail), detail
    assert stored_results(tiny_client, "reports") == before


def test_an_unknown_model_is_a_404_listing_the_known(tiny_client):
    answer = tiny_client.post("/api/reports", json={"models": [TINY_RE_ID, "nope"]})
    assert answer.status_code == 404 and TINY_RE_ID in answer.json()["known_models"]


def test_the_page(tiny_client):
    page = tiny_client.get("/report")
    assert page.status_code == 200 and '<script type="module" src="/static/js/report.js">' in page.text
    assert 'href="/report" aria-current="page"' in page.text
