"""findings.search_text: title, note, input text and tags lower-cased in Python for text search

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

SQLite's lower() folds ASCII only; one column folded by Python gives the same matches on SQLite
and PostgreSQL. Existing rows are backfilled here.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    findings = sa.table(
        "findings",
        sa.column("id", sa.String),
        sa.column("title", sa.String),
        sa.column("note", sa.Text),
        sa.column("input", sa.JSON),
        sa.column("tags", sa.JSON),
        sa.column("search_text", sa.Text),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(findings.c.id, findings.c.title, findings.c.note, findings.c.input, findings.c.tags)
    ).all()
    for row in rows:
        data = json.loads(row.input) if isinstance(row.input, str) else row.input
        tags = json.loads(row.tags) if isinstance(row.tags, str) else row.tags
        text = "\n".join([row.title, row.note, data.get("text", ""), *tags]).lower()
        connection.execute(findings.update().where(findings.c.id == row.id).values(search_text=text))


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_column("search_text")
