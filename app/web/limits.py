"""Who may use live inspection, and how often, with accounts on (HEADSCOPE_AUTH_ENABLED=true).

* `inspect_access`, a dependency of POST /api/inspect: a signed-in user or API token, unless
  HEADSCOPE_PUBLIC_INSPECT=true (a public demo server is a deliberate choice); then at most
  HEADSCOPE_INSPECT_RATE_PER_MINUTE requests a minute per client (the user, else the address),
  429 with Retry-After beyond. With accounts off nothing is checked.
* `login_redirect`: pages that only work signed in send visitors who are not to /login first.

Background jobs have their own per-user limit (app/web/jobs.py) and uploads a size cap (uploads.py).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from app.store.models import User
from app.web.auth import NOT_LOGGED_IN, current_user

MAX_CLIENTS = 10_000  # buckets kept; full ones are dropped first


class RateLimiter:
    """A token bucket per client: `per_minute` requests a minute, in bursts of up to that many."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.per_minute, self.clock = per_minute, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, client: str) -> float | None:
        """None when the request may go ahead, else the seconds until it may."""
        if self.per_minute <= 0:
            return None
        rate = self.per_minute / 60.0
        with self._lock:
            now = self.clock()
            tokens, then = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - then) * rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                return (1.0 - tokens) / rate
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > MAX_CLIENTS:
                self._forget_idle(now, rate)
            return None

    def _forget_idle(self, now: float, rate: float) -> None:
        full = [c for c, (tokens, then) in self._buckets.items() if tokens + (now - then) * rate >= self.per_minute]
        for client in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[client]


def inspect_access(request: Request, user: User | None = Depends(current_user)) -> None:
    settings = request.app.state.settings
    if not settings.auth_enabled:
        return
    if user is None and not settings.public_inspect:
        raise HTTPException(
            401,
            f"{NOT_LOGGED_IN}; this server inspects for signed-in users only (HEADSCOPE_PUBLIC_INSPECT=false)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    client = f"user:{user.id}" if user is not None else f"address:{request.client.host if request.client else '?'}"
    wait = request.app.state.inspect_limiter.take(client)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            429,
            f"more than {settings.inspect_rate_per_minute} inspections a minute from this "
            f"client (HEADSCOPE_INSPECT_RATE_PER_MINUTE); retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )


def login_redirect(request: Request) -> RedirectResponse | None:
    """With accounts on and nobody signed in: a redirect to /login that comes back here; else None."""
    if not request.app.state.settings.auth_enabled:
        return None
    try:
        if current_user(request) is not None:
            return None
    except HTTPException:
        pass  # a revoked token: logging in again is the way out too
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": here}), status_code=303)
