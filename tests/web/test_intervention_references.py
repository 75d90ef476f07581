"""Mean ablation over a reference set the request chooses (POST /api/inspect's intervene.reference) and the
list of what it accepts (GET /api/inspect/references), on a server whose HEADSCOPE_SHARED_DATA holds one
ABSA benchmark file, with the tiny checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tiny_model import TINY_ABSA_ID  # tests/ is on sys.path (rootdir conftest)

from app.config import Settings
from app.web.main import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "datasets"
SHARED_NAME = "semeval2014_task4/restaurants.xml"
BODY = {"model": TINY_ABSA_ID, "text": "The food was great but the service was slow.", "aspect": "food"}
MEAN = {"heads": [[layer, head] for layer in range(6) for head in range(12)], "mode": "mean"}  # tiny heads: all


@pytest.fixture(scope="module")
def shared_client(tiny_models_dir, tmp_path_factory):
    shared = tmp_path_factory.mktemp("shared")
    (shared / "semeval2014_task4").mkdir()
    (shared / SHARED_NAME).write_bytes((FIXTURES / "restaurants.xml").read_bytes())
    data = tmp_path_factory.mktemp("data")
    settings = Settings(
        models_dir=tiny_models_dir, data_dir=data, shared_data=shared, device="cpu", prepare_on_start=False
    )
    with TestClient(create_app(settings)) as client:
        yield client


def intervened(client, **intervene):
    answer = client.post("/api/inspect", json={**BODY, "intervene": {**MEAN, **intervene}})
    assert answer.status_code == 200, answer.text
    return answer.json()["intervention"]


def test_the_references_list_names_the_demo_and_the_shared_files(shared_client):
    answer = shared_client.get("/api/inspect/references")
    assert answer.status_code == 200
    found = {r["name"]: r for r in answer.json()["references"]}
    assert list(found) == ["demo", "demo-absa", "demo-re", SHARED_NAME]
    assert found["demo"]["task"] is None and found["demo-re"]["task"] == "re"
    assert found[SHARED_NAME] == {"name": SHARED_NAME, "task": "absa", "kind": "shared", "description": "semeval2014"}


def test_a_shared_reference_gives_other_means_than_the_demo(shared_client):
    default = intervened(shared_client)
    demo = intervened(shared_client, reference="demo")
    named_demo = intervened(shared_client, reference="demo-absa")
    shared = intervened(shared_client, reference=SHARED_NAME)
    assert default["reference"] == "demo" and shared["reference"] == SHARED_NAME
    # The task's demo, whatever it is called. The first answer forked a new input's forward into a batch of
    # two rows (the plain and the intervened), the later ones ran the intervened row alone (the plain outcome
    # kept): the same within the classifier's last float bits.
    for same in (demo, named_demo):
        assert same["after"]["label"] == default["after"]["label"]
        assert same["after"]["probabilities"] == pytest.approx(default["after"]["probabilities"], abs=1e-6)
    assert shared["before"] == demo["before"]
    assert abs(shared["after"]["logit"] - demo["after"]["logit"]) > 1e-5  # other means (10x the float noise above)
    assert intervened(shared_client, reference=SHARED_NAME)["after"] == shared["after"]  # means kept


def test_an_unknown_or_escaping_reference_is_a_422_naming_what_is_accepted(shared_client):
    for name in ("semeval2014_task4/missing.xml", "../data", "/etc/passwd", "upload:" + "0" * 64):
        answer = shared_client.post("/api/inspect", json={**BODY, "intervene": {**MEAN, "reference": name}})
        assert answer.status_code == 422, answer.text
        error = answer.json()["detail"][0]
        assert error["loc"] == ["body", "intervene.reference"]
        assert "demo-absa" in error["msg"] and "HEADSCOPE_SHARED_DATA" in error["msg"]
        assert "/api/inspect/references" in error["msg"]


def test_a_reference_other_than_mean_is_refused(shared_client):
    answer = shared_client.post(
        "/api/inspect", json={**BODY, "intervene": {"heads": [[0, 0]], "mode": "zero", "reference": SHARED_NAME}}
    )
    assert answer.status_code == 422 and "mean only" in answer.text
