"""ground truth, evaluation runs, staged rollouts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ground_truth",
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("truth", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_ground_truth_integration", "ground_truth", ["integration", "created_at"])
    op.create_table(
        "eval_runs",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("window_end", sa.Float(), nullable=False),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_eval_runs_integration", "eval_runs", ["integration", "kind", "created_at"])
    op.create_table(
        "rollout_plans",
        sa.Column("flag", sa.String(length=200), nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("window_s", sa.Float(), nullable=False),
        sa.Column("criteria", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("step_started_at", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("flag"),
    )


def downgrade() -> None:
    op.drop_table("rollout_plans")
    op.drop_index("ix_eval_runs_integration", table_name="eval_runs")
    op.drop_table("eval_runs")
    op.drop_index("ix_ground_truth_integration", table_name="ground_truth")
    op.drop_table("ground_truth")
