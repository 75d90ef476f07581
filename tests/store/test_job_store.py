"""Who owns background jobs and uploads (app/store/job_owners.py), on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import pytest

from app.store import Store, users
from app.store import job_owners as owners
from app.store.models import User
from app.store.store_errors import Forbidden, NotFound

KIND, JOB = "analyses", "a" * 32


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    else:
        url = request.getfixturevalue("postgres_cluster").create_database()
    store = Store(url)
    store.migrate()
    yield store
    store.dispose()


@pytest.fixture
def people(store):
    with store.write() as db:
        return (
            users.ensure_user(db, "alice"),
            users.ensure_user(db, "bob"),
            users.ensure_user(db, "root", is_admin=True),
        )


def access(store: Store, user: User, job: str = JOB):
    with store.read() as db:
        return owners.job_access(db, KIND, job, user)


def test_claims_visibility_and_admins(store, people):
    alice, bob, root = people
    with store.write() as db:
        owners.claim(db, KIND, JOB, alice)
        owners.claim(db, KIND, JOB, alice)  # a second claim by the same user is the same claim
    assert access(store, alice).to_json() == {"owner": "alice", "visibility": "private", "can_edit": True}
    assert access(store, bob) is None  # private: not even its existence
    assert access(store, root).to_json() == {"owner": "alice", "visibility": "private", "can_edit": True}
    with store.write() as db, pytest.raises(NotFound):
        owners.set_visibility(db, KIND, JOB, bob, "shared")

    with store.write() as db:
        owners.set_visibility(db, KIND, JOB, alice, "shared")
    assert access(store, bob).to_json() == {"owner": "alice", "visibility": "shared", "can_edit": False}
    with store.write() as db, pytest.raises(Forbidden):
        owners.set_visibility(db, KIND, JOB, bob, "private")

    # bob asks for the same job: his own claim, private, and only his to change
    with store.write() as db:
        owners.claim(db, KIND, JOB, bob)
        owners.set_visibility(db, KIND, JOB, alice, "private")
    assert access(store, bob).to_json() == {"owner": "bob", "visibility": "private", "can_edit": True}
    # an admin without a claim changes every claim; a stored result nobody holds gets the admin's
    with store.write() as db:
        assert owners.set_visibility(db, KIND, JOB, root, "shared").visibility == "shared"
        assert {r.visibility for r in owners.claims(db, KIND, JOB)} == {"shared"}
        owners.set_visibility(db, KIND, "b" * 32, root, "shared")
        assert [r.user_id for r in owners.claims(db, KIND, "b" * 32)] == [root.id]
    assert access(store, alice, "c" * 32) is None and access(store, root, "c" * 32) is not None


def test_uploads_belong_to_whoever_uploaded_them(store, people):
    alice, bob, root = people
    sha = "d" * 64
    with store.write() as db:
        owners.own_upload(db, sha, alice, 120)
        owners.own_upload(db, sha, alice, 120)
    with store.read() as db:
        assert owners.may_use_upload(db, sha, alice) and not owners.may_use_upload(db, sha, bob)
        assert owners.may_use_upload(db, sha, root)
        assert [(u.sha256, u.size) for u in owners.uploads_of(db, alice)] == [(sha, 120)]
        assert owners.uploads_of(db, bob) == []
    with store.write() as db:
        owners.own_upload(db, sha, bob, 120)  # the same bytes, uploaded by bob too
    with store.read() as db:
        assert owners.may_use_upload(db, sha, bob)
