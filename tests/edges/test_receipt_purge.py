"""Webhook receipts are purged after the vendors' retry window, never before."""

from __future__ import annotations

import time

from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from seamline.cli import app
from seamline.edges._intake import purge_receipts
from seamline.store import open_store
from seamline.store.tables import webhook_receipts

DAY = 86400.0


def _receipt(conn, delivery: str, age_days: float) -> None:
    conn.execute(insert(webhook_receipts).values(
        source="stripe", delivery_id=delivery, event_id=f"evt_{delivery}",
        received_at=time.time() - age_days * DAY, signed_at=None))


def _left(store) -> set[str]:
    with store.read() as conn:
        return set(conn.execute(select(webhook_receipts.c.delivery_id)).scalars())


def test_only_receipts_older_than_the_window_go(store):
    with store.write() as conn:
        for name, age in (("fresh", 0.1), ("retrying", 2.9), ("month", 31), ("old", 400)):
            _receipt(conn, name, age)
    assert purge_receipts(store, 30 * DAY) == 2
    assert _left(store) == {"fresh", "retrying"}
    assert purge_receipts(store, 30 * DAY) == 0


def test_the_cli_purges_jobs_and_receipts_and_refuses_a_window_under_a_day(tmp_path):
    db = tmp_path / "s.db"
    store = open_store(db)
    with store.write() as conn:
        _receipt(conn, "a", 45)
        _receipt(conn, "b", 5)
    store.close()
    runner = CliRunner()
    done = runner.invoke(app, ["queue", "purge", "--db", str(db)])
    assert done.exit_code == 0 and "1 webhook receipt(s)" in done.output
    again = open_store(db)
    with again.read() as conn:
        assert conn.execute(select(func.count()).select_from(webhook_receipts)).scalar() == 1
    again.close()
    refused = runner.invoke(app, ["queue", "purge", "--db", str(db),
                                  "--receipts-older-than-days", "0.1"])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
