"""A background job's state as the queue (app/web/jobs.py) keeps it: what it is, who asked, its status and progress."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

ACTIVE = ("queued", "running")


@dataclass
class Job:
    kind: str
    id: str
    description: dict[str, Any]
    total: int = 0
    owner_id: int | None = None  # who started it (the per-user limit counts these)
    dependency: bool = False  # queued for another job (a group's member): that job counts, this one does not
    status: str = "queued"  # queued, running, done, failed, interrupted (the server stopped first)
    phase: str = "queued"
    done: int = 0
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    cached: bool = False
    inputs: Any = None
    rerun: dict[str, Any] | None = None  # the POST body that asks for it again
    _phase_started: float | None = None
    _phase_done: int = 0

    def report(self, done: int, total: int, phase: str) -> None:
        """Progress from the kind: `done` of `total` in `phase` (a new phase restarts the ETA's clock)."""
        if phase != self.phase:
            self._phase_started, self._phase_done = time.time(), self.done
        self.done, self.total, self.phase = done, total, phase

    def progress(self) -> dict[str, Any]:
        now = time.time()
        eta = None
        measured = self.done - self._phase_done
        if self.status == "running" and self._phase_started and measured > 0 and self.done < self.total:
            eta = round((now - self._phase_started) / measured * (self.total - self.done), 1)
        end = self.finished or now
        return {
            "done": self.done,
            "total": self.total,
            "phase": self.phase,
            "eta_s": eta,
            "elapsed_s": round(end - self.started, 2) if self.started else 0.0,
            "fraction": round(self.done / self.total, 4) if self.total else 0.0,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
        }
