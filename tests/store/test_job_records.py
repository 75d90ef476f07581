"""The job history's records (app/store/job_records.py), on a real SQLite file and a real PostgreSQL: who sees
which jobs, what a rerun resets, what a stopped server's jobs become."""

from __future__ import annotations

import pytest

from app.store import Store, users
from app.store import job_owners as owners
from app.store import job_records as records

KIND = "analyses"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'jobs.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_cluster").create_database()
    )
    store = Store(url)
    store.migrate()
    yield store
    store.dispose()


def ask(db, job_id: str, user, status: str = "queued", runner: str = "here:1:1:q"):
    row = records.asked(
        db,
        KIND,
        job_id,
        status=status,
        description={"model": "m", "data": {"name": job_id}, "settings": {"seed": 0}},
        request={"model": "m", "data": job_id},
        total=3,
        runner=runner,
    )
    owners.claim(db, KIND, job_id, user)
    return row


def test_history_shows_mine_and_shared_last_asked_first(store):
    with store.write() as db:
        alice, bob, root = (users.ensure_user(db, n, is_admin=n == "root") for n in ("alice", "bob", "root"))
        ask(db, "a1", alice)
        ask(db, "b1", bob)
        ask(db, "b2", bob)
        owners.set_visibility(db, KIND, "b2", bob, "shared")
        ask(db, "a1", alice, status="done")  # alice asks again: a1 moves up
    with store.read() as db:
        assert [e.record.job_id for e in records.recent(db, KIND, alice)] == ["a1", "b2"]
        shared = records.recent(db, KIND, alice)[1]
        assert shared.owners == ["bob"] and shared.shared and not shared.mine
        assert [e.record.job_id for e in records.recent(db, KIND, bob)] == ["b2", "b1"]
        # admins open anything by id, but their history is theirs and the shared ones too
        assert [e.record.job_id for e in records.recent(db, KIND, root)] == ["b2"]
        assert records.recent(db, "reports", alice) == [] and len(records.recent(db, KIND, bob, limit=1)) == 1


def test_rerun_resets_and_a_stopped_server_s_jobs_are_interrupted(store):
    with store.write() as db:
        alice = users.ensure_user(db, "alice")
        ask(db, "x", alice, runner="gone:1:1:q")
        records.set_status(db, KIND, "x", "running")
        ask(db, "y", alice, runner="live:1:1:q")
        ask(db, "z", alice)
        records.set_status(db, KIND, "z", "failed", "ValueError: no")
    with store.write() as db:
        assert records.interrupt_stopped(db, lambda runner: runner.startswith("live")) == 1
    with store.read() as db:
        x, y, z = (records.get(db, KIND, i) for i in "xyz")
        assert (x.status, x.error) == ("interrupted", records.INTERRUPTED) and x.started_at and x.finished_at
        assert y.status == "queued" and (z.status, z.error) == ("failed", "ValueError: no")
    with store.write() as db:
        again = ask(db, "x", alice, runner="new:2:2:q")  # rerun: queued again, the old outcome gone
        assert (again.status, again.error, again.started_at, again.finished_at) == ("queued", None, None, None)
        assert again.runner == "new:2:2:q"
        assert ask(db, "z", alice, status="done").status == "done"  # a result stored after all
