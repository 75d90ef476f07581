"""Seed-group jobs with accounts on. The per-user job limit (HEADSCOPE_MAX_JOBS_PER_USER) counts a group job once:
the seeds' own jobs it queues ahead of itself are its dependencies, not jobs the user started, so a group of as
many seeds as the limit is accepted rather than refused by its own members; and a group the limit refuses queues
none of them. Sharing a group shares the seeds' own jobs its result links to.

Real app (TestClient over create_app) with accounts on, a user with an API token, a models folder holding a tiny
seed group of three seeds (tests/seed_group_support.py), the real job thread."""

import threading

import pytest
from fastapi.testclient import TestClient
from job_support import wait_job  # tests/ is on sys.path (rootdir conftest)
from seed_group_support import write_tiny_seed_group

from app.config import Settings
from app.store import users as user_store
from app.web.main import create_app

GROUP = "tiny-limited"
SETTINGS = {
    "max_examples": 8,
    "batch_size": 4,
    "bootstrap": 50,
    "pretrained": False,
    "importance": False,
    "agreement": False,
    "js_sample": 0,
}


USERS = ("dana", "erin")
GROUP_BODY = {"group": f"{GROUP}@13,14,15", "data": "demo-absa", "settings": SETTINGS}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("limited-models")
    write_tiny_seed_group(folder, (13, 14, 15), name=GROUP)
    return folder


def accounts_client(models, data_dir, jobs_per_user: int):
    settings = Settings(
        models_dir=models,
        data_dir=data_dir,
        device="cpu",
        prepare_on_start=False,
        auth_enabled=True,
        max_jobs_per_user=jobs_per_user,
    )
    with TestClient(create_app(settings)) as client:
        with client.app.state.store.write() as db:
            tokens = {name: user_store.create_token(db, user_store.ensure_user(db, name), "test")[1] for name in USERS}
        yield client, {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}


@pytest.fixture(scope="module")
def limited(models, tmp_path_factory):
    """(client, headers per user): accounts on, three jobs per user (the default), a three-seed group."""
    yield from accounts_client(models, tmp_path_factory.mktemp("limited-data"), 3)


@pytest.fixture(scope="module")
def one_job(models, tmp_path_factory):
    """(client, headers per user): accounts on, one job per user."""
    yield from accounts_client(models, tmp_path_factory.mktemp("one-job-data"), 1)


def test_a_group_of_as_many_seeds_as_the_limit_runs_and_counts_once(limited):
    client, users = limited
    headers = users["dana"]
    started = client.post("/api/analysis-groups", json=GROUP_BODY, headers=headers)
    assert started.status_code == 202, started.text  # its three queued members are not three jobs of the user's
    members = started.json()["members"]
    assert len(members) == 3

    # the group is one job of the user's three (while it is active): two more of their own are taken
    others = [
        client.post(
            "/api/analyses",
            json={"model": GROUP, "data": "demo-absa", "settings": {**SETTINGS, "bootstrap": 50 + i}},
            headers=headers,
        )
        for i in (1, 2)
    ]
    assert [o.status_code for o in others] == [202, 202], [o.text for o in others]

    group_id = started.json()["id"]
    final, _ = wait_job(client, "analysis-groups", group_id, timeout=900, headers=headers)
    assert final["status"] == "done", final["error"]
    result = client.get(f"/api/analysis-groups/{group_id}/comparison", headers=headers).json()
    assert [m["analysis_id"] for m in result["members"]] == [m["analysis_id"] for m in members]


def test_a_group_refused_by_the_limit_queues_no_seed(one_job):
    client, users = one_job
    headers = users["dana"]
    jobs = client.app.state.jobs
    release = threading.Event()
    jobs.model_executor.submit(release.wait)  # the model thread held: the user's first job stays running
    try:
        body = {"model": GROUP, "data": "demo-absa", "settings": {**SETTINGS, "bootstrap": 60}}
        first = client.post("/api/analyses", json=body, headers=headers)
        assert first.status_code == 202, first.text
        before = set(jobs.jobs)
        refused = client.post("/api/analysis-groups", json=GROUP_BODY, headers=headers)
        assert refused.status_code == 429 and "HEADSCOPE_MAX_JOBS_PER_USER=1" in refused.json()["detail"]
        assert set(jobs.jobs) == before  # no seed's own job was queued for the refused group
    finally:
        release.set()
    final, _ = wait_job(client, "analyses", first.json()["id"], timeout=900, headers=headers)
    assert final["status"] == "done", final["error"]


def test_two_groups_asked_at_once_admit_one_and_queue_nothing_for_the_other(one_job):
    """Each group's members, then its own limit check: two requests in parallel must not both queue members."""
    client, users = one_job
    jobs = client.app.state.jobs
    release = threading.Event()
    jobs.model_executor.submit(release.wait)  # the model thread held: nothing finishes meanwhile
    answers: dict[int, object] = {}
    before = set(jobs.jobs)

    def ask(bootstrap: int) -> None:
        body = {**GROUP_BODY, "settings": {**SETTINGS, "bootstrap": bootstrap}}
        answers[bootstrap] = client.post("/api/analysis-groups", json=body, headers=users["dana"])

    try:
        askers = [threading.Thread(target=ask, args=(bootstrap,)) for bootstrap in (70, 71)]
        for asker in askers:
            asker.start()
        for asker in askers:
            asker.join(120)
        codes = sorted(answer.status_code for answer in answers.values())
        assert codes == [202, 429], [answer.text for answer in answers.values()]
        accepted = next(answer.json() for answer in answers.values() if answer.status_code == 202)
        queued = {job_id for _, job_id in set(jobs.jobs) - before}
        assert queued == {accepted["id"], *(m["analysis_id"] for m in accepted["members"])}
        # asking again for the group admitted is answered with it, not refused: it is already the user's one job
        bootstrap = next(b for b, answer in answers.items() if answer.status_code == 202)
        again = client.post(
            "/api/analysis-groups",
            json={**GROUP_BODY, "settings": {**SETTINGS, "bootstrap": bootstrap}},
            headers=users["dana"],
        )
        assert again.status_code == 200 and again.json()["id"] == accepted["id"], again.text
    finally:
        release.set()
    final, _ = wait_job(client, "analysis-groups", accepted["id"], timeout=900, headers=users["dana"])
    assert final["status"] == "done", final["error"]


def test_sharing_a_group_shares_the_seeds_runs_it_links_to(limited):
    client, users = limited
    group = client.post("/api/analysis-groups", json=GROUP_BODY, headers=users["dana"])
    assert group.status_code in (200, 202), group.text
    group_id, members = group.json()["id"], [m["analysis_id"] for m in group.json()["members"]]
    final, _ = wait_job(client, "analysis-groups", group_id, timeout=900, headers=users["dana"])
    assert final["status"] == "done", final["error"]
    seen = [client.get(f"/api/analyses/{m}", headers=users["erin"]).status_code for m in members]
    assert seen == [404, 404, 404]  # dana's, private

    shared = client.patch(f"/api/analysis-groups/{group_id}", json={"visibility": "shared"}, headers=users["dana"])
    assert shared.status_code == 200, shared.text
    assert client.get(f"/api/analysis-groups/{group_id}", headers=users["erin"]).status_code == 200
    for member in members:  # each seed link of the shared result opens for erin
        answer = client.get(f"/api/analyses/{member}", params={"result": "false"}, headers=users["erin"])
        assert answer.status_code == 200 and answer.json()["status"] == "done", answer.text
