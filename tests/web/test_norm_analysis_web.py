"""The analysis setting attention through POST /api/analyses (real app, demo checkpoint, real job thread): norm is
its own cached job (the settings fingerprint differs), its result says what the statistics read and carries the
[SEP] survival section; an unknown value is a 422 naming both accepted ones."""

from job_support import wait_job

SMALL = {"max_examples": 24, "batch_size": 8, "bootstrap": 100, "js_sample": 0, "agreement": False, "pretrained": False}


def test_norm_analysis_is_its_own_job_with_the_sep_survival(client):
    request = {"model": "demo-absa-qa-m", "data": "demo-absa", "settings": {**SMALL, "attention": "norm"}}
    started = client.post("/api/analyses", json=request)
    assert started.status_code == 202, started.text
    final, _ = wait_job(client, "analyses", started.json()["id"])
    assert final["status"] == "done", final.get("error")
    result = client.get(f"/api/analyses/{started.json()['id']}").json()["result"]
    assert result["settings"]["attention"] == "norm"
    survival = result["sep_survival"]
    assert survival["pairs"] == 24 and 0 < survival["absent"] < 24
    assert len(survival["share_all_heads"]) == result["model"]["num_layers"]
    plain = client.post("/api/analyses", json={**request, "settings": SMALL})
    assert plain.json()["id"] != started.json()["id"]


def test_unknown_attention_is_refused_naming_the_accepted(client):
    bad = client.post("/api/analyses", json={"model": "demo-re", "data": "demo-re", "settings": {"attention": "raw"}})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "settings", "attention"]
    assert "weights" in bad.text and "norm" in bad.text
