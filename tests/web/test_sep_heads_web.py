"""The analysis setting sep_heads through POST /api/analyses (real app, the tiny relation checkpoint, real job
thread): top_sep gives relations a [SEP] survival section of the heads with the most [SEP] attention; an
unknown value is a 422 naming both accepted ones."""

from job_support import wait_job
from tiny_model import TINY_RE_ID

SMALL = {"max_examples": 16, "batch_size": 8, "bootstrap": 100, "js_sample": 0, "agreement": False, "pretrained": False}


def test_top_sep_survival_on_relations(tiny_client):
    settings = {**SMALL, "attention": "norm", "sep_heads": "top_sep"}
    started = tiny_client.post("/api/analyses", json={"model": TINY_RE_ID, "data": "demo-re", "settings": settings})
    assert started.status_code == 202, started.text
    final, _ = wait_job(tiny_client, "analyses", started.json()["id"])
    assert final["status"] == "done", final.get("error")
    result = tiny_client.get(f"/api/analyses/{started.json()['id']}").json()["result"]
    survival = result["sep_survival"]
    assert survival["selection"] == "top_sep" and survival["pairs"] == 16 and len(survival["heads"]) == 5
    masses = [head["weights_sep_mass"] for head in survival["heads"]]
    assert masses == sorted(masses, reverse=True)


def test_unknown_sep_heads_is_refused_naming_the_accepted(tiny_client):
    body = {"model": TINY_RE_ID, "data": "demo-re", "settings": {"attention": "norm", "sep_heads": "sep"}}
    bad = tiny_client.post("/api/analyses", json=body)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "settings", "sep_heads"]
    assert "no_op" in bad.text and "top_sep" in bad.text
