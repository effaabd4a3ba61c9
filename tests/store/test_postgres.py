"""The same pipeline on PostgreSQL: migrations, the hot-path SQL, the chain's locking.

PostgreSQL runs on CI (127.0.0.1:5432, trust auth); .ci/run starts it if it is down.
Each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from conftest import DOWNSTREAM, make_integration, verdict
from seamline.audit import AuditEntry, append, verify
from seamline.runtime import AWAITING_APPROVAL, DEAD_LETTERED, DUPLICATE, SUCCEEDED, Pipeline
from seamline.store import open_store

ADMIN_URL = os.environ.get("SEAMLINE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def pg_store(monkeypatch):
    name = f"seamline_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except DBAPIError as exc:  # pragma: no cover - CI has PostgreSQL; say so plainly if not
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL}: {exc.orig}")
    monkeypatch.setenv("SEAMLINE_VAULT_KEY", Fernet.generate_key().decode())
    store = open_store(ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    yield store
    store.close()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


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
    with pytest.raises(DBAPIError, match="append-only"):
        with pg_store.write() as conn:
            conn.execute(text("UPDATE audit_log SET payload = '{}'"))
    with pytest.raises(DBAPIError, match="append-only"):
        with pg_store.write() as conn:
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
