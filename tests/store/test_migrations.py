"""The Alembic migrations build exactly the tables the code uses, on SQLite and PostgreSQL,
and go down and up again cleanly."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from seamline.store import open_store
from seamline.store._engine import _MIGRATIONS
from seamline.store.tables import metadata


def _config(conn) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def _schema_drift(store) -> list:
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    # Type spellings that mean the same column on this dialect are not drift.
    return [d for d in diffs if not (isinstance(d, list) and d and d[0][0] == "modify_type")]


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, tmp_path):
    url = (str(tmp_path / "m.db") if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    s = open_store(url)
    yield s
    s.close()


def test_the_migrated_schema_is_the_schema_the_code_declares(any_store):
    assert _schema_drift(any_store) == []
    tables = set(inspect(any_store.engine).get_table_names())
    assert {"jobs", "events", "outbox", "audit_log"} <= tables


def test_migrations_go_down_to_nothing_and_up_again(any_store):
    with any_store.engine.begin() as conn:
        command.downgrade(_config(conn), "base")
    assert "jobs" not in inspect(any_store.engine).get_table_names()
    with any_store.engine.begin() as conn:
        command.upgrade(_config(conn), "head")
    assert _schema_drift(any_store) == []
