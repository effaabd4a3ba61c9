"""console lists: indexes so reviews, dead letters and events page by keyset at any size

The console's lists page by event id (time-ordered) within a state or an integration,
and look up a page's dead-letter counts and actions by event id; without these each page
of a 100,000-row store would scan the table.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_state_id", "events", ["state", "id"])
    op.create_index("ix_events_integration_id", "events", ["integration", "id"])
    op.create_index("ix_outbox_event", "outbox", ["event_id"])
    op.create_index("ix_dead_letters_event", "dead_letters", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_dead_letters_event", table_name="dead_letters")
    op.drop_index("ix_outbox_event", table_name="outbox")
    op.drop_index("ix_events_integration_id", table_name="events")
    op.drop_index("ix_events_state_id", table_name="events")
