"""durable window state of the stream shape

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

Progress (latest event time, counters), messages applied, windows and their events,
per-key event numbers: what seamline.streaming needs to resume without double-counting.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stream_progress",
        sa.Column("stream", sa.String(length=200), nullable=False),
        sa.Column("max_event_time", sa.Float(), nullable=True),
        sa.Column("applied", sa.BigInteger(), nullable=False),
        sa.Column("late_dead_lettered", sa.BigInteger(), nullable=False),
        sa.Column("late_recomputed", sa.BigInteger(), nullable=False),
        sa.Column("invalid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("stream"),
    )
    op.create_table(
        "stream_applied",
        sa.Column("stream", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("applied_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("stream", "message_id"),
    )
    op.create_index("ix_stream_applied_at", "stream_applied", ["applied_at"])
    op.create_table(
        "stream_windows",
        sa.Column("stream", sa.String(length=200), nullable=False),
        sa.Column("key_value", sa.String(length=300), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("window_end", sa.Float(), nullable=False),
        sa.Column("events_count", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("decided_revision", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("stream", "key_value", "window_start", "window_end"),
    )
    op.create_index("ix_stream_windows_due", "stream_windows", ["stream", "status", "window_end"])
    op.create_table(
        "stream_events",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("stream", sa.String(length=200), nullable=False),
        sa.Column("key_value", sa.String(length=300), nullable=False),
        sa.Column("event_time", sa.Float(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_stream_events_time", "stream_events", ["stream", "key_value", "event_time"])
    op.create_index("ix_stream_events_seq", "stream_events", ["stream", "key_value", "seq"])
    op.create_table(
        "stream_keys",
        sa.Column("stream", sa.String(length=200), nullable=False),
        sa.Column("key_value", sa.String(length=300), nullable=False),
        sa.Column("next_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("stream", "key_value"),
    )


def downgrade() -> None:
    op.drop_table("stream_keys")
    op.drop_index("ix_stream_events_seq", table_name="stream_events")
    op.drop_index("ix_stream_events_time", table_name="stream_events")
    op.drop_table("stream_events")
    op.drop_index("ix_stream_windows_due", table_name="stream_windows")
    op.drop_table("stream_windows")
    op.drop_index("ix_stream_applied_at", table_name="stream_applied")
    op.drop_table("stream_applied")
    op.drop_table("stream_progress")
