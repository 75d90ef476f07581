"""Who may see and change something a user owns: findings and background jobs share this one rule.

Everyone sees their own and shared things, admins see all; only the owner or an admin changes one.
Whatever the caller may not see is answered as missing (404), never as forbidden, so ids cannot be
probed.
"""

from __future__ import annotations

from typing import get_args

from app.store.finding_schemas import Visibility
from app.store.models import User

VISIBILITIES: tuple[str, ...] = get_args(Visibility)


def can_see(owner_id: int, visibility: str, user: User) -> bool:
    return user.is_admin or owner_id == user.id or visibility == "shared"


def can_edit(owner_id: int, user: User) -> bool:
    return user.is_admin or owner_id == user.id
