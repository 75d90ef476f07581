"""The minimum n (HEADSCOPE_MIN_N, docs/concepts.md#minimum-n) travels with every robustness result the web
serves, so the page greys out what rests on fewer pairs; it is the server's setting, not a stored number."""

import pytest
from fastapi.testclient import TestClient
from job_support import wait_job
from tiny_model import TINY_RE_ID

from app.config import Settings
from app.web.main import create_app

SMALL = {"tests": ["q1-typo"], "max_examples": 6, "batch_size": 6, "bootstrap": 20, "top_heads": 2}


@pytest.mark.parametrize("min_n", [None, 3])
def test_a_robustness_result_carries_the_servers_minimum_n(tiny_models_dir, tmp_path, min_n):
    extra = {} if min_n is None else {"min_n": min_n}
    settings = Settings(models_dir=tiny_models_dir, data_dir=tmp_path, device="cpu", prepare_on_start=False, **extra)
    with TestClient(create_app(settings)) as client:
        started = client.post("/api/robustness", json={"model": TINY_RE_ID, "data": "demo-re", "settings": SMALL})
        assert started.status_code == 202, started.text
        final, _ = wait_job(client, "robustness", started.json()["id"])
        assert final["status"] == "done", final["error"]
        result = client.get(f"/api/robustness/{started.json()['id']}").json()["result"]
    assert result["min_n"] == (10 if min_n is None else 3)
    test = result["tests"][0]
    assert test["broken"] + test["held"] <= test["sources"] <= result["data"]["sources"] == 6  # the n shown


def test_the_minimum_n_is_at_least_one():
    with pytest.raises(ValueError, match="min_n"):
        Settings(min_n=0)
