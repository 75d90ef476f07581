"""Findings over HTTP: the real app, real demo checkpoints, a real SQLite file and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.store import users as user_store
from app.web.main import create_app

ROOT = Path(__file__).resolve().parents[2]
ABSA = "demo-absa-qa-m"
TEXT = "The pasta was great but the waiter was rude."


def new_finding(**overrides) -> dict:
    return {
        "title": "Head 3.7 follows the aspect",
        "note": "It **ignores** [SEP].",
        "model": ABSA,
        "input": {"text": TEXT, "aspect": "food"},
        "view": {"kind": "head", "layer": 3, "heads": [7]},
        "labels": ["aspect"],
        "tags": ["api-test"],
        **overrides,
    }


def errors(response) -> list[tuple[tuple, str]]:
    return [(tuple(e["loc"]), e["msg"]) for e in response.json()["detail"]]


# --- auth off (the default): the session `client` over the session settings' SQLite file -------


def test_create_computes_the_snapshot_and_weights_hash(client, models_dir):
    response = client.post(
        "/api/findings",
        json=new_finding(view={"kind": "head", "layer": 3, "heads": [7], "threshold": 0.2, "page_state": {"x": 1}}),
    )
    assert response.status_code == 201, response.text
    finding = response.json()
    weights = (models_dir / ABSA / "model.safetensors").read_bytes()
    assert finding["model"] == {
        "id": ABSA,
        "sha256": hashlib.sha256(weights).hexdigest(),
        "task": "absa",
        "format": "qa-m",
    }
    assert finding["checkpoint_status"] == "available" and finding["author"] == "local"
    snapshot = finding["snapshot"]
    assert list(snapshot["attention"]["layers"]) == ["3"]  # the head view's layer only
    assert snapshot["tokens"][0]["text"] == "[CLS]" and snapshot["prediction"]["label"]
    assert finding["view"]["page_state"] == {"x": 1}  # free view keys are kept
    assert client.get(f"/api/findings/{finding['id']}").json() == finding


def test_list_filters_and_pagination(client):
    tag = "list-test"
    for layer in (1, 2, 2):
        assert (
            client.post(
                "/api/findings",
                json=new_finding(view={"kind": "head", "layer": layer, "heads": [4]}, tags=[tag], labels=["noop"]),
            ).status_code
            == 201
        )
    page = client.get("/api/findings", params={"tag": tag, "limit": 2}).json()
    assert page["total"] == 3 and len(page["findings"]) == 2 and page["limit"] == 2
    assert "snapshot" not in page["findings"][0]  # lists stay light
    rest = client.get("/api/findings", params={"tag": tag, "limit": 2, "offset": 2}).json()
    ids = {f["id"] for f in page["findings"]} | {f["id"] for f in rest["findings"]}
    assert len(ids) == 3
    assert client.get("/api/findings", params={"tag": tag, "layer": 2, "head": 4, "label": "noop"}).json()["total"] == 2
    assert client.get("/api/findings", params={"tag": tag, "q": "WAITER"}).json()["total"] == 3
    bad = client.get("/api/findings", params={"label": "banana"})
    assert bad.status_code == 422 and "aspect" in bad.text  # names the accepted labels


def test_patch_and_delete(client):
    finding = client.post("/api/findings", json=new_finding()).json()
    patched = client.patch(
        f"/api/findings/{finding['id']}", json={"title": "Renamed", "visibility": "shared", "tags": ["a", "a", "b"]}
    )
    assert patched.status_code == 200
    body = patched.json()
    assert body["title"] == "Renamed" and body["visibility"] == "shared" and body["tags"] == ["a", "b"]
    assert body["updated_at"] > body["created_at"] and body["snapshot"] == finding["snapshot"]
    assert (
        client.patch(f"/api/findings/{finding['id']}", json={"view": {"kind": "head", "layer": 6}}).status_code == 422
    )
    assert (
        client.patch(f"/api/findings/{finding['id']}", json={"model": "other"}).status_code == 422
    )  # fixed at creation
    assert client.delete(f"/api/findings/{finding['id']}").status_code == 204
    assert client.get(f"/api/findings/{finding['id']}").status_code == 404


def test_bad_bodies_are_422_naming_the_field(client):
    cases = {
        ("body", "title"): new_finding(title="x" * 201),
        ("body", "note"): new_finding(note="x" * 20_001),
        ("body", "labels", 0): new_finding(labels=["banana"]),
        ("body", "view", "layer"): new_finding(view={"kind": "head", "layer": 6}),
        ("body", "view", "heads", 0): new_finding(view={"kind": "head", "layer": 1, "heads": [12]}),
        ("body", "input", "aspect"): new_finding(input={"text": TEXT}),
        ("body", "colour"): {**new_finding(), "colour": "red"},
    }
    for loc, body in cases.items():
        response = client.post("/api/findings", json=body)
        assert response.status_code == 422, (loc, response.text)
        assert loc in [l for l, _ in errors(response)], (loc, response.text)
    message = dict(errors(client.post("/api/findings", json=new_finding(note="x" * 20_001))))[("body", "note")]
    assert "20001 characters" in message and "at most 20000" in message
    assert (
        client.post("/api/findings", content=b"{not json", headers={"content-type": "application/json"}).status_code
        == 422
    )


def test_unknown_model_is_404_and_non_json_is_415(client):
    response = client.post("/api/findings", json=new_finding(model="no-such-model"))
    assert response.status_code == 404 and ABSA in response.json()["known_models"]
    form = client.post("/api/findings", content=json.dumps(new_finding()), headers={"content-type": "text/plain"})
    assert form.status_code == 415 and "application/json" in form.json()["detail"]


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def test_note_html_is_sanitised(client):
    note = (
        '<script>alert(1)</script> <img src=x onerror="alert(2)"> [x](javascript:alert(3)) '
        '<a href="javascript:alert(4)" onclick="alert(5)">y</a> [ok](https://example.org)'
    )
    finding = client.post("/api/findings", json=new_finding(title='<img src=x onerror="alert(6)">', note=note)).json()
    elements = Elements()
    elements.feed(finding["note_html"])
    tags = [tag for tag, _ in elements.found]
    assert "script" not in tags and "img" not in tags
    for _, attrs in elements.found:
        assert not any(name.startswith("on") for name in attrs)
        assert not any("javascript:" in (value or "").lower() for value in attrs.values())
    assert ("a", {"href": "https://example.org", "rel": "noopener noreferrer nofollow"}) in elements.found
    assert finding["note"] == note  # the Markdown is kept as written; only the HTML is cleaned


def test_auth_off_everyone_is_the_local_admin(client):
    assert client.get("/api/auth/me").json() == {"name": "local", "is_admin": True, "auth_enabled": False}
    assert client.post("/api/auth/login", json={"name": "x", "password": "y"}).status_code == 400


# --- auth on: a second app on PostgreSQL (SQLite when PostgreSQL is absent) ----------------------


def scratch_models(source: Path, target: Path) -> Path:
    """A models folder with the real demo checkpoint (linked) and `scratch-absa`, a copy whose
    weights a test may change or delete."""
    target.mkdir(parents=True, exist_ok=True)
    (target / ABSA).symlink_to(source / ABSA)
    scratch = target / "scratch-absa"
    scratch.mkdir()
    for path in (source / ABSA).iterdir():
        if path.name == "model.safetensors":
            shutil.copyfile(path, scratch / path.name)
        elif path.name == "headscope.json":
            (scratch / path.name).write_text(json.dumps({**json.loads(path.read_text()), "id": "scratch-absa"}))
        else:
            (scratch / path.name).symlink_to(path)
    return target


@pytest.fixture(scope="module")
def auth(models_dir, tmp_path_factory, request):
    try:
        database_url = request.getfixturevalue("postgres_cluster").create_database()
    except pytest.skip.Exception:
        database_url = None  # the data folder's SQLite file
    settings = Settings(
        models_dir=scratch_models(models_dir, tmp_path_factory.mktemp("auth-models")),
        data_dir=tmp_path_factory.mktemp("auth-data"),
        device="cpu",
        prepare_on_start=False,
        auth_enabled=True,
        database_url=database_url,
        max_body_bytes=256 * 1024,
        max_import_bytes=1024 * 1024,
    )
    app = create_app(settings)
    with TestClient(app) as anonymous:
        with app.state.store.write() as db:
            user_store.create_user(db, "alice", "alice-password")
            user_store.create_user(db, "bob", "bob-password-1")
            root = user_store.create_user(db, "root", "root-password", is_admin=True)
            _, root_token = user_store.create_token(db, root, "tests")
        alice, bob = TestClient(app), TestClient(app)
        for http, name, password in ((alice, "alice", "alice-password"), (bob, "bob", "bob-password-1")):
            response = http.post("/api/auth/login", json={"name": name, "password": password})
            assert response.status_code == 200, response.text
            http.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        admin = TestClient(app, headers={"Authorization": f"Bearer {root_token}"})
        yield SimpleNamespace(app=app, settings=settings, anonymous=anonymous, alice=alice, bob=bob, admin=admin)


def test_auth_on_needs_a_login_or_token(auth):
    assert auth.anonymous.get("/api/findings").status_code == 401
    assert auth.anonymous.post("/api/findings", json=new_finding()).status_code == 401
    assert auth.anonymous.get("/api/auth/me").status_code == 401
    bad = auth.anonymous.get("/api/findings", headers={"Authorization": "Bearer hs_wrong"})
    assert bad.status_code == 401 and "token" in bad.json()["detail"]
    assert auth.alice.get("/api/auth/me").json() == {"name": "alice", "is_admin": False, "auth_enabled": True}
    assert auth.admin.get("/api/auth/me").json()["name"] == "root"


def test_login_cookies_are_httponly_and_samesite(auth):
    assert auth.anonymous.post("/api/auth/login", json={"name": "alice", "password": "wrong-one"}).status_code == 401
    assert auth.anonymous.post("/api/auth/login", json={"name": "nobody", "password": "wrong-one"}).status_code == 401
    http = TestClient(auth.app)
    response = http.post("/api/auth/login", json={"name": "alice", "password": "alice-password"})
    cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
    assert "httponly" in cookies["headscope_session"] and "samesite=lax" in cookies["headscope_session"]
    assert "httponly" not in cookies["headscope_csrf"] and "samesite=lax" in cookies["headscope_csrf"]
    assert http.cookies["headscope_csrf"] == response.json()["csrf_token"]


def test_cookie_writes_need_the_csrf_header_bearer_writes_do_not(auth):
    no_header = TestClient(auth.app, cookies=dict(auth.alice.cookies))
    refused = no_header.post("/api/findings", json=new_finding())
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    wrong = no_header.post("/api/findings", json=new_finding(), headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    assert no_header.get("/api/findings").status_code == 200  # reads need no CSRF header
    assert auth.alice.post("/api/findings", json=new_finding()).status_code == 201
    assert auth.admin.post("/api/findings", json=new_finding()).status_code == 201  # bearer: no CSRF header


def test_private_is_404_to_others_shared_is_403_to_edit_admin_may(auth):
    private = auth.alice.post("/api/findings", json=new_finding(title="alice private")).json()
    shared = auth.alice.post("/api/findings", json=new_finding(title="alice shared", visibility="shared")).json()
    assert private["public_token"] is None and private["author"] == "alice"
    assert auth.bob.get(f"/api/findings/{private['id']}").status_code == 404
    assert auth.bob.get("/api/findings/doesnotexist").status_code == 404  # same answer as a private one
    assert auth.bob.patch(f"/api/findings/{private['id']}", json={"title": "x"}).status_code == 404
    assert auth.bob.delete(f"/api/findings/{private['id']}").status_code == 404
    assert auth.bob.get(f"/api/findings/{shared['id']}").status_code == 200
    assert auth.bob.patch(f"/api/findings/{shared['id']}", json={"title": "bob's now"}).status_code == 403
    assert auth.bob.delete(f"/api/findings/{shared['id']}").status_code == 403
    assert auth.bob.post(f"/api/findings/{shared['id']}/public-link").status_code == 403
    listed = {f["id"] for f in auth.bob.get("/api/findings", params={"limit": 200}).json()["findings"]}
    assert shared["id"] in listed and private["id"] not in listed
    exported = {f["id"] for f in auth.bob.get("/api/findings/export").json()["findings"]}
    assert shared["id"] in exported and private["id"] not in exported
    assert auth.admin.patch(f"/api/findings/{private['id']}", json={"title": "admin fixed"}).status_code == 200
    assert auth.admin.delete(f"/api/findings/{shared['id']}").status_code == 204


def test_public_link_works_logged_out_and_is_read_only(auth):
    finding = auth.alice.post("/api/findings", json=new_finding(title="for the public")).json()
    link = auth.alice.post(f"/api/findings/{finding['id']}/public-link").json()
    assert link["url"] == f"/p/{link['public_token']}"
    public = auth.anonymous.get(link["api_url"])
    assert public.status_code == 200
    assert public.json()["title"] == "for the public" and public.json()["snapshot"] == finding["snapshot"]
    for method in ("POST", "PATCH", "PUT", "DELETE"):
        assert auth.anonymous.request(method, link["api_url"], json={"title": "x"}).status_code == 405
    assert auth.anonymous.get(f"/api/findings/{finding['id']}").status_code == 401  # the id alone opens nothing
    assert auth.alice.delete(f"/api/findings/{finding['id']}/public-link").status_code == 204
    assert auth.anonymous.get(link["api_url"]).status_code == 404


def test_logout_ends_the_session(auth):
    http = TestClient(auth.app)
    csrf = http.post("/api/auth/login", json={"name": "bob", "password": "bob-password-1"}).json()["csrf_token"]
    stolen = dict(http.cookies)
    assert http.post("/api/auth/logout").status_code == 403  # a cookie write: CSRF header needed
    assert http.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert TestClient(auth.app, cookies=stolen).get("/api/auth/me").status_code == 401


def test_api_tokens_are_per_user_and_revocable(auth):
    created = auth.alice.post("/api/tokens", json={"name": "my script"})
    assert created.status_code == 201 and created.json()["token"].startswith("hs_")
    script = TestClient(auth.app, headers={"Authorization": f"Bearer {created.json()['token']}"})
    assert script.get("/api/auth/me").json()["name"] == "alice"
    assert script.post("/api/findings", json=new_finding()).json()["author"] == "alice"
    listed = auth.alice.get("/api/tokens").json()["tokens"]
    assert [t["name"] for t in listed] == ["my script"] and "token" not in listed[0]
    assert auth.bob.delete(f"/api/tokens/{created.json()['id']}").status_code == 404
    assert auth.alice.delete(f"/api/tokens/{created.json()['id']}").status_code == 204
    assert script.get("/api/auth/me").status_code == 401


def test_size_limits_413(auth):
    big = new_finding(note="x" * (300 * 1024))
    response = auth.admin.post("/api/findings", json=big)
    assert response.status_code == 413 and "HEADSCOPE_MAX_BODY_BYTES" in response.json()["detail"]
    document = {"format": "headscope-findings", "version": 1, "findings": [], "pad": "x" * (1100 * 1024)}
    response = auth.admin.post("/api/findings/import", json=document)
    assert response.status_code == 413 and "HEADSCOPE_MAX_IMPORT_BYTES" in response.json()["detail"]


def count(http) -> int:
    return http.get("/api/findings", params={"limit": 1}).json()["total"]


def test_import_is_all_or_nothing(auth):
    source = auth.admin.post("/api/findings", json=new_finding(title="to copy")).json()
    before = count(auth.admin)
    items = [{**source, "id": f"imported-{i}", "public_token": None} for i in range(3)]
    document = {"format": "headscope-findings", "version": 1, "findings": items}
    bad_item = {**document, "findings": [*items[:2], {**items[2], "view": {"kind": "head", "layer": -1}}]}
    response = auth.admin.post("/api/findings/import", json=bad_item)
    assert response.status_code == 422 and ("body", "findings", 2, "view", "layer") in [l for l, _ in errors(response)]
    duplicate = {**document, "findings": [*items, {**items[0], "id": source["id"]}]}
    response = auth.admin.post("/api/findings/import", json=duplicate)
    assert response.status_code == 409 and source["id"] in response.json()["detail"]
    assert (
        auth.admin.post(
            "/api/findings/import",
            content=b'{"format": "headscope-findings", "findings": [',
            headers={"content-type": "application/json"},
        ).status_code
        == 422
    )
    assert auth.alice.post("/api/findings/import", json=document).status_code == 403  # root's findings
    assert count(auth.admin) == before  # nothing of the failed imports was written
    response = auth.admin.post("/api/findings/import", json=document)
    assert response.status_code == 201 and response.json() == {"imported": 3, "ids": [i["id"] for i in items]}
    assert count(auth.admin) == before + 3


def test_export_import_round_trip_to_another_server_keeps_every_field(client, auth):
    """SQLite (auth off) -> PostgreSQL (auth on): ids, authors, times, links, snapshots survive."""
    made = [
        client.post(
            "/api/findings",
            json=new_finding(title=f"round trip {i}", visibility=visibility, note=f"# {i}\n<script>x</script>"),
        ).json()
        for i, visibility in enumerate(("private", "shared"))
    ]
    client.post(f"/api/findings/{made[1]['id']}/public-link")
    ids = ",".join(f["id"] for f in made)
    exported = client.get("/api/findings/export", params={"ids": ids})
    assert "attachment" in exported.headers["content-disposition"]
    document = exported.json()
    assert [f["id"] for f in document["findings"]] == [f["id"] for f in made]
    assert auth.admin.post("/api/findings/import", json=document).status_code == 201
    again = auth.admin.get("/api/findings/export", params={"ids": ids}).json()
    assert again["findings"] == document["findings"]
    assert again["findings"][1]["public_token"] and again["findings"][0]["author"] == "local"
    # The imported author has no password: it exists but cannot log in.
    assert auth.anonymous.post("/api/auth/login", json={"name": "local", "password": ""}).status_code == 401


def test_checkpoint_status_follows_the_weights_and_findings_outlive_them(auth):
    finding = auth.admin.post("/api/findings", json=new_finding(model="scratch-absa")).json()
    assert finding["checkpoint_status"] == "available"
    url = f"/api/findings/{finding['id']}"
    weights = Path(auth.settings.models_dir) / "scratch-absa" / "model.safetensors"
    with open(weights, "ab") as handle:  # "retrained": other bytes under the same id
        handle.write(b"\0")
    assert auth.admin.get(url).json()["checkpoint_status"] == "changed"
    shutil.rmtree(weights.parent)
    gone = auth.admin.get(url)
    assert gone.status_code == 200 and gone.json()["checkpoint_status"] == "missing"
    assert gone.json()["snapshot"] == finding["snapshot"]  # still opens: the attention was stored
    listed = auth.admin.get("/api/findings", params={"model": "scratch-absa"}).json()["findings"]
    assert [f["checkpoint_status"] for f in listed] == ["missing"]


def test_cli_user_add_and_token(auth, monkeypatch):
    from typer.testing import CliRunner

    from app.cli import cli
    from app.config import get_settings

    # In-process (a subprocess per command costs seconds of imports): point the CLI's settings at this app.
    monkeypatch.setenv("HEADSCOPE_DATA_DIR", str(auth.settings.data_dir))
    monkeypatch.setenv("HEADSCOPE_DATABASE_URL", auth.settings.database_url_or_default())
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        added = runner.invoke(cli, ["user", "add", "carol", "--password-stdin"], input="carol-password\n")
        assert added.exit_code == 0, added.output
        assert runner.invoke(cli, ["user", "add", "carol", "--password-stdin"], input="carol-password\n").exit_code == 2
        token = runner.invoke(cli, ["user", "token", "carol"])
        assert token.exit_code == 0, token.output
    finally:
        get_settings.cache_clear()
    script = TestClient(auth.app, headers={"Authorization": f"Bearer {token.output.strip()}"})
    assert script.get("/api/auth/me").json()["name"] == "carol"
    login = auth.anonymous.post("/api/auth/login", json={"name": "carol", "password": "carol-password"})
    assert login.status_code == 200


# --- durability: the real server, SIGKILLed while 20 clients write ------------------------------


def test_sigkill_during_concurrent_writes_loses_no_acknowledged_finding(models_dir, tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import findings_durability
    finally:
        sys.path.remove(str(ROOT / "bench"))
    # verify="store": read what the killed server left on disk from this process instead of a second
    # server start (bench/findings_durability.py restarts the server and reads over HTTP).
    result = findings_durability.run(
        clients=20, kill_after=40, data_dir=tmp_path, models_dir=models_dir, quiet=True, verify="store"
    )
    assert result["acknowledged"] >= 40
    assert result["lost"] == 0 and result["corrupted"] == 0, result
