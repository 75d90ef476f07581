"""Durability of findings: SIGKILL the server while 20 clients write, restart, check every write
that was acknowledged with a 2xx is present and intact.

    .venv/bin/python bench/findings_durability.py [--clients 20] [--kill-after 300] [--database-url URL]

Prints acknowledged vs found. Writes that were in flight at the kill (sent, no answer) are "in
doubt": they may or may not be stored, and either is correct. tests/test_findings_api.py runs a
smaller version and asserts that nothing acknowledged is lost.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.devserver import ServerProcess  # noqa: E402

MODEL_ID = "demo-absa-qa-m"
TEXT, ASPECT = "The pasta was great but the waiter was rude.", "service"


def _finding(client: int, n: int, snapshot: dict) -> dict:
    return {
        "title": f"client {client} write {n}",
        "note": f"durability **{client}/{n}** " + "x" * (n % 50),
        "visibility": "shared",
        "model": MODEL_ID,
        "input": {"text": TEXT, "aspect": ASPECT},
        "view": {"kind": "head", "layer": 3, "heads": [client % 12], "run": n},
        "labels": ["aspect"],
        "tags": [f"c{client}"],
        "snapshot": snapshot,
    }


def _intact(sent: dict, stored: dict) -> bool:
    same = ("title", "note", "visibility", "labels", "tags", "snapshot")
    return (
        all(stored.get(k) == sent[k] for k in same)
        and stored["input"]["text"] == sent["input"]["text"]
        and stored["input"]["aspect"] == sent["input"]["aspect"]
        and stored["view"]["run"] == sent["view"]["run"]
        and stored["view"]["heads"] == sent["view"]["heads"]
    )


def _read_store(url: str, ids: list[str]) -> tuple[dict[str, dict], int]:
    """The findings as a fresh process reads them from the database the killed server left."""
    from app.store import Store
    from app.store import findings as repo
    from app.store.models import User

    store = Store(url)
    store.migrate()
    try:
        with store.read() as db:
            reader = User(id=-1, name="durability-check", is_admin=True)
            stored = {}
            for finding_id in ids:
                finding = db.get(repo.Finding, finding_id)
                if finding is not None:
                    stored[finding_id] = repo.finding_json(finding, reader, {})
            return stored, repo.list_findings(db, reader, repo.ListFilters(), limit=1)[1]
    finally:
        store.dispose()


def run(
    clients: int = 20,
    kill_after: int = 300,
    data_dir: Path | None = None,
    models_dir: Path | None = None,
    database_url: str | None = None,
    max_writes: int = 100_000,
    quiet: bool = False,
    verify: str = "server",
) -> dict:
    """Returns {"acknowledged", "found", "lost", "corrupted", "in_doubt", "in_doubt_stored", ...}.

    verify="server" restarts the server and reads every acknowledged finding over HTTP;
    verify="store" opens the killed server's database directly (one server start less: the test)."""
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="headscope-durability-"))
    env = {
        "HEADSCOPE_DATA_DIR": str(data_dir),
        "HEADSCOPE_DEVICE": "cpu",
        "HEADSCOPE_MODELS_DIR": str(models_dir or Path(os.environ.get("HEADSCOPE_MODELS_DIR", ROOT / "models"))),
    }
    if database_url:
        env["HEADSCOPE_DATABASE_URL"] = database_url
    acknowledged: dict[str, dict] = {}
    in_doubt: list[dict] = []
    lock = threading.Lock()
    stop = threading.Event()

    server = ServerProcess(env).start()
    start_s = server.ready_after_s
    # A realistic snapshot (one layer of the compact inspection), so each write carries ~10 KB.
    inspected = httpx.post(
        server.url + "/api/inspect", json={"model": MODEL_ID, "text": TEXT, "aspect": ASPECT, "layers": [3]}, timeout=60
    ).json()

    def writer(client: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            n = 0
            while not stop.is_set() and n < max_writes:
                body = _finding(client, n, inspected)
                try:
                    response = http.post("/api/findings", json=body)
                except httpx.HTTPError:
                    with lock:
                        in_doubt.append(body)  # no answer: the server died mid-request
                    return
                if response.status_code // 100 == 2:
                    with lock:
                        acknowledged[response.json()["id"]] = body
                elif not quiet:
                    print(f"client {client}: {response.status_code} {response.text[:200]}", file=sys.stderr)
                n += 1

    threads = [threading.Thread(target=writer, args=(c,), daemon=True) for c in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    while len(acknowledged) < kill_after and any(t.is_alive() for t in threads):
        time.sleep(0.005)
    os.kill(server.process.pid, signal.SIGKILL)  # no shutdown hooks, no flush: as a crash
    killed_after_s = time.perf_counter() - started
    acked_at_kill = len(acknowledged)
    for thread in threads:
        thread.join(timeout=60)
    stop.set()
    server.process.wait()
    server.log.close()

    if verify == "server":
        with ServerProcess(env) as restarted, httpx.Client(base_url=restarted.url, timeout=30) as http:
            restart_s = restarted.ready_after_s
            stored = {i: http.get(f"/api/findings/{i}") for i in acknowledged}
            stored = {i: r.json() for i, r in stored.items() if r.status_code == 200}
            total = http.get("/api/findings", params={"limit": 1}).json()["total"]
    else:
        restart_s = None
        stored, total = _read_store(database_url or f"sqlite:///{data_dir / 'headscope.db'}", list(acknowledged))
    found = len(stored)
    corrupted = sum(not _intact(acknowledged[i], body) for i, body in stored.items())
    result = {
        "clients": clients,
        "acknowledged": len(acknowledged),
        "acknowledged_at_kill": acked_at_kill,
        "found": found,
        "lost": len(acknowledged) - found,
        "corrupted": corrupted,
        "in_doubt": len(in_doubt),
        "stored_total": total,
        "in_doubt_stored": total - found,
        "killed_after_s": round(killed_after_s, 2),
        "database": database_url or f"sqlite in {data_dir}",
        "server_start_s": round(start_s or 0, 1),
        "restart_s": round(restart_s or 0, 1),
    }
    if not quiet:
        print(
            f"{clients} clients, SIGKILL after {killed_after_s:.1f} s: acknowledged {result['acknowledged']}, "
            f"found {found} ({result['lost']} lost, {corrupted} corrupted); in flight at the kill "
            f"{result['in_doubt']}, of which stored {result['in_doubt_stored']}"
        )
        print(json.dumps(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--kill-after", type=int, default=300, help="SIGKILL once this many writes were acknowledged")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temp data folder")
    args = parser.parse_args()
    result = run(args.clients, args.kill_after, database_url=args.database_url)
    sys.exit(1 if result["lost"] or result["corrupted"] else 0)


if __name__ == "__main__":
    main()
