"""rollout stages: a declared rollout plan (shadow, gated, canary) and the stage it is in

``rollout_stages`` holds, per integration, the plan as it was when it started, the stage
it is in and since when; ``seamline rollout watch`` moves it on when the recorded numbers
say so. ``outbox.approved_digest`` is the digest an approval granted: an approved action
runs only while its action, parameters and key still hash to it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollout_stages",
        sa.Column("integration", sa.String(length=100), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("stage_started_at", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("integration"),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("approved_digest", sa.String(length=80), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("approved_digest")
    op.drop_table("rollout_stages")
