"""Robustness runs from the web: a small job end to end on demo-re, the stored result answering a repeat,
bad requests refused before anything is queued or stored, the tests list, the page.

Real app (TestClient over create_app), real demo checkpoint, real background job thread; the refusals,
the tests list and the page on the tiny relation checkpoint (tiny_client), which needs nothing trained.
"""

import pytest
from job_support import stored_results, wait_job
from tiny_model import TINY_ABSA_ID, TINY_RE_ID

SMALL = {"tests": ["q1-typo", "q5-entity-only"], "max_examples": 12, "batch_size": 8, "bootstrap": 50, "top_heads": 3}
REQUEST = {"model": "demo-re", "data": "demo-re", "settings": SMALL}
# Refusals, the tests list and the page need a relation checkpoint, not a trained one.
TINY_REQUEST = {**REQUEST, "model": TINY_RE_ID}
RE_UPLOAD = '{"text": "The <e1>storm</e1> caused <e2>floods</e2>.", "relation": "Cause-Effect(e1,e2)"}\n'


@pytest.fixture(scope="module")
def finished(client):
    started = client.post("/api/robustness", json=REQUEST)
    assert started.status_code == 202, started.text
    job = started.json()
    final, seen = wait_job(client, "robustness", job["id"])
    return job, final, seen


def test_a_small_run_end_to_end(client, finished):
    job, final, seen = finished
    assert job["status"] in ("queued", "running") and job["model"] == "demo-re"
    assert job["data"]["name"] == "demo-re" and job["data"]["sources"] == 12
    assert job["settings"]["tests"] == SMALL["tests"]
    assert final["status"] == "done", final["error"]
    assert all(0 <= p["done"] <= p["total"] for p in seen)
    assert final["progress"]["fraction"] == 1.0
    assert client.app.state.jobs.work_threads == {"model_0"}  # model work on the one model thread

    result = client.get(f"/api/robustness/{job['id']}").json()["result"]
    assert result["robustness_id"] == job["id"] and result["model"]["id"] == "demo-re"
    assert [t["test"] for t in result["tests"]] == SMALL["tests"]
    assert result["data"]["sources"] == 12 and result["data"]["name"] == "demo-re"
    for report in result["tests"]:
        assert report["sources"] == 12 and report["variants"] >= 1
        for rate in ("source_accuracy", "variant_accuracy", "flip_rate"):
            value, (low, high) = report[rate]["value"], report[rate]["ci"]
            assert low <= value <= high
        assert report["examples"] and {"source", "edited", "edited_spans", "broken"} <= set(report["examples"][0])
        assert set(report["moved"]) == {"focus", "cls"}
    only = result["tests"][1]
    assert only["debiased_accuracy"] is not None  # a shortcut probe
    assert only["examples"][0]["edited"]["inspect"]["text"].startswith("<e1>")
    assert "/work/" not in str(result) and "models/" not in str(result)  # no server folder

    download = client.get(f"/api/robustness/{job['id']}/result.json")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    assert download.json() == result


def test_the_same_request_is_answered_from_the_cache(client, finished):
    job, _, _ = finished
    runs = client.app.state.jobs.runs
    again = client.post("/api/robustness", json=REQUEST)
    assert again.status_code == 200 and again.json()["cached"] is True and again.json()["id"] == job["id"]
    assert client.app.state.jobs.runs == runs  # nothing recomputed
    # other settings are another run
    other = client.post("/api/robustness", json={**REQUEST, "settings": {**SMALL, "seed": 1, "tests": ["q1-typo"]}})
    assert other.status_code == 202 and other.json()["id"] != job["id"]
    wait_job(client, "robustness", other.json()["id"])


def test_tests_of_a_model(tiny_client):
    body = tiny_client.get("/api/robustness/tests", params={"model": TINY_RE_ID}).json()
    assert body["task"] == "re"
    names = [t["name"] for t in body["tests"]]
    assert "q5-entity-only" in names and "revtgt" not in names
    assert {"name", "family", "description", "needs"} <= set(body["tests"][0])
    absa = tiny_client.get("/api/robustness/tests", params={"model": TINY_ABSA_ID}).json()
    assert "aspect-only" in [t["name"] for t in absa["tests"]]
    missing = tiny_client.get("/api/robustness/tests", params={"model": "nope"})
    assert missing.status_code == 404 and TINY_RE_ID in missing.json()["known_models"]


@pytest.mark.parametrize(
    "change, field, words, accepted",
    [
        ({"settings": {"tests": ["q1-typos"]}}, "settings.tests", ["unknown robustness test", "'q1-typos'"], "q1-typo"),
        ({"settings": {"tests": ["revtgt"]}}, "settings.tests", ["'revtgt'", "accepted"], "q5-entity-only"),
        (  # the demo data is its own training file; an upload has none
            {"data": None, "upload": RE_UPLOAD, "settings": {"tests": ["q4-rule-mask"]}},
            "settings.tests",
            ["q4-rule-mask cannot run", "training file"],
            "q5-entity-only",
        ),
        (
            {"settings": {"tests": ["q4-rule-mask"]}, "train": "demo-absa"},
            "settings.tests",
            ["give relation data"],
            "q1-typo",
        ),
        ({"data": "demo-absa"}, "data", [f"demo-absa does not fit {TINY_RE_ID}"], "relation extraction data"),
        ({"data": "no-such-data"}, "data", ["no-such-data"], "demo-re"),
        ({"train": "no-such-data"}, "train", ["no-such-data"], "demo-re"),
    ],
)
def test_bad_requests_are_refused_naming_what_is_accepted(tiny_client, change, field, words, accepted):
    before, jobs = stored_results(tiny_client, "robustness"), dict(tiny_client.app.state.jobs.jobs)
    r = tiny_client.post("/api/robustness", json={**TINY_REQUEST, **change})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"][0]["loc"] == ["body", field]
    assert all(w in body["detail"][0]["msg"] for w in words), body
    assert any(accepted in a for a in body["accepted"]), body
    assert (
        stored_results(tiny_client, "robustness") == before and tiny_client.app.state.jobs.jobs == jobs
    )  # nothing queued or stored


def test_unknown_model_and_settings(tiny_client):
    r = tiny_client.post("/api/robustness", json={**TINY_REQUEST, "model": "nope"})
    assert r.status_code == 404 and TINY_RE_ID in r.json()["known_models"]
    r = tiny_client.post("/api/robustness", json={**TINY_REQUEST, "settings": {"tests": [], "colour": 1}})
    assert r.status_code == 422 and "accepted" in r.json()["detail"][0]["msg"] and "max_examples" in r.text
    r = tiny_client.get("/api/robustness/0123456789abcdef0123456789abcdef")
    assert r.status_code == 404


def test_page(tiny_client):
    r = tiny_client.get("/robustness")
    assert r.status_code == 200 and "/static/js/robustness.js" in r.text and 'href="/robustness"' in r.text


def test_a_patched_run_names_the_heads_that_carry_the_flips(client):
    settings = {"tests": ["q5-entity-only"], "max_examples": 30, "bootstrap": 50, "patch": True, "patch_limit": 3}
    started = client.post("/api/robustness", json={**REQUEST, "settings": settings})
    assert started.status_code == 202, started.text
    final, _ = wait_job(client, "robustness", started.json()["id"])
    assert final["status"] == "done", final["error"]
    report = client.get(f"/api/robustness/{final['id']}").json()["result"]["tests"][0]
    patched = report["patched"]
    assert patched["pairs"] == 3 and patched["eligible"] >= 3 and "same layer" in patched["control_rule"]
    assert all(h["ci"][0] > h["control_ci"][1] for h in patched["carriers"])
    moved = report["moved"]["focus"] or report["moved"]["cls"]  # None when too few broken or held pairs
    assert patched["moved"] == ([[h["layer"], h["head"]] for h in moved["top"]] if moved else [])
    bad = client.post("/api/robustness", json={**REQUEST, "settings": {**settings, "patch_limit": 0}})
    assert bad.status_code == 422 and "patch_limit" in bad.text
