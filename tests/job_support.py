"""What the job API tests share: polling a job to its end and listing the results a kind has stored."""

from __future__ import annotations

import time


def wait_job(
    client, kind: str, job_id: str, headers: dict | None = None, timeout: float = 300.0
) -> tuple[dict, list[dict]]:
    """Poll /api/<kind>/<id> until the job is done, failed or interrupted: (final status body, every progress seen)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/{kind}/{job_id}", params={"result": "false"}, headers=headers or {}).json()
        seen.append(body["progress"] | {"status": body["status"]})
        if body["status"] in ("done", "failed", "interrupted"):
            return body, seen
        time.sleep(0.05)
    raise AssertionError(f"{kind} job {job_id} did not finish in {timeout} s: {seen[-1]}")


def started_and_finished(client, kind: str, request: dict, timeout: float = 900.0) -> tuple[dict, dict]:
    """POST /api/<kind> with `request` (a new job: 202) and wait until it is done: (the start answer, final status)."""
    started = client.post(f"/api/{kind}", json=request)
    assert started.status_code == 202, started.text
    final, _ = wait_job(client, kind, started.json()["id"], timeout=timeout)
    assert final["status"] == "done", final["error"]
    return started.json(), final


def stored_results(client, kind: str) -> set[str]:
    """The result files the kind has written."""
    folder = client.app.state.jobs.root / kind
    return {p.name for p in folder.glob("*.json")} if folder.is_dir() else set()
