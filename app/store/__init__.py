"""Findings storage: SQLAlchemy models, alembic migrations and plain repository functions.

May import app.core (checkpoint hashing) but never app.web: the CLI and scripts use it too.
"""

from app.store.db import Store

__all__ = ["Store"]
