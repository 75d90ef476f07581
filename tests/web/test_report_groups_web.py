"""Model reports over seed groups from the web: the groups the models folder holds (GET /api/reports/groups), a
report of two groups of tiny checkpoints (tests/seed_group_support.py) with each group's spread and the paired
comparison in its result, bad groups refused with a 422 before anything is queued or stored.

Real app (TestClient over create_app), real tiny checkpoints, real background job thread."""

import pytest
from job_support import stored_results, wait_job
from seed_group_support import (  # tests/ is on sys.path
    seed_group_client,
    write_perturbed_seed_group,
    write_tiny_seed_group,
)

SMALL = {
    "max_examples": 8,
    "batch_size": 8,
    "attacks": ["hotflip"],
    "attack_examples": 2,
    "budget": 4,
    "interpretability": True,
    "pretrained_baseline": False,
}
GROUPS = ["tiny-vanilla@13,14", "tiny-other@13,14"]


def write_two_groups(folder):
    write_tiny_seed_group(folder, (13, 14), "tiny-vanilla")
    write_perturbed_seed_group(folder, folder / "tiny-vanilla-seed14", "tiny-other", (13, 14))


@pytest.fixture(scope="module")
def group_client(tmp_path_factory):
    with seed_group_client(tmp_path_factory, write_two_groups) as client:
        yield client


def test_the_groups_the_models_folder_holds(group_client):
    answer = group_client.get("/api/reports/groups")
    assert answer.status_code == 200
    groups = {g["label"]: g for g in answer.json()["groups"]}
    assert set(groups) == set(GROUPS)
    assert groups["tiny-vanilla@13,14"]["members"] == [
        {"seed": 13, "model": "tiny-vanilla"},
        {"seed": 14, "model": "tiny-vanilla-seed14"},
    ]
    assert groups["tiny-other@13,14"]["task"] == "absa"
    assert "/api/reports/groups" in group_client.get("/openapi.json").json()["paths"]


def test_a_report_over_two_groups(group_client):
    started = group_client.post("/api/reports", json={"models": GROUPS, "settings": SMALL})
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["models"] == GROUPS
    assert job["checkpoints"] == ["tiny-vanilla", "tiny-vanilla-seed14", "tiny-other", "tiny-other-seed14"]
    final, _ = wait_job(group_client, "reports", job["id"], timeout=600.0)
    assert final["status"] == "done", final["error"]
    result = group_client.get(f"/api/reports/{job['id']}").json()["result"]
    assert [m["id"] for m in result["models"]] == job["checkpoints"]
    rows = {r["model"]: r for r in result["summary"]["rows"]}
    vanilla, other = result["seed_groups"]["entries"]
    values = [rows[m]["in_distribution"] for m in ("tiny-other", "tiny-other-seed14")]
    assert [v["value"] for v in other["figures"]["in_distribution"]["values"]] == values
    assert other["figures"]["in_distribution"]["mean"] == pytest.approx(sum(values) / 2)
    assert len(vanilla["reliability"]["bins"]) == 10 and len(vanilla["roc"][0]["tpr"]) == 21
    (paired,) = result["seed_groups"]["paired"]
    ece = paired["figures"]["ece"]
    assert [d["seed"] for d in ece["per_seed"]] == [13, 14] and ece["n"] == 2
    assert ece["low"] <= ece["mean"] <= ece["high"]
    # the same groups again: the stored result
    again = group_client.post("/api/reports", json={"models": GROUPS, "settings": SMALL})
    assert again.status_code == 200 and again.json()["cached"] is True and again.json()["id"] == job["id"]


@pytest.mark.parametrize(
    "models,words",
    [
        (["tiny-vanilla@13,15"], "no checkpoint for seed 15"),
        (["tiny-vanilla@13"], "two or more distinct seeds"),
        (["tiny-vanilla@13,14", "tiny-vanilla-seed14"], "names a checkpoint twice"),
    ],
)
def test_a_bad_group_is_refused_before_anything_is_queued(group_client, models, words):
    before = stored_results(group_client, "reports")
    answer = group_client.post("/api/reports", json={"models": models, "settings": SMALL})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert any(d["loc"] == ["body", "models"] and words in d["msg"] for d in detail), detail
    assert stored_results(group_client, "reports") == before
