"""Head roles across seeds from the web: POST /api/analysis-groups runs each seed's own analysis through the job
queue, then compares them; the groups of the models folder; a bad group is a 422 with seed_groups' message.

Real app (TestClient over create_app) on a models folder holding a seed group: copies of the trained demo
checkpoint, the later seed's attention projections perturbed (tests/seed_group_support.py).
"""

import pytest
from job_support import started_and_finished  # tests/ is on sys.path (rootdir conftest)
from seed_group_support import PERTURBED_GROUP, seed_group_client, write_perturbed_seed_group

GROUP = PERTURBED_GROUP
REQUEST = {
    "group": f"{GROUP}@13,14",
    "data": "demo-absa",
    "settings": {
        "max_examples": 40,
        "batch_size": 8,
        "bootstrap": 200,
        "pretrained": False,
        "importance": False,
        "agreement": False,
        "js_sample": 0,
    },
}


@pytest.fixture(scope="module")
def group_client(models_dir, tmp_path_factory):
    def write(folder):
        write_perturbed_seed_group(folder, models_dir / "demo-absa-qa-m", GROUP, (13, 14))

    with seed_group_client(tmp_path_factory, write) as client:
        yield client


@pytest.fixture(scope="module")
def finished(group_client):
    return started_and_finished(group_client, "analysis-groups", REQUEST)


def test_the_groups_of_the_models_folder_are_listed(group_client):
    answer = group_client.get("/api/analysis-groups/groups")
    assert answer.status_code == 200
    assert answer.json()["groups"] == [
        {
            "label": f"{GROUP}@13,14",
            "task": "absa",
            "name": GROUP,
            "seeds": [13, 14],
            "models": [GROUP, f"{GROUP}-seed14"],
        }
    ]


def test_the_group_compares_each_seeds_own_analysis(group_client, finished):
    job, _ = finished
    members = job["members"]
    assert [(m["seed"], m["model"]) for m in members] == [(13, GROUP), (14, f"{GROUP}-seed14")]
    result = group_client.get(f"/api/analysis-groups/{job['id']}/comparison").json()
    own = [group_client.get(f"/api/analyses/{m['analysis_id']}").json() for m in members]
    assert all(o["status"] == "done" for o in own)  # each member's analysis is an ordinary, reopenable one
    assert [m["labelled"] for m in result["members"]] == [o["result"]["labelled"] for o in own]
    stability = result["stability"]
    assert stability["seeds"] == [13, 14] and (stability["layers"], stability["heads"]) == (6, 12)
    assert stability["labels"], "the demo checkpoint labels heads on 40 demo pairs"
    for entry in stability["labels"]:
        sets = [{tuple(h) for h in o["result"]["labelled"].get(entry["label"], [])} for o in own]
        assert [{tuple(h) for h in heads} for heads in entry["heads"]] == sets
        for layer, row in enumerate(entry["counts"]):
            for head, k in enumerate(row):
                assert k == sum((layer, head) in s for s in sets)
        (pair,) = entry["pairs"]
        union = sets[0] | sets[1]
        assert pair["shared"] == len(sets[0] & sets[1])
        assert pair["jaccard"] == pytest.approx(len(sets[0] & sets[1]) / len(union), abs=1e-6)
        assert 0 <= pair["chance"] < 1


def test_asking_again_is_served_from_the_cache(group_client, finished):
    job, _ = finished
    again = group_client.post("/api/analysis-groups", json=REQUEST)
    assert again.status_code == 200 and again.json()["id"] == job["id"] and again.json()["cached"]
    alone = group_client.post(
        "/api/analyses", json={"model": GROUP, "data": "demo-absa", "settings": REQUEST["settings"]}
    )
    assert alone.status_code == 200 and alone.json()["id"] == job["members"][0]["analysis_id"]


def test_a_new_result_format_is_not_served_an_older_comparison(group_client, finished, monkeypatch):
    from job_support import stored_results

    from app.web.seed_group_jobs import SeedGroupJobs

    job, _ = finished
    analyses = stored_results(group_client, "analyses")
    monkeypatch.setattr(SeedGroupJobs, "result_version", SeedGroupJobs.result_version + 1)
    again, _ = started_and_finished(group_client, "analysis-groups", REQUEST)
    assert again["id"] != job["id"]  # compared again ...
    assert [m["analysis_id"] for m in again["members"]] == [m["analysis_id"] for m in job["members"]]  # ... same runs
    assert stored_results(group_client, "analyses") == analyses  # none of them run again


@pytest.mark.parametrize(
    ("group", "message"),
    [
        (f"{GROUP}@13", "NAME@SEEDS with two or more distinct seeds"),
        (f"{GROUP}@13,15", "no checkpoint for seed 15"),
    ],
)
def test_a_bad_group_is_a_422_naming_the_groups_there(group_client, group, message):
    before = group_client.app.state.jobs.runs
    answer = group_client.post("/api/analysis-groups", json={**REQUEST, "group": group})
    assert answer.status_code == 422
    body = answer.json()
    assert message in body["detail"][0]["msg"] and body["detail"][0]["loc"] == ["body", "group"]
    assert body["accepted"] == [f"{GROUP}@13,14"]
    assert group_client.app.state.jobs.runs == before
