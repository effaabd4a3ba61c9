"""rate-limit buckets in the store

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Shared request/token buckets for processes without Redis (seamline.inference._ratelimit).
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
        "rate_buckets",
        sa.Column("slot", sa.String(length=300), nullable=False),
        sa.Column("tat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("slot"),
    )


def downgrade() -> None:
    op.drop_table("rate_buckets")
