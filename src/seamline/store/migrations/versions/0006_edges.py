"""the edges: contracts and drift, webhook receipts, poll cursors, connector sends

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=60), nullable=False),
        sa.Column("observations", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("direction", "name", "version"),
    )
    op.create_table(
        "contract_fields",
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=60), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("types", sa.String(length=100), nullable=False),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("direction", "name", "version", "path"),
    )
    op.create_table(
        "drift_events",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("contract", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=60), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("change", sa.String(length=20), nullable=False),
        sa.Column("before", sa.String(length=100), nullable=False),
        sa.Column("after", sa.String(length=100), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_drift_contract", "drift_events", ["contract", "at"])
    op.create_table(
        "webhook_receipts",
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("delivery_id", sa.String(length=300), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.Column("signed_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("source", "delivery_id"),
    )
    op.create_table(
        "poll_cursors",
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("next_poll_at", sa.Float(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "connector_sends",
        sa.Column("connector", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("connector", "idempotency_key"),
    )


def downgrade() -> None:
    for table in ("connector_sends", "poll_cursors", "webhook_receipts"):
        op.drop_table(table)
    op.drop_index("ix_drift_contract", table_name="drift_events")
    for table in ("drift_events", "contract_fields", "contracts"):
        op.drop_table(table)
