"""The job history (app/web/job_history.py, app/store/job_records.py) over the real app and its database:
listed with what each job ran on and how to ask for it again, kept across a server restart, a job the
stopping server had not finished read as interrupted and rerun by its own request.

Tiny checkpoints: what is checked is the bookkeeping, not what a model predicts.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from job_support import wait_job
from tiny_model import TINY_ABSA_ID

from app.config import Settings
from app.store import Store
from app.store import job_records as records
from app.web import job_history
from app.web.main import create_app

QUICK = {"max_examples": 4, "batch_size": 4, "bootstrap": 10, "pretrained": False, "agreement": False}
SLOW = {"max_examples": 60, "batch_size": 2, "bootstrap": 5000, "pretrained": False, "importance": True}


def request(**settings) -> dict:
    return {"model": TINY_ABSA_ID, "data": "demo-absa", "settings": settings}


def asks_for(rerun: dict, asked: dict) -> bool:
    """Whether a stored request asks for the same job (every setting spelled out, defaults included)."""
    return {**rerun, "settings": None} == {**asked, "settings": None} and asked["settings"].items() <= rerun[
        "settings"
    ].items()


@pytest.fixture
def settings(tiny_models_dir, tmp_path) -> Settings:
    return Settings(models_dir=tiny_models_dir, data_dir=tmp_path, device="cpu", prepare_on_start=False)


def test_history_survives_a_restart_and_reruns_what_the_stop_interrupted(settings):
    done_request, slow_request, queued_request = request(**QUICK), request(**SLOW), request(**QUICK, seed=7)
    with TestClient(create_app(settings)) as client:
        done = client.post("/api/analyses", json=done_request).json()
        assert wait_job(client, "analyses", done["id"])[0]["status"] == "done"
        slow = client.post("/api/analyses", json=slow_request).json()
        queued = client.post("/api/analyses", json=queued_request).json()
        assert queued["status"] == "queued"
    # the server stopped with one job running (or still queued) and one queued: both interrupted

    with TestClient(create_app(settings)) as client:
        listed = client.get("/api/analyses/history").json()["jobs"]
        assert [j["id"] for j in listed] == [queued["id"], slow["id"], done["id"]]  # last asked for first
        by_id = {j["id"]: j for j in listed}
        assert by_id[done["id"]]["status"] == "done" and asks_for(by_id[done["id"]]["rerun"], done_request)
        assert by_id[done["id"]]["model"] == TINY_ABSA_ID and by_id[done["id"]]["data"]["name"] == "demo-absa"
        assert by_id[done["id"]]["settings"]["bootstrap"] == 10 and by_id[done["id"]]["mine"] is True
        for job in (slow, queued):
            assert by_id[job["id"]]["status"] == "interrupted", by_id[job["id"]]
            assert "server stopped" in by_id[job["id"]]["error"]
        assert asks_for(by_id[queued["id"]]["rerun"], queued_request)

        # the finished result reopens; the interrupted job answers its status, not 404
        reopened = client.get(f"/api/analyses/{done['id']}").json()
        assert reopened["status"] == "done" and reopened["result"]["analysis_id"] == done["id"]
        stopped = client.get(f"/api/analyses/{queued['id']}?result=false")
        assert stopped.status_code == 200 and stopped.json()["status"] == "interrupted"
        assert asks_for(stopped.json()["rerun"], queued_request)
        assert client.get(f"/api/analyses/{queued['id']}/result.json").status_code == 409

        # its request reruns it: the same id, queued again, then done
        again = client.post("/api/analyses", json=stopped.json()["rerun"])
        assert again.status_code == 202 and again.json()["id"] == queued["id"]
        assert wait_job(client, "analyses", queued["id"])[0]["status"] == "done"
        top = client.get("/api/analyses/history?limit=1").json()["jobs"]
        assert [(j["id"], j["status"], j["error"]) for j in top] == [(queued["id"], "done", None)]


def test_a_job_left_running_by_a_dead_process_reads_interrupted(settings):
    """What a killed server leaves: records still "queued" or "running" (the browser test kills a real one).
    A new server marks those of a process that is gone, and leaves a live one's (another server sharing
    the database) and another host's alone."""
    gone = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.2)"])
    dead = f"{socket.gethostname()}:{gone.pid}:{job_history._start_ticks(gone.pid)}:q1"
    gone.wait()
    alive = job_history.this_runner()  # this test's own process
    elsewhere = "another-host:1:1:q1"
    assert not job_history.runner_alive(dead)
    assert job_history.runner_alive(alive) and job_history.runner_alive(elsewhere)

    store = Store(settings.database_url_or_default())
    store.migrate()
    ids = {runner: f"{n:x}" * 32 for n, runner in enumerate((dead, alive, elsewhere), start=10)}
    with store.write() as db:
        for runner, job_id in ids.items():
            row = records.asked(
                db,
                "analyses",
                job_id,
                status="queued",
                description={"model": TINY_ABSA_ID},
                request=request(**QUICK),
                total=4,
                runner=runner,
            )
            assert row.status == "queued"
        records.set_status(db, "analyses", ids[dead], "running")
    with TestClient(create_app(settings)):
        pass  # a server starts (and stops)
    with store.read() as db:
        found = {runner: records.get(db, "analyses", job_id) for runner, job_id in ids.items()}
    store.dispose()
    assert found[dead].status == "interrupted" and found[dead].finished_at is not None
    assert found[alive].status == "queued" and found[elsewhere].status == "queued"


def test_a_done_job_whose_result_file_was_deleted_reads_failed_and_runs_again(settings):
    asked = request(**QUICK)
    with TestClient(create_app(settings)) as client:
        job = client.post("/api/analyses", json=asked).json()
        assert wait_job(client, "analyses", job["id"])[0]["status"] == "done"
        (settings.data_dir / "analyses" / f"{job['id']}.json").unlink()
        answer = client.get(f"/api/analyses/{job['id']}")
        assert answer.status_code == 200 and answer.json()["status"] == "failed"
        assert "stored result is gone" in answer.json()["error"] and "result" not in answer.json()
        listed = {j["id"]: j for j in client.get("/api/analyses/history").json()["jobs"]}
        assert listed[job["id"]]["status"] == "failed"  # the history says what opening it says
        download = client.get(f"/api/analyses/{job['id']}/result.json")
        assert download.status_code == 409 and "stored result is gone" in download.json()["detail"]
        again = client.post("/api/analyses", json=asked).json()
        assert again["id"] == job["id"] and wait_job(client, "analyses", job["id"])[0]["status"] == "done"
