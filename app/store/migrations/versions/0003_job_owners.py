"""job_owners and uploads: background jobs and uploaded data belong to users

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

With accounts on, a job's status and result are readable by its owners and admins, or by everyone
when an owner shares it; uploaded data may be named only by whoever uploaded it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_owners",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("kind", "job_id", "user_id"),
    )
    with op.batch_alter_table("job_owners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_owners_user_id"), ["user_id"], unique=False)
    op.create_table(
        "uploads",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("sha256", "user_id"),
    )
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_uploads_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_uploads_user_id"))
    op.drop_table("uploads")
    with op.batch_alter_table("job_owners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_owners_user_id"))
    op.drop_table("job_owners")
