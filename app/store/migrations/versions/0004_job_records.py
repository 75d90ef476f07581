"""job_records: the history of background jobs, kept across server restarts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Each job's public description, the request that asks for it again, its status and times. A job that
was queued or running when its server stopped is marked interrupted by the next server.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_records",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("description", sa.JSON(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("runner", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "job_id"),
    )
    with op.batch_alter_table("job_records", schema=None) as batch_op:
        batch_op.create_index("ix_job_records_kind_updated_at", ["kind", "updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_records", schema=None) as batch_op:
        batch_op.drop_index("ix_job_records_kind_updated_at")
    op.drop_table("job_records")
