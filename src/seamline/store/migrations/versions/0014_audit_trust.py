"""audit trust: payload digests (retention keeps the hash skeleton), signed checkpoints

Rows written from here on commit to their payload by a salted SHA-256 (``payload_hash`` of
a random per-row ``payload_salt`` and the payload), so a payload can be purged past
retention or erased for a person while the row's hash still verifies, and the digest left
behind cannot be tested against a guessed payload. The append-only
triggers are recreated to allow exactly that one update: payload and salt emptied on a row
that has a digest, every other column unchanged. ``audit_checkpoints`` keeps a copy of each
signed checkpoint (the verifier trusts the copy outside the database, not this one).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_SAME = ("NEW.seq = OLD.seq AND NEW.event_id = OLD.event_id AND NEW.integration = OLD.integration"
         " AND NEW.kind = OLD.kind AND NEW.created_at = OLD.created_at"
         " AND NEW.prev_hash = OLD.prev_hash AND NEW.hash = OLD.hash")
_PURGE = f"(OLD.payload_hash IS NOT NULL AND NEW.payload_hash = OLD.payload_hash AND NEW.payload = '' AND NEW.payload_salt = '' AND {_SAME})"


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("payload_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("payload_salt", sa.String(length=32), nullable=True))
    op.create_table(
        "audit_checkpoints",
        sa.Column("idx", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False,
                  nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("idx"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute(f"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log WHEN NOT coalesce({_PURGE}, 0) "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
    elif bind.dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION seamline_audit_append_only() RETURNS trigger AS $$ "
            f"BEGIN IF TG_OP = 'UPDATE' AND {_PURGE} THEN RETURN NEW; END IF; "
            "RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
    elif bind.dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION seamline_audit_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql")
    op.drop_table("audit_checkpoints")
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_column("payload_salt")
        batch_op.drop_column("payload_hash")
