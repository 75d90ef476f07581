"""Background jobs and uploads belong to users when accounts are on (HEADSCOPE_AUTH_ENABLED=true).

The real app over TestClient with its own data folder and SQLite file, users with API tokens, the
real job thread and demo checkpoints: anonymous job -> 401; another user's private job -> 404; a
shared one is readable; the cache is reused across users only for data they can read; the job,
upload and inspection limits answer 429/413 and leave other users' jobs running; no 4xx body
shows a server folder.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from job_support import wait_job

from app.config import Settings
from app.store import users as user_store
from app.web.main import create_app

ROOT = Path(__file__).resolve().parents[2]
SMALL = {
    "max_examples": 8,
    "batch_size": 4,
    "bootstrap": 50,
    "js_sample": 2,
    "typical_k": 1,
    "importance": False,
    "pretrained": False,
}
RE_LINES = (
    "\n".join(
        [
            '{"text": "The <e1>fire</e1> was caused by a <e2>cigarette</e2>.", "relation": "Cause-Effect(e2,e1)"}',
            '{"text": "The <e1>wine</e1> is in the <e2>cellar</e2>.", "relation": "Content-Container(e1,e2)"}',
        ]
    )
    + "\n"
)
REVIEW = {"model": "demo-absa-qa-m", "text": "The pasta was great.", "aspect": "food", "attention": "none"}


class Users:
    """Bearer-token headers per user name (no passwords: argon2 is slow and nobody logs in here)."""

    def __init__(self, app, names: dict[str, bool]):
        self.headers: dict[str, dict[str, str]] = {}
        with app.state.store.write() as db:
            for name, admin in names.items():
                user = user_store.ensure_user(db, name, is_admin=admin)
                _, token = user_store.create_token(db, user, "test")
                self.headers[name] = {"Authorization": f"Bearer {token}"}

    def __getitem__(self, name: str) -> dict[str, str]:
        return self.headers[name]


def auth_settings(models_dir: Path, folder: Path, **overrides) -> Settings:
    shared = folder / "shared"
    (shared / "relations").mkdir(parents=True, exist_ok=True)
    (shared / "relations" / "small.jsonl").write_text(RE_LINES)
    return Settings(
        models_dir=models_dir,
        data_dir=folder / "data",
        shared_data=shared,
        device="cpu",
        prepare_on_start=False,
        auth_enabled=True,
        **overrides,
    )


@pytest.fixture(scope="module")
def accounts(models_dir, tmp_path_factory):
    """(client, users, settings): accounts on, one job per user, 4 KiB uploads, 3 inspections a minute."""
    settings = auth_settings(
        models_dir,
        tmp_path_factory.mktemp("jobs-auth"),
        max_jobs_per_user=1,
        max_upload_bytes=4096,
        inspect_rate_per_minute=3,
    )
    with TestClient(create_app(settings)) as client:
        yield client, Users(client.app, {"alice": False, "bob": False, "root": True, "carol": False}), settings


def start(client, headers, **overrides):
    return client.post(
        "/api/analyses", json={"model": "demo-re", "data": "demo-re", "settings": SMALL, **overrides}, headers=headers
    )


def server_paths(settings: Settings) -> list[str]:
    return [
        str(Path(settings.data_dir).resolve()),
        str(Path(settings.shared_data).resolve()),
        str(Path(settings.models_dir).resolve()),
        str(ROOT),
        sys.prefix,
    ]


def test_anonymous_clients_get_401_with_the_login_hint(accounts):
    client, users, _ = accounts
    for response in (
        start(client, {}),
        client.get("/api/analyses/datasets"),
        client.get("/api/analyses/" + "a" * 32),
        client.get("/api/analyses/" + "a" * 32 + "/result.json"),
        client.patch("/api/analyses/" + "a" * 32, json={"visibility": "shared"}),
        client.post("/api/inspect", json=REVIEW),
    ):
        assert response.status_code == 401, response.request.url
        assert "POST /api/auth/login" in response.json()["detail"]
    assert start(client, {}, upload=RE_LINES, data=None).status_code == 401  # nor may they upload
    for path in ("/analysis", "/inspect?model=demo-re"):  # the pages send visitors to log in first
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?" + urlencode({"next": path})
    assert client.get("/inspect", headers=users["bob"]).status_code == 200


def test_private_jobs_are_their_owners_and_shared_ones_everyones(accounts):
    client, users, _ = accounts
    started = start(client, users["alice"], settings={**SMALL, "seed": 1})
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["owner"] == "alice" and job["visibility"] == "private" and job["can_edit"] is True
    assert wait_job(client, "analyses", job["id"], users["alice"])[0]["status"] == "done"
    url = f"/api/analyses/{job['id']}"

    unknown = client.get("/api/analyses/" + "f" * 32, headers=users["bob"])
    hidden = client.get(url, headers=users["bob"])
    assert hidden.status_code == 404 and unknown.status_code == 404
    assert hidden.json()["detail"][0]["msg"].replace(job["id"], "f" * 32) == unknown.json()["detail"][0]["msg"]
    assert client.get(url + "/result.json", headers=users["bob"]).status_code == 404
    assert client.patch(url, json={"visibility": "shared"}, headers=users["bob"]).status_code == 404
    admin = client.get(url, headers=users["root"])
    assert admin.status_code == 200 and admin.json()["owner"] == "alice" and admin.json()["result"]

    shared = client.patch(url, json={"visibility": "shared"}, headers=users["alice"])
    assert shared.status_code == 200 and shared.json()["visibility"] == "shared"
    seen = client.get(url, headers=users["bob"])
    assert seen.status_code == 200 and seen.json()["owner"] == "alice" and seen.json()["can_edit"] is False
    assert seen.json()["result"]["analysis_id"] == job["id"]
    assert client.get(url + "/result.json", headers=users["bob"]).status_code == 200
    assert client.patch(url, json={"visibility": "private"}, headers=users["bob"]).status_code == 403  # not his
    assert client.patch(url, json={"visibility": "public"}, headers=users["alice"]).status_code == 422
    assert client.patch(url, json={"visibility": "private"}, headers=users["alice"]).json()["visibility"] == "private"
    assert client.get(url, headers=users["bob"]).status_code == 404


def test_a_cached_result_is_reused_only_for_data_the_asker_can_read(accounts):
    client, users, _ = accounts
    # Demo data: everyone may start that job, so bob gets alice's stored result, as his own.
    first = start(client, users["alice"], settings={**SMALL, "seed": 2})
    assert wait_job(client, "analyses", first.json()["id"], users["alice"])[0]["status"] == "done"
    again = start(client, users["bob"], settings={**SMALL, "seed": 2})
    assert again.status_code == 200 and again.json()["cached"] is True and again.json()["id"] == first.json()["id"]
    assert again.json()["owner"] == "bob" and again.json()["visibility"] == "private"

    # An upload is its uploader's: bob cannot name alice's, nor see the job over it.
    uploaded = start(client, users["alice"], data=None, upload=RE_LINES)
    assert uploaded.status_code == 202, uploaded.text
    name, job_id = uploaded.json()["data"]["name"], uploaded.json()["id"]
    assert wait_job(client, "analyses", job_id, users["alice"])[0]["status"] == "done"
    theirs = start(client, users["bob"], data=name)
    nobodys = start(client, users["bob"], data="upload:" + "0" * 64)
    assert theirs.status_code == nobodys.status_code == 422
    assert theirs.json()["detail"][0]["msg"].replace(name, "X") == nobodys.json()["detail"][0]["msg"].replace(
        "upload:" + "0" * 64, "X"
    )  # the same answer: the upload's existence is not given away
    assert client.get(f"/api/analyses/{job_id}", headers=users["bob"]).status_code == 404
    mine = client.get("/api/analyses/datasets", headers=users["alice"]).json()["uploads"]
    assert [u["name"] for u in mine] == [name]
    assert client.get("/api/analyses/datasets", headers=users["bob"]).json()["uploads"] == []
    # With the same bytes bob has the same data: the same job, answered from the store.
    same = start(client, users["bob"], data=None, upload=RE_LINES)
    assert same.status_code == 200 and same.json()["id"] == job_id and same.json()["cached"] is True
    assert start(client, users["bob"], data=name, settings={**SMALL, "seed": 2}).status_code == 202
    # an admin may use any upload
    assert start(client, users["root"], data=name).status_code == 200


def test_one_user_over_the_job_limit_gets_429_and_others_run(accounts):
    client, users, _ = accounts
    gate = threading.Event()
    client.app.state.model_executor.submit(gate.wait, 60)  # the model thread is busy: jobs stay queued/running
    try:
        mine = start(client, users["alice"], settings={**SMALL, "seed": 11})
        assert mine.status_code == 202
        over = start(client, users["alice"], settings={**SMALL, "seed": 12})
        assert over.status_code == 429 and "HEADSCOPE_MAX_JOBS_PER_USER=1" in over.json()["detail"]
        assert over.headers["retry-after"]
        # asking again for the job already running is no new job
        assert start(client, users["alice"], settings={**SMALL, "seed": 11}).status_code == 200
        other = start(client, users["carol"], settings={**SMALL, "seed": 13})
        assert other.status_code == 202
    finally:
        gate.set()
    assert wait_job(client, "analyses", mine.json()["id"], users["alice"])[0]["status"] == "done"
    assert wait_job(client, "analyses", other.json()["id"], users["carol"])[0]["status"] == "done"
    again = start(client, users["alice"], settings={**SMALL, "seed": 12})
    assert again.status_code == 202  # room again
    # finished before the next test: alice's one job slot would otherwise still be taken there
    assert wait_job(client, "analyses", again.json()["id"], users["alice"])[0]["status"] == "done"


def test_uploads_over_the_cap_get_413(accounts):
    client, users, _ = accounts
    big = RE_LINES * (4096 // len(RE_LINES) + 1)
    refused = start(client, users["alice"], data=None, upload=big)
    assert refused.status_code == 413 and "HEADSCOPE_MAX_UPLOAD_BYTES" in refused.json()["detail"]
    huge = start(client, users["alice"], data=None, upload="x" * (3 * 4096 + 70_000))
    assert huge.status_code == 413  # refused before the body is held in memory
    uploads = client.get("/api/analyses/datasets", headers=users["alice"]).json()["uploads"]
    assert all(u["bytes"] <= 4096 for u in uploads)  # nothing of the refused ones was kept


def test_inspection_needs_a_user_and_a_per_client_rate(accounts):
    client, users, _ = accounts
    answers = [client.post("/api/inspect", json=REVIEW, headers=users["bob"]) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert answers[3].status_code == 429 and int(answers[3].headers["retry-after"]) >= 1
    assert "HEADSCOPE_INSPECT_RATE_PER_MINUTE" in answers[3].json()["detail"]
    assert client.post("/api/inspect", json=REVIEW, headers=users["carol"]).status_code == 200  # another client


def test_public_inspection_is_a_setting(models_dir, tmp_path):
    settings = auth_settings(models_dir, tmp_path, public_inspect=True, inspect_rate_per_minute=2)
    with TestClient(create_app(settings)) as client:
        answers = [client.post("/api/inspect", json=REVIEW) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]  # anonymous, limited by address
        assert "retry-after" in answers[2].headers
        assert start(client, {}).status_code == 401  # jobs still need an account
        assert client.get("/inspect", follow_redirects=False).status_code == 200


def test_no_server_folder_in_any_4xx_body(accounts):
    client, users, settings = accounts
    alice = users["alice"]
    bad = [
        start(client, alice, data="semeval-2099"),
        start(client, alice, data="../../etc/passwd"),
        start(client, alice, data="/etc/passwd"),
        start(client, alice, data="relations/missing.jsonl"),
        start(client, alice, data="upload:" + "0" * 64),
        start(client, alice, data=None, upload='{"text": "no relation here"}\n'),
        start(client, alice, data="demo-absa"),
        start(client, alice, data=None),
        start(client, alice, settings={"batch": 4}),
        start(client, alice, model="no-such-model"),
        client.get("/api/analyses/..%2F..%2Fsecrets", headers=alice),
    ]
    for response in bad:
        assert 400 <= response.status_code < 500, response.text
        for path in server_paths(settings):
            assert path not in response.text, (path, response.text)
    given = str(Path(settings.shared_data) / "relations" / "small.jsonl")  # an absolute path is refused,
    absolute = start(client, alice, data=given)  # named as the user gave it, and nothing more
    assert absolute.status_code == 422 and absolute.json()["detail"][0]["msg"].startswith(f"unknown dataset {given!r}")
    listed = client.get("/api/analyses/datasets", headers=alice).json()
    assert [d["name"] for d in listed["shared"]] == ["relations/small.jsonl"] and listed["shared_data"] is True
    # accepted names are relative to HEADSCOPE_SHARED_DATA, and the shared file is analysed by that name
    assert "HEADSCOPE_SHARED_DATA" in " ".join(bad[0].json()["accepted"])
    shared = start(client, alice, data="relations/small.jsonl", settings={**SMALL, "seed": 21})
    assert shared.status_code == 202, shared.text
    assert wait_job(client, "analyses", shared.json()["id"], alice)[0]["status"] == "done"
    result = client.get(f"/api/analyses/{shared.json()['id']}/result.json", headers=alice)
    assert result.json()["data"]["path"] == "relations/small.jsonl"
    for path in server_paths(settings):
        assert path not in result.text
    models = client.get("/api/models").text
    assert str(Path(settings.models_dir).resolve()) not in models


def test_with_accounts_off_jobs_stay_open_to_the_local_user(client):
    """The session client has accounts off: no login, the local admin owns and sees every job."""
    response = start(client, {}, settings={**SMALL, "seed": 31})
    assert response.status_code == 202 and response.json()["owner"] == "local"
    assert response.json()["can_edit"] is True
    assert wait_job(client, "analyses", response.json()["id"], {})[0]["status"] == "done"
    for _ in range(4):  # no inspection limit without accounts
        assert client.post("/api/inspect", json=REVIEW).status_code == 200
    assert client.get("/analysis").status_code == 200
