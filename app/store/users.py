"""Accounts, per-user API tokens and login sessions."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.store.models import ApiToken, User, WebSession, utcnow
from app.store.store_errors import Conflict, Invalid, NotFound

LOCAL_USER = "local"  # the single user when auth is off
TOKEN_PREFIX = "hs_"
SESSION_DAYS = 14
_hasher = PasswordHasher()
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
# Verified when the name is unknown, so a login takes as long for a wrong name as for a wrong password.
_DUMMY_HASH = _hasher.hash("not a password")


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def user_json(user: User) -> dict:
    return {"name": user.name, "is_admin": user.is_admin}


def get_user(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def create_user(session: Session, name: str, password: str | None, is_admin: bool = False) -> User:
    if not _NAME.match(name):
        raise Invalid("user names have 1-64 letters, digits or _ . @ -", ("name",))
    if get_user(session, name) is not None:
        raise Conflict(f"user {name!r} exists")
    if password is not None and len(password) < 8:
        raise Invalid("passwords have at least 8 characters", ("password",))
    user = User(name=name, password_hash=_hasher.hash(password) if password else None, is_admin=is_admin)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, name: str, password: str) -> User:
    user = get_user(session, name)
    if user is None:
        raise NotFound(f"no user {name!r}")
    if len(password) < 8:
        raise Invalid("passwords have at least 8 characters", ("password",))
    user.password_hash = _hasher.hash(password)
    return user


def ensure_user(session: Session, name: str, is_admin: bool = False) -> User:
    """The user of that name, created without a password when missing (local user, imported authors)."""
    user = get_user(session, name)
    if user is None:
        user = User(name=name, password_hash=None, is_admin=is_admin)
        session.add(user)
        session.flush()
    return user


def authenticate(session: Session, name: str, password: str) -> User | None:
    user = get_user(session, name)
    if user is None or user.password_hash is None:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


# --- API tokens ---------------------------------------------------------------------------------


def create_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the row and the token itself, which is shown once and never stored."""
    if not 1 <= len(name.strip()) <= 100:
        raise Invalid("token names have 1 to 100 characters", ("name",))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name.strip(), token_hash=sha256(token))
    session.add(row)
    session.flush()
    return row, token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == sha256(token)))
    return row.user if row is not None else None


def token_json(row: ApiToken) -> dict:
    return {"id": row.id, "name": row.name, "created_at": row.created_at.isoformat()}


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def delete_token(session: Session, user: User, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and not user.is_admin):
        raise NotFound(f"no token {token_id}")
    session.delete(row)


# --- login sessions ------------------------------------------------------------------------------


def create_session(session: Session, user: User) -> str:
    """A new login session; returns the cookie value (only its hash is stored)."""
    value = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            id_hash=sha256(value), user_id=user.id, created_at=now, expires_at=now + timedelta(days=SESSION_DAYS)
        )
    )
    # Expired sessions are swept on login rather than by a background job.
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    return value


def user_for_session(session: Session, value: str) -> User | None:
    row = session.get(WebSession, sha256(value))
    if row is None or row.expires_at < datetime.now(timezone.utc):
        return None
    return row.user


def end_session(session: Session, value: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_hash == sha256(value)))
