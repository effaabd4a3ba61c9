"""oauth credentials: connectors' OAuth 2.0 tokens, and actions waiting for a credential

``oauth_credentials`` keeps each credential's tokens (sealed with the vault key), its
expiry and state, with a ``version`` every change bumps: a refresh that rotates the
refresh token is saved only over the row it started from, so two workers refreshing at
once never lose the rotated token. ``outbox.waiting_for`` names the credential an action
in the ``waiting_credentials`` state waits for.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_credentials",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("connector", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=True),
        sa.Column("issued_at", sa.Float(), nullable=True),
        sa.Column("authorized_at", sa.Float(), nullable=True),
        sa.Column("refreshed_at", sa.Float(), nullable=True),
        sa.Column("refreshing_until", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("retry", sa.Boolean(), nullable=False),
        sa.Column("failed_at", sa.Float(), nullable=True),
        sa.Column("pending", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.add_column("outbox", sa.Column("waiting_for", sa.String(length=100), nullable=False,
                                      server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("waiting_for")
    op.drop_table("oauth_credentials")
