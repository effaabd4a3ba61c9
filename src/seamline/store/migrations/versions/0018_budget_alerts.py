"""budget alerts: the shares of each cap that have alerted, and soft caps gone past

``budget_alerts`` holds one row per counter scope (its day or month in the name) and share
of the cap: claimed in the transaction that moved the counter, so concurrent workers raise
each alert once; ``announced_at`` marks the alert raised.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budget_alerts",
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("permille", sa.Integer(), nullable=False),
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("cap", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("spent_usd", sa.Float(), nullable=False),
        sa.Column("cap_usd", sa.Float(), nullable=False),
        sa.Column("claimed_at", sa.Float(), nullable=False),
        sa.Column("announced_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("scope", "permille"),
    )
    op.create_index("ix_budget_alerts_pending", "budget_alerts",
                    ["integration", "announced_at"])


def downgrade() -> None:
    op.drop_index("ix_budget_alerts_pending", table_name="budget_alerts")
    op.drop_table("budget_alerts")
