"""Request body limits: one pure ASGI middleware, one byte limit per path prefix (`limit_rules`).

A body over its limit is answered 413 `{"detail": "request body is over the limit of N bytes (…, SETTING)"}`
before it is held in memory: at once when Content-Length says so, else as soon as the streamed
(chunked) bytes pass the limit. Before answering, the rest of the body is read and thrown away, up to
`drain_cap` bytes: a client that sends its whole body before reading the answer (Python's urllib does)
would otherwise see the connection reset under it instead of the 413. Beyond the cap the server
answers and closes. Pure ASGI (no BaseHTTPMiddleware), so bodies and answers stream as before and a
request within its limit costs one scan of its headers.
"""

from __future__ import annotations

import time

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings

MAX_DRAIN_BYTES = 64 * 1024 * 1024
# perf_counter() when the request reached the app, in its scope: a route's Server-Timing "parse" (the
# body's reading and validation happen before the route function runs) starts there.
ARRIVED = "headscope.arrived"
MAX_AUTH_BODY = 16 * 1024  # login and token names: a few hundred bytes
MAX_PATCH_BYTES = 4096  # a job's {"visibility": ...}


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


class Limit:
    """At most `bytes` in a body under `prefix`; `setting` is named in the 413 (what raises it)."""

    def __init__(self, prefix: str, bytes: int, setting: str = "HEADSCOPE_MAX_BODY_BYTES"):
        self.prefix, self.bytes, self.setting = prefix, bytes, setting
        self.message = f"request body is over the limit of {bytes} bytes ({_mib(bytes)}, {setting})"

    def covers(self, path: str) -> bool:
        """ "/api/x" covers /api/x and /api/x/…; "/api/x/" only what is below it."""
        if not path.startswith(self.prefix):
            return False
        rest = path[len(self.prefix) :]
        return self.prefix.endswith("/") or not rest or rest.startswith("/")

    def drain_cap(self) -> int:
        return min(4 * self.bytes, MAX_DRAIN_BYTES)


def limit_rules(settings: Settings, job_kinds: list) -> list[Limit]:
    """Every route's body limit, from the one settings object; the longest matching prefix wins."""
    rules = [
        Limit("/", settings.max_body_bytes),  # everything else (compare, findings, public links)
        Limit("/api/inspect", settings.max_inspect_body_bytes, "HEADSCOPE_MAX_INSPECT_BODY_BYTES"),
        Limit("/api/findings", settings.max_body_bytes),
        Limit("/api/findings/import", settings.max_import_bytes, "HEADSCOPE_MAX_IMPORT_BYTES"),
        Limit("/api/auth/", MAX_AUTH_BODY),
        Limit("/api/tokens", MAX_AUTH_BODY),
    ]
    for kind in job_kinds:
        rules.append(Limit(f"/api/{kind.name}", *kind.body_limit(settings)))  # POST: the kind's request
        rules.append(Limit(f"/api/{kind.name}/", MAX_PATCH_BYTES))  # PATCH /{id}: the visibility
    return sorted(rules, key=lambda rule: len(rule.prefix), reverse=True)


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit. An HTTPException, so FastAPI's
    body reading lets it through and the app's handler answers 413 with the message."""

    def __init__(self, limit: Limit):
        super().__init__(413, limit.message)


class BodyLimits:
    """The middleware: `app.add_middleware(BodyLimits, rules=limit_rules(settings, kinds))`."""

    def __init__(self, app: ASGIApp, rules: list[Limit]):
        self.app, self.rules = app, rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[ARRIVED] = time.perf_counter()
        length, chunked, expects_continue = _body_headers(scope)
        if length is None and not chunked:
            await self.app(scope, receive, send)  # no body
            return
        limit = next(rule for rule in self.rules if rule.covers(scope["path"]))
        if length is not None and length > limit.bytes:
            # A client waiting for "100 Continue" has sent nothing yet: answer without asking for the body.
            if not expects_continue and length <= limit.drain_cap():
                await _drain(receive, limit.drain_cap())
            await _answer_413(send, limit)
            return
        if length is not None:
            await self.app(scope, receive, send)  # the server stops reading at Content-Length
            return
        await _Counted(self.app, limit, receive, send).run(scope)


class _Counted:
    """A chunked body: counted as it streams in, refused when it passes the limit."""

    def __init__(self, app: ASGIApp, limit: Limit, receive: Receive, send: Send):
        self.app, self.limit, self.inner_receive, self.inner_send = app, limit, receive, send
        self.received, self.refused, self.ended = 0, False, False

    async def run(self, scope: Scope) -> None:
        await self.app(scope, self.receive, self.send)

    async def receive(self) -> Message:
        message = await self.inner_receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.ended = not message.get("more_body", False)
            if self.received > self.limit.bytes:
                self.refused = True
                raise BodyTooLarge(self.limit)
        return message

    async def send(self, message: Message) -> None:
        if self.refused and message["type"] == "http.response.start" and not self.ended:
            await _drain(self.inner_receive, self.limit.drain_cap() - self.received)
            self.ended = True
        await self.inner_send(message)


def _body_headers(scope: Scope) -> tuple[int | None, bool, bool]:
    """(Content-Length or None, whether the body is chunked, whether the client expects 100 Continue)."""
    length, chunked, expects_continue = None, False, False
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = int(value) if value.isdigit() else None
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"expect":
            expects_continue = value.lower() == b"100-continue"
    return length, chunked, expects_continue


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop the rest of the body, at most `budget` more bytes (the server closes after that)."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return  # the client went away
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _answer_413(send: Send, limit: Limit) -> None:
    body = orjson.dumps({"detail": limit.message})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
