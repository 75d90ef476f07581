"""The per-user job limit with accounts on (HEADSCOPE_MAX_JOBS_PER_USER) counts a seed-group job once: the seeds'
own jobs it queues ahead of itself are its dependencies, not jobs the user started, so a group of as many seeds
as the limit is accepted rather than refused by its own members; and a group the limit refuses queues none of them.

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
            _, token = user_store.create_token(db, user_store.ensure_user(db, "dana"), "test")
        yield client, {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def limited(models, tmp_path_factory):
    """(client, headers): accounts on, three jobs per user (the default), a three-seed group."""
    yield from accounts_client(models, tmp_path_factory.mktemp("limited-data"), 3)


@pytest.fixture(scope="module")
def one_job(models, tmp_path_factory):
    """(client, headers): accounts on, one job per user."""
    yield from accounts_client(models, tmp_path_factory.mktemp("one-job-data"), 1)


def test_a_group_of_as_many_seeds_as_the_limit_runs_and_counts_once(limited):
    client, headers = limited
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
    client, headers = one_job
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
