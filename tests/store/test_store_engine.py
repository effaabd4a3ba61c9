"""The store: a path becomes a migrated SQLite database in WAL mode, and the audit log
refuses to be rewritten by the database itself."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import inspect, select

from seamline.errors import ConfigError
from seamline.store import Store, metadata, open_store
from seamline.store.tables import audit_head, audit_log, flags

def _head_revision() -> str:
    """The newest migration's revision (several sessions add migrations at once)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from seamline.store._engine import _MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


HEAD_REVISION = _head_revision()


def _audit_row(seq: int = 1) -> dict:
    return {"seq": seq, "event_id": "e1", "integration": "refunds", "kind": "ingest",
            "payload": "{}", "created_at": 1.0, "prev_hash": "0" * 64, "hash": "a" * 64}


# ------------------------------------------------------------------ opening


def test_a_fresh_path_is_created_migrated_and_usable(tmp_path):
    path = tmp_path / "nested" / "dir" / "seamline.db"
    store = open_store(path)
    try:
        assert path.is_file()
        tables = set(inspect(store.engine).get_table_names())
        assert set(metadata.tables) <= tables
        with store.read() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() \
                == HEAD_REVISION
            assert conn.execute(select(audit_head.c.seq, audit_head.c.hash)).one() == (0, "0" * 64)
        with store.write() as conn:
            conn.execute(flags.insert().values(name="f", mode="on", percent=100.0, reason="",
                                               updated_at=1.0))
        with store.read() as conn:
            assert conn.execute(select(flags.c.mode)).scalar_one() == "on"
    finally:
        store.close()


def test_opening_the_same_path_twice_does_not_migrate_again_and_keeps_the_data(tmp_path):
    path = tmp_path / "seamline.db"
    first = open_store(path)
    with first.write() as conn:
        conn.execute(flags.insert().values(name="f", mode="off", percent=0.0, reason="r",
                                           updated_at=1.0))
    second = open_store(path)  # while the first is still open
    try:
        with second.read() as conn:
            assert conn.execute(select(flags.c.name, flags.c.mode)).all() == [("f", "off")]
            assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar_one() == 1
            assert conn.execute(select(sa.func.count()).select_from(audit_head)).scalar_one() == 1
    finally:
        second.close()
        first.close()
    third = open_store(path)  # and again after both were closed
    third.close()


def test_the_store_defaults_to_the_path_in_seamline_db(tmp_path, monkeypatch):
    path = tmp_path / "from-env.db"
    monkeypatch.setenv("SEAMLINE_DB", str(path))
    store = open_store()
    try:
        assert path.is_file()
        assert str(path.resolve()) in store.url
    finally:
        store.close()


def test_the_journal_is_in_wal_mode(store):
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one().lower() == "wal"


def test_synchronous_defaults_to_normal_and_can_be_full(store, tmp_path):
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 1  # NORMAL
    full = open_store(tmp_path / "full.db", synchronous="full")
    try:
        with full.read() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
    finally:
        full.close()


@pytest.mark.parametrize("value", ["SOMETIMES", "", "NORMAL; DROP TABLE flags"])
def test_a_bad_synchronous_value_raises_config_error(tmp_path, value):
    with pytest.raises(ConfigError, match="synchronous"):
        open_store(tmp_path / "bad.db", synchronous=value)


def test_foreign_keys_are_enforced(store):
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


def test_an_in_memory_url_is_a_usable_store():
    store = open_store("sqlite:///:memory:")
    try:
        with store.write() as conn:
            conn.execute(flags.insert().values(name="f", mode="on", percent=100.0, reason="",
                                               updated_at=1.0))
        with store.read() as conn:
            assert conn.execute(select(flags.c.name)).scalar_one() == "f"
    finally:
        store.close()


def test_the_name_memory_opens_an_in_memory_store_not_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = open_store(":memory:")
    try:
        with store.write() as conn:
            conn.execute(flags.insert().values(name="f", mode="on", percent=100.0, reason="",
                                               updated_at=1.0))
        with store.read() as conn:
            assert conn.execute(select(flags.c.name)).scalar_one() == "f"
    finally:
        store.close()
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------- transactions


def test_a_write_that_raises_is_rolled_back(store):
    with pytest.raises(RuntimeError), store.write() as conn:
        conn.execute(flags.insert().values(name="f", mode="on", percent=100.0, reason="",
                                           updated_at=1.0))
        raise RuntimeError("boom")
    with store.read() as conn:
        assert conn.execute(select(sa.func.count()).select_from(flags)).scalar_one() == 0


# ------------------------------------------------------- append-only audit log


def test_the_audit_log_accepts_inserts(store):
    with store.write() as conn:
        conn.execute(audit_log.insert().values(**_audit_row()))
    with store.read() as conn:
        assert conn.execute(select(audit_log.c.seq)).scalars().all() == [1]


def test_the_audit_log_refuses_update(store):
    with store.write() as conn:
        conn.execute(audit_log.insert().values(**_audit_row()))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.write() as conn:
        conn.execute(audit_log.update().where(audit_log.c.seq == 1).values(payload='{"x":1}'))
    with store.read() as conn:
        assert conn.execute(select(audit_log.c.payload)).scalar_one() == "{}"


def test_the_audit_log_refuses_delete(store):
    with store.write() as conn:
        conn.execute(audit_log.insert().values(**_audit_row()))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.write() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.seq == 1))
    with store.read() as conn:
        assert conn.execute(select(sa.func.count()).select_from(audit_log)).scalar_one() == 1


def test_the_audit_log_refuses_raw_sql_rewrites_too(store):
    with store.write() as conn:
        conn.execute(audit_log.insert().values(**_audit_row()))
    for statement in ("UPDATE audit_log SET kind = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.write() as conn:
            conn.exec_driver_sql(statement)


def test_a_store_can_be_opened_without_migrating(tmp_path):
    path = tmp_path / "bare.db"
    bare = Store(f"sqlite:///{path}", migrate=False)
    try:
        assert "audit_log" not in inspect(bare.engine).get_table_names()
        bare.migrate()
        assert "audit_log" in inspect(bare.engine).get_table_names()
        bare.migrate()  # at head already: a no-op
    finally:
        bare.close()
