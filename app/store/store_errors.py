"""Errors the repository functions raise; app/web maps them to HTTP statuses."""

from __future__ import annotations


class StoreError(Exception):
    """Base class; `str(exc)` is a message for the user."""


class NotFound(StoreError):
    """404: does not exist, or the caller may not see it (private findings never answer 403)."""


class Forbidden(StoreError):
    """403: the caller sees it but may not change it."""


class Conflict(StoreError):
    """409: e.g. an imported id already exists."""


class Invalid(StoreError):
    """422 naming a field: `loc` is the path below the body, e.g. ("findings", 2, "labels", 0)."""

    def __init__(self, message: str, loc: tuple = ()):
        super().__init__(message)
        self.loc = loc
