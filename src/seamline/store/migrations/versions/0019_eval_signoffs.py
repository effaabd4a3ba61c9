"""eval sign-offs: who signed off which golden set, before the flag may go above 0%

``eval_signoffs`` holds each sign-off of an integration's golden set: the file's path and
SHA-256 (an edit voids the sign-off), how many examples it scores and how many a person
rated, its coverage of the input distribution, the score a golden run must reach, and who
signed it off. ``seamline rollout start`` and ``flag set`` read the latest one.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_signoffs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False,
                  autoincrement=True),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("golden_path", sa.Text(), nullable=False),
        sa.Column("golden_hash", sa.String(length=64), nullable=False),
        sa.Column("golden_version", sa.String(length=80), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("hand_rated", sa.Integer(), nullable=False),
        sa.Column("min_score", sa.Float(), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("signed_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_eval_signoffs_integration", "eval_signoffs",
                    ["integration", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_eval_signoffs_integration", table_name="eval_signoffs")
    op.drop_table("eval_signoffs")
