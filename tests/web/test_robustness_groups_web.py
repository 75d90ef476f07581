"""The robustness suite over a seed group from the web: POST /api/robustness-groups runs each seed's own robustness
run through the job queue, then combines them (app.core.robustness.seed_moved): each test's figures over the
seeds and the heads that moved in each seed, compared. A bad group or a test no member could run is a 422 before
anything is queued.

Real app (TestClient over create_app), real tiny checkpoints of a seed group (tests/seed_group_support.py), real
background job thread."""

import statistics

import pytest
from job_support import started_and_finished  # tests/ is on sys.path (rootdir conftest)
from seed_group_support import seed_group_client, write_tiny_seed_group

from app.core.robustness.seed_moved import moved_set

GROUP = "tiny-grouped"
SEEDS = (13, 14, 15)
TESTS = ["revnon", "adddiff", "aspect-only"]
REQUEST = {
    "group": f"{GROUP}@13,14,15",
    "data": "demo-absa",
    "settings": {"tests": TESTS, "max_examples": 16, "batch_size": 8, "bootstrap": 100},
}


@pytest.fixture(scope="module")
def group_client(tmp_path_factory):
    with seed_group_client(tmp_path_factory, lambda folder: write_tiny_seed_group(folder, SEEDS, name=GROUP)) as client:
        yield client


@pytest.fixture(scope="module")
def finished(group_client):
    return started_and_finished(group_client, "robustness-groups", REQUEST)[0]


def test_the_groups_of_the_models_folder_are_listed(group_client):
    answer = group_client.get("/api/robustness-groups/groups")
    assert answer.status_code == 200
    (group,) = answer.json()["groups"]
    assert group["label"] == f"{GROUP}@13,14,15" and group["task"] == "absa"
    assert group["models"] == [GROUP, f"{GROUP}-seed14", f"{GROUP}-seed15"]
    paths = group_client.get("/openapi.json").json()["paths"]
    assert "/api/robustness-groups" in paths and "/api/robustness-groups/{job_id}/comparison" in paths


def test_the_group_combines_each_seeds_own_run(group_client, finished):
    members = finished["members"]
    assert [(m["seed"], m["model"]) for m in members] == [(13, GROUP), (14, f"{GROUP}-seed14"), (15, f"{GROUP}-seed15")]
    result = group_client.get(f"/api/robustness-groups/{finished['id']}/comparison").json()
    own = [group_client.get(f"/api/robustness/{m['robustness_id']}").json() for m in members]
    assert all(o["status"] == "done" for o in own)  # each member's run is an ordinary, reopenable one
    runs = [o["result"] for o in own]
    assert [m["robustness_id"] for m in result["members"]] == [m["robustness_id"] for m in members]

    figures = {row["test"]: row for row in result["figures"]}
    assert set(figures) == set(TESTS)
    for name, row in figures.items():
        reports = [next(t for t in run["tests"] if t["test"] == name) for run in runs]
        flips = [r["flip_rate"]["value"] for r in reports]
        assert [v["value"] for v in row["flip_rate"]["values"]] == flips
        assert [v["seed"] for v in row["flip_rate"]["values"]] == list(SEEDS)
        kept = [v for v in flips if v is not None]
        if kept:
            assert row["flip_rate"]["mean"] == pytest.approx(statistics.mean(kept), abs=1e-6)
            assert (row["flip_rate"]["min"], row["flip_rate"]["max"]) == (min(kept), max(kept))
        if len(kept) > 1:
            assert row["flip_rate"]["sd"] == pytest.approx(statistics.stdev(kept), abs=1e-6)
        for key in ("broken", "held"):  # pair counts stay integers, as the CLI's --out writes them
            assert [v["value"] for v in row[key]["values"]] == [r[key] for r in reports]
            assert all(type(v["value"]) is int for v in row[key]["values"])

    moved = result["moved"]
    assert moved["seeds"] == list(SEEDS) and (moved["layers"], moved["heads"]) == (
        runs[0]["model"]["num_layers"],
        runs[0]["model"]["num_heads"],
    )
    assert {(row["test"], row["query_set"]) for row in moved["tests"]} == {
        (t, q) for t in TESTS for q in ("focus", "cls")
    }
    for row in moved["tests"]:
        reports = [next(t for t in run["tests"] if t["test"] == row["test"]) for run in runs]
        sets = [moved_set(r, row["query_set"]) or set() for r in reports]
        assert [{tuple(h) for h in heads} for heads in row["heads"]] == sets
        for layer, counts in enumerate(row["counts"]):
            for head, k in enumerate(counts):
                assert k == sum((layer, head) in s for s in sets)
        assert len(row["pairs"]) == 3 and {tuple(h) for h in row["in_all"]} == set.intersection(*sets)


def test_asking_again_is_served_from_the_cache(group_client, finished):
    again = group_client.post("/api/robustness-groups", json=REQUEST)
    assert again.status_code == 200 and again.json()["id"] == finished["id"] and again.json()["cached"]
    alone = group_client.post(
        "/api/robustness", json={"model": f"{GROUP}-seed14", "data": "demo-absa", "settings": REQUEST["settings"]}
    )
    assert alone.status_code == 200 and alone.json()["id"] == finished["members"][1]["robustness_id"]


def test_a_new_result_format_combines_the_stored_runs_again(group_client, finished, monkeypatch):
    from job_support import stored_results

    from app.web.robustness_group_jobs import RobustnessGroupJobs

    runs = stored_results(group_client, "robustness")
    monkeypatch.setattr(RobustnessGroupJobs, "result_version", RobustnessGroupJobs.result_version + 1)
    again = started_and_finished(group_client, "robustness-groups", REQUEST)[0]  # a new job (202) ...
    assert again["id"] != finished["id"]
    assert [m["robustness_id"] for m in again["members"]] == [m["robustness_id"] for m in finished["members"]]
    assert stored_results(group_client, "robustness") == runs  # ... over the same stored runs, none run again


@pytest.mark.parametrize(
    ("change", "field", "message", "accepted"),
    [
        ({"group": f"{GROUP}@13"}, "group", "NAME@SEEDS with two or more distinct seeds", [f"{GROUP}@13,14,15"]),
        ({"group": f"{GROUP}@13,16"}, "group", "no checkpoint for seed 16", [f"{GROUP}@13,14,15"]),
        ({"settings": {"tests": ["no-such-test"]}}, "settings.tests", "no-such-test", None),
        ({"data": "demo-re"}, "data", "does not fit", None),
    ],
)
def test_a_request_no_member_could_run_is_a_422_and_queues_nothing(group_client, change, field, message, accepted):
    jobs = group_client.app.state.jobs
    before = (jobs.runs, set(jobs.jobs))
    answer = group_client.post("/api/robustness-groups", json={**REQUEST, **change})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert message in body["detail"][0]["msg"] and body["detail"][0]["loc"][:2] == ["body", field]
    if accepted:
        assert body["accepted"] == accepted
    assert (jobs.runs, set(jobs.jobs)) == before
