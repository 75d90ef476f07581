"""Who is asking: the local user (auth off), a bearer API token, or a login session cookie.

With auth on, a session cookie authenticates only together with the CSRF double-submit header on
writes (`X-CSRF-Token` equal to the `headscope_csrf` cookie, which is an HMAC of the session under
the server's secret key, so a cookie planted by another site does not pass). Bearer tokens are
never sent by browsers on their own, so they need no CSRF header.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.store import Store
from app.store import users as user_store
from app.store.models import User
from app.web.bodies import require_json
from app.web.responses import ApiTokenList, LoggedIn, Me, NewApiToken

SESSION_COOKIE, CSRF_COOKIE, CSRF_HEADER = "headscope_session", "headscope_csrf", "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
NOT_LOGGED_IN = "not logged in: POST /api/auth/login, or send Authorization: Bearer <token> (headscope user token NAME)"

router = APIRouter(prefix="/api")


def load_secret_key(settings: Settings) -> str:
    """HEADSCOPE_SECRET_KEY, else one generated on first start and kept in data_dir/secret_key."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        # O_EXCL: two workers starting at once agree on the first key written.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key


def csrf_for(secret_key: str, session_value: str) -> str:
    return hmac.new(secret_key.encode(), session_value.encode(), hashlib.sha256).hexdigest()


def current_user(request: Request) -> User | None:
    """The caller, or None when auth is on and nothing identifies them. Raises 401/403 for a bad
    token or a cookie write without the CSRF header."""
    state = request.app.state
    if not state.settings.auth_enabled:
        return state.local_user
    store: Store = state.store
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        with store.read() as db:
            user = user_store.user_for_token(db, token.strip())
        if user is None:
            raise HTTPException(401, "invalid or revoked API token", headers={"WWW-Authenticate": "Bearer"})
        return user
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    with store.read() as db:
        user = user_store.user_for_session(db, cookie)
    if user is None:
        return None
    if request.method not in SAFE_METHODS:
        sent, cookie_csrf = request.headers.get(CSRF_HEADER, ""), request.cookies.get(CSRF_COOKIE, "")
        expected = csrf_for(state.secret_key, cookie)
        if not (sent and hmac.compare_digest(sent, cookie_csrf) and hmac.compare_digest(sent, expected)):
            raise HTTPException(
                403,
                f"missing or wrong {CSRF_HEADER} header: cookie-authenticated writes must send "
                f"the value of the {CSRF_COOKIE} cookie in it",
            )
    return user


def require_user(user: User | None = Depends(current_user)) -> User:
    if user is None:
        raise HTTPException(401, NOT_LOGGED_IN, headers={"WWW-Authenticate": "Bearer"})
    return user


class LoginBody(BaseModel):
    name: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class TokenBody(BaseModel):
    name: str = Field(default="script", max_length=100)


async def auth_on(request: Request) -> None:
    if not request.app.state.settings.auth_enabled:
        raise HTTPException(
            400, "auth is off on this server (HEADSCOPE_AUTH_ENABLED=false): everyone is the local user"
        )


@router.post("/auth/login", response_model=LoggedIn, dependencies=[Depends(auth_on), Depends(require_json)])
async def login(body: LoginBody, request: Request) -> Response:
    state = request.app.state

    def check() -> tuple[User | None, str | None]:
        with state.store.write() as db:
            user = user_store.authenticate(db, body.name, body.password)
            return user, (user_store.create_session(db, user) if user else None)

    user, session_value = await run_in_threadpool(check)
    if user is None or session_value is None:
        raise HTTPException(401, "wrong user name or password")
    csrf = csrf_for(state.secret_key, session_value)
    response = JSONResponse({"user": user_store.user_json(user), "csrf_token": csrf})
    secure = request.url.scheme == "https"
    max_age = user_store.SESSION_DAYS * 86400
    response.set_cookie(SESSION_COOKIE, session_value, max_age=max_age, httponly=True, samesite="lax", secure=secure)
    # Readable by page scripts on purpose: they copy it into the X-CSRF-Token header.
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="lax", secure=secure)
    return response


@router.post("/auth/logout", status_code=204)
def logout(request: Request, user: User = Depends(require_user)) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with request.app.state.store.write() as db:
            user_store.end_session(db, cookie)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.get("/auth/me", response_model=Me)
def me(request: Request, user: User = Depends(require_user)) -> dict:
    return {**user_store.user_json(user), "auth_enabled": request.app.state.settings.auth_enabled}


@router.post(
    "/tokens",
    status_code=201,
    response_model=NewApiToken,
    dependencies=[Depends(require_user), Depends(require_json)],  # who (401) before the body's type (415)
)
async def create_token(body: TokenBody, request: Request, user: User = Depends(require_user)) -> dict:

    def make() -> dict:
        with request.app.state.store.write() as db:
            row, token = user_store.create_token(db, db.get(User, user.id), body.name)
            return {**user_store.token_json(row), "token": token}

    return await run_in_threadpool(make)


@router.get("/tokens", response_model=ApiTokenList)
def list_tokens(request: Request, user: User = Depends(require_user)) -> dict:
    with request.app.state.store.read() as db:
        return {"tokens": [user_store.token_json(t) for t in user_store.list_tokens(db, user)]}


@router.delete("/tokens/{token_id}", status_code=204)
def delete_token(token_id: int, request: Request, user: User = Depends(require_user)) -> Response:
    with request.app.state.store.write() as db:
        user_store.delete_token(db, user, token_id)
    return Response(status_code=204)
