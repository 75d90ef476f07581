"""The findings store on a real SQLite file and a real PostgreSQL server (no mocks)."""

from __future__ import annotations

import threading
from html.parser import HTMLParser

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text

from app.store import Store, users
from app.store import findings as repo
from app.store.checkpoints import checkpoint_status
from app.store.finding_schemas import ExportFile, FindingCreate, FindingPatch, Limits, ModelRef
from app.store.markdown import render_note
from app.store.store_errors import Conflict, Forbidden, Invalid, NotFound

SHA_A, SHA_B = "a" * 64, "b" * 64
MODEL = ModelRef(id="demo-absa-qa-m", sha256=SHA_A, task="absa", format="qa-m")
SNAPSHOT = {"tokens": [{"text": "[CLS]"}], "attention": {"encoding": "uint8-base64", "layers": {"3": "AAEC"}}}


def open_store(kind: str, tmp_path, request) -> Store:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'findings.db'}"
    else:
        url = request.getfixturevalue("postgres_cluster").create_database()
    store = Store(url)
    store.migrate()
    return store


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    store = open_store(request.param, tmp_path / request.param, request)
    yield store
    store.dispose()


@pytest.fixture
def people(store):
    # No passwords: argon2 hashing is deliberately slow and these tests never log in.
    with store.write() as db:
        return (
            users.ensure_user(db, "alice"),
            users.ensure_user(db, "bob"),
            users.ensure_user(db, "root", is_admin=True),
        )


def body(**overrides) -> FindingCreate:
    data = {
        "title": "Head 3.7 follows the aspect",
        "note": "**bold**",
        "model": "demo-absa-qa-m",
        "input": {"text": "The pasta was great.", "aspect": "food"},
        "view": {"kind": "head", "layer": 3, "heads": [7], "threshold": 0.1, "custom": {"x": 1}},
        "labels": ["aspect"],
        "tags": ["Pasta"],
        **overrides,
    }
    return FindingCreate.model_validate(data)


def add(store: Store, author, model: ModelRef = MODEL, **overrides) -> str:
    with store.write() as db:
        return repo.create(db, db.get(type(author), author.id), body(**overrides), model, SNAPSHOT).id


def test_migration_builds_the_schema_and_is_idempotent(store):
    store.migrate()  # a second start runs `upgrade head` again: nothing to do
    with store.read() as db:
        assert db.scalar(text("select version_num from alembic_version")) == "0004"
    tables = set(sa_inspect(store.engine).get_table_names())
    assert {
        "users",
        "api_tokens",
        "sessions",
        "findings",
        "finding_heads",
        "finding_labels",
        "job_owners",
        "uploads",
        "job_records",
    } <= tables


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrade_from_0001_backfills_search_text(kind, tmp_path, request):
    from alembic import command

    from app.store.db import alembic_config

    url = (
        f"sqlite:///{tmp_path / 'old.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_cluster").create_database()
    )
    old = Store(url)
    config = alembic_config(old.engine)
    with old.engine.begin() as connection:  # a database a server of the first release left behind
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text("insert into users (name, is_admin, created_at) values ('old', true, :t)"),
            {"t": "2026-01-01 00:00:00"},
        )
        connection.execute(
            text(
                "insert into findings (id, title, note, note_html, author_id, visibility, model_id, input, view,"
                " labels, tags, tags_text, input_text, created_at, updated_at) values ('oldfinding1',"
                " 'Crème BRÛLÉE head', '', '', 1, 'private', 'm', :input, :view, '[]', '[\"Ünïcode\"]', '', '', :t, :t)"
            ),
            {"input": '{"text": "the dessert"}', "view": '{"kind": "head"}', "t": "2026-01-01 00:00:00"},
        )
    old.dispose()
    store = Store(url)
    store.migrate()
    try:
        with store.read() as db:
            admin = users.get_user(db, "old")
            for needle in ("crème brûlée", "DESSERT", "ünïcode"):
                assert repo.list_findings(db, admin, repo.ListFilters(q=needle))[1] == 1, needle
    finally:
        store.dispose()


def test_text_search_folds_unicode_case_on_both_databases(store, people):
    alice, _, _ = people
    add(store, alice, title="Ölçü of the CAFÉ head", note="Straße")
    with store.read() as db:
        for needle in ("café", "ÖLÇÜ", "STRASSE".lower().replace("ss", "ß")):
            assert repo.list_findings(db, alice, repo.ListFilters(q=needle))[1] == 1, needle


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    store.migrate()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.dispose()


def test_create_read_update_delete(store, people):
    alice, _, _ = people
    finding_id = add(store, alice)
    assert len(finding_id) >= 12
    with store.read() as db:
        finding = repo.get_visible(db, alice, finding_id)
        data = repo.finding_json(finding, alice, {"demo-absa-qa-m": SHA_A})
    assert data["author"] == "alice" and data["visibility"] == "private"
    assert data["note_html"] == "<p><strong>bold</strong></p>\n"
    assert data["view"]["custom"] == {"x": 1} and data["view"]["heads"] == [7]
    assert data["model"] == MODEL.model_dump() and data["checkpoint_status"] == "available"
    assert data["snapshot"] == SNAPSHOT and data["created_at"] == data["updated_at"]
    with store.write() as db:
        repo.update(
            db,
            alice,
            finding_id,
            FindingPatch(
                title="New title",
                note="*x*",
                labels=["noop", "aspect"],
                view={"kind": "head", "layer": 3, "heads": [7, 8]},
            ),
        )
    with store.read() as db:
        data = repo.finding_json(repo.get_visible(db, alice, finding_id), alice, {})
    assert data["title"] == "New title" and data["note_html"] == "<p><em>x</em></p>\n"
    assert data["labels"] == ["noop", "aspect"] and data["updated_at"] > data["created_at"]
    assert data["checkpoint_status"] == "missing"
    with store.write() as db:
        repo.delete(db, alice, finding_id)
    with store.read() as db, pytest.raises(NotFound):
        repo.get_visible(db, alice, finding_id)


def test_list_filters_and_pagination(store, people):
    alice, bob, _ = people
    add(store, alice, title="aspect head", view={"kind": "head", "layer": 3, "heads": [7]}, labels=["aspect"])
    add(store, alice, title="noop head", view={"kind": "head", "layer": 5, "heads": [1]}, labels=["noop"], tags=["sep"])
    add(
        store,
        alice,
        title="model view",
        view={"kind": "model", "heads": [[2, 4], [3, 1]]},
        labels=["phrase"],
        model=ModelRef(id="demo-re"),
        input={"text": "The <e1>fire</e1> was caused by a <e2>cigarette</e2>."},
    )
    for i in range(7):
        add(
            store,
            bob,
            title=f"bob {i}",
            visibility="shared",
            note=f"note 100% {i}",
            labels=[],
            view={"kind": "head", "layer": 0, "heads": [0]},
        )

    def ids(user, limit=50, offset=0, **filters):
        with store.read() as db:
            rows, total = repo.list_findings(db, user, repo.ListFilters(**filters), limit, offset)
            return [r.title for r in rows], total

    assert ids(alice, model="demo-re") == (["model view"], 1)
    assert ids(alice, layer=3)[0] == ["model view", "aspect head"]  # view.layer 3, or a [3, h] pair
    assert ids(alice, layer=3, head=7)[0] == ["aspect head"]
    assert ids(alice, head=4)[0] == ["model view"]
    assert ids(alice, label="noop")[0] == ["noop head"]
    assert ids(alice, tag="SEP")[0] == ["noop head"]
    assert ids(alice, q="CIGARETTE")[0] == ["model view"]  # input text
    assert ids(alice, q="100%")[1] == 7  # LIKE wildcards are escaped
    assert ids(alice, q="100_")[1] == 0
    assert ids(alice, author="bob")[1] == 7
    assert ids(alice, visibility="private")[1] == 3
    assert ids(alice, mine=True)[1] == 3
    # Newest first, pages of 4 with the total of all matches.
    page1, total = ids(alice, limit=4, offset=0)
    page3, _ = ids(alice, limit=4, offset=8)
    all_titles, _ = ids(alice, limit=200)
    assert total == 10 and page1 == ["bob 6", "bob 5", "bob 4", "bob 3"] and all_titles[-1] == "aspect head"
    assert ids(alice, limit=4, offset=4)[0] == all_titles[4:8] and page3 == all_titles[8:]
    # Bob sees his own and nothing private of alice's.
    assert ids(bob)[1] == 7


def test_private_findings_are_invisible_and_only_author_or_admin_edit(store, people):
    alice, bob, admin = people
    private = add(store, alice)
    shared = add(store, alice, visibility="shared")
    with store.read() as db:
        with pytest.raises(NotFound):
            repo.get_visible(db, bob, private)  # not Forbidden: ids cannot be probed
        assert repo.get_visible(db, bob, shared).id == shared
        assert repo.finding_json(repo.get_visible(db, bob, shared), bob, {})["public_token"] is None
        assert repo.get_visible(db, admin, private).id == private
    with store.write() as db, pytest.raises(Forbidden):
        repo.update(db, bob, shared, FindingPatch(title="mine now"))
    with store.write() as db, pytest.raises(NotFound):
        repo.delete(db, bob, private)
    with store.write() as db, pytest.raises(Forbidden):
        repo.make_public_link(db, bob, shared)
    with store.write() as db:
        repo.update(db, admin, shared, FindingPatch(title="fixed by admin"))
        repo.delete(db, admin, private)
    with store.read() as db:
        assert repo.get_visible(db, alice, shared).title == "fixed by admin"
        assert repo.list_findings(db, alice, repo.ListFilters())[1] == 1


def test_public_link_create_read_revoke(store, people):
    alice, _, _ = people
    finding_id = add(store, alice)
    with store.write() as db:
        token = repo.make_public_link(db, alice, finding_id)
        assert repo.make_public_link(db, alice, finding_id) == token  # one link per finding
    with store.read() as db:
        assert repo.get_public(db, token).id == finding_id
    with store.write() as db:
        repo.revoke_public_link(db, alice, finding_id)
    with store.read() as db, pytest.raises(NotFound):
        repo.get_public(db, token)


def export_file(store: Store, user) -> dict:
    with store.read() as db:
        return repo.export(db, user, repo.ListFilters(), {"demo-absa-qa-m": SHA_A})


def count(store: Store, admin) -> int:
    with store.read() as db:
        return repo.list_findings(db, admin, repo.ListFilters())[1]


def test_import_is_all_or_nothing(store, people):
    alice, bob, admin = people
    existing = add(store, alice)
    good = export_file(store, admin)["findings"][0]
    fresh = [{**good, "id": f"fresh-id-{i}", "public_token": None} for i in range(3)]
    # An id that exists already, at the end of the file: nothing of the file is written.
    with store.write() as db, pytest.raises(Conflict, match="already exist"):
        repo.import_findings(
            db,
            admin,
            ExportFile.model_validate(
                {"format": "headscope-findings", "version": 1, "findings": [*fresh, {**good, "id": existing}]}
            ),
        )
    assert count(store, admin) == 1
    # The same id twice in one file.
    with store.write() as db, pytest.raises(Invalid) as info:
        repo.import_findings(
            db,
            admin,
            ExportFile.model_validate(
                {"format": "headscope-findings", "version": 1, "findings": [fresh[0], fresh[1], fresh[0]]}
            ),
        )
    assert info.value.loc == ("findings", 2, "id")
    # A non-admin importing another author's findings.
    with store.write() as db, pytest.raises(Forbidden, match="item 0"):
        repo.import_findings(
            db, bob, ExportFile.model_validate({"format": "headscope-findings", "version": 1, "findings": fresh})
        )
    # A bad field deep in one item fails validation before the store is touched, naming the item.
    with pytest.raises(ValidationError) as bad:
        ExportFile.model_validate(
            {
                "format": "headscope-findings",
                "version": 1,
                "findings": [fresh[0], {**fresh[1], "labels": ["aspect", "nonsense"]}],
            }
        )
    assert bad.value.errors()[0]["loc"] == ("findings", 1, "labels", 1)
    assert count(store, admin) == 1
    with store.write() as db:
        assert repo.import_findings(
            db, admin, ExportFile.model_validate({"format": "headscope-findings", "version": 1, "findings": fresh})
        ) == [f["id"] for f in fresh]
    assert count(store, admin) == 4


@pytest.mark.parametrize("target_kind", ["sqlite", "postgresql"])
def test_export_import_round_trip_to_another_database_keeps_every_field(store, people, target_kind, tmp_path, request):
    alice, bob, admin = people
    first = add(store, alice, visibility="shared", note="# Title\n\n<script>x</script> [a](https://x.org)")
    add(
        store,
        bob,
        view={"kind": "summary", "heads": [[0, 1], [5, 11]], "filters": {"min": 0.2}},
        labels=["noop", "other"],
        tags=["a", "b"],
        input={"text": "x", "example": {"dataset": "semeval14", "index": 3}},
    )
    with store.write() as db:
        repo.make_public_link(db, alice, first)
        repo.update(db, alice, first, FindingPatch(title="edited later"))
    exported = export_file(store, admin)
    target = open_store(target_kind, tmp_path / ("target-" + target_kind), request)
    try:
        with target.write() as db:
            importer = users.ensure_user(db, "importer", is_admin=True)
            repo.import_findings(db, importer, ExportFile.model_validate(exported))
        again = export_file(target, importer)
        assert again["findings"] == exported["findings"]  # ids, authors, times, token, snapshot: all equal
        with target.read() as db:
            assert users.get_user(db, "bob").password_hash is None  # imported authors cannot log in
            # Derived rows were rebuilt: the filters work on the imported findings.
            assert repo.list_findings(db, importer, repo.ListFilters(layer=5, head=11))[1] == 1
    finally:
        target.dispose()


def test_concurrent_writers_all_land(store, people):
    alice, _, admin = people
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(5):
                add(store, alice, title=f"w{n}-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert count(store, admin) == 40


def test_users_tokens_and_sessions(store):
    with store.write() as db:
        user = users.create_user(db, "carol", "carol-password")
        row, token = users.create_token(db, user, "script")
        session_value = users.create_session(db, user)
        with pytest.raises(Conflict):
            users.create_user(db, "carol", "another-password")
    with store.read() as db:
        assert users.authenticate(db, "carol", "carol-password").name == "carol"
        assert users.authenticate(db, "carol", "wrong-password") is None
        assert users.authenticate(db, "nobody", "carol-password") is None
        assert users.user_for_token(db, token).name == "carol"
        assert users.user_for_token(db, token + "x") is None
        assert users.user_for_session(db, session_value).name == "carol"
        from app.store.models import ApiToken

        assert db.get(ApiToken, row.id).token_hash != token  # only the hash is stored
    with store.write() as db:
        users.end_session(db, session_value)
    with store.read() as db:
        assert users.user_for_session(db, session_value) is None


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.mark.parametrize(
    "note",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "[click](JAVASCRIPT:alert(1))",
        "![img](javascript:alert(1))",
        '<a href="javascript:alert(1)" onclick="alert(1)">x</a>',
        "<svg onload=alert(1)>",
        "<iframe src=https://x.org></iframe>",
    ],
)
def test_note_html_has_no_script_handlers_or_javascript_urls(note):
    html = render_note(note)
    parser = _Elements()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert (
            tag not in {"script", "iframe", "svg", "img"}
            or tag == "img"
            and not attrs.get("src", "").lower().startswith("javascript")
        )
        assert not any(name.startswith("on") for name in attrs), html
        assert not any("javascript:" in (value or "").lower() for value in attrs.values()), html


def test_note_markdown_keeps_safe_formatting():
    html = render_note("# T\n\n**b** *i* `c` [ok](https://example.org)\n\n- one\n- two")
    assert "<h1>T</h1>" in html and "<strong>b</strong>" in html and "<code>c</code>" in html
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow">ok</a>' in html


def test_length_limits_name_the_field():
    with pytest.raises(ValidationError) as info:
        FindingCreate.model_validate(
            {**body().model_dump(), "note": "x" * 101}, context={"limits": Limits(note_chars=100)}
        )
    error = info.value.errors()[0]
    assert error["loc"] == ("note",) and "at most 100" in error["msg"]


def test_checkpoint_status():
    assert checkpoint_status("m", SHA_A, {"m": SHA_A}) == "available"
    assert checkpoint_status("m", SHA_A, {"m": SHA_B}) == "changed"
    assert checkpoint_status("m", SHA_A, {}) == "missing"
    assert checkpoint_status("m", SHA_A, {"m": None}) == "available"  # hub weights: nothing to compare
