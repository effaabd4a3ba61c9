"""The same pipeline on PostgreSQL: migrations, the hot-path SQL, the chain's locking.

PostgreSQL runs on CI (127.0.0.1:5432, trust auth); .ci/run starts it if it is down.
Each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import threading

import pytest
from conftest import DOWNSTREAM, make_integration, verdict
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from seamline.audit import AuditEntry, append, verify
from seamline.runtime import AWAITING_APPROVAL, DEAD_LETTERED, DUPLICATE, SUCCEEDED, Pipeline


def test_the_pipeline_runs_unchanged_on_postgresql(pg_store):
    pipeline = Pipeline(make_integration(), pg_store, provider=verdict(amount=20))
    states = [pipeline.process({"ticket_id": "P1", "body": "refund, mail ann@example.com"}).state,
              pipeline.process({"ticket_id": "P1", "body": "refund"}).state,
              pipeline.process({"ticket_id": "", "body": "x"}).state]
    big = Pipeline(make_integration(), pg_store, provider=verdict(amount=900))
    states.append(big.process({"ticket_id": "P2", "body": "refund"}).state)
    assert states == [SUCCEEDED, DUPLICATE, DEAD_LETTERED, AWAITING_APPROVAL]
    assert len(DOWNSTREAM) == 1 and "<EMAIL_1>" in DOWNSTREAM[0][1]["body"]
    assert verify(pg_store).ok


def test_the_audit_log_is_append_only_on_postgresql(pg_store):
    with pg_store.write() as conn:
        append(conn, [AuditEntry("e", "i", "note", {"n": 1})])
    with pytest.raises(DBAPIError, match="append-only"), pg_store.write() as conn:
        conn.execute(text("UPDATE audit_log SET payload = '{}'"))
    with pytest.raises(DBAPIError, match="append-only"), pg_store.write() as conn:
        conn.execute(text("DELETE FROM audit_log"))


def test_concurrent_writers_extend_one_chain_on_postgresql(pg_store):
    def writer(n: int) -> None:
        for i in range(25):
            with pg_store.write() as conn:
                append(conn, [AuditEntry(f"e{n}", "i", "note", {"i": i}),
                              AuditEntry(f"e{n}", "i", "note", {"i": i, "second": True})])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = verify(pg_store)
    assert report.ok and report.rows == 4 * 25 * 2
