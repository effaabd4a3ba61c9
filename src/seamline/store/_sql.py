"""Small SQL idioms that differ by dialect, written once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Insert, Table

from seamline.store._fast import FastStatement


def _insert_or_nothing(conn: Connection, table: Table) -> Insert:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


class InsertIgnore:
    """``INSERT … ON CONFLICT DO NOTHING`` for one table, every column given."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._by_dialect: dict[str, FastStatement] = {}

    def run(self, conn: Connection, values: dict[str, Any]) -> bool:
        """True when the row was inserted, False when its key existed."""
        stmt = self._by_dialect.get(conn.dialect.name)
        if stmt is None:
            stmt = self._by_dialect[conn.dialect.name] = FastStatement(
                _insert_or_nothing(conn, self.table))
        return stmt.run(conn, values) == 1


_CACHE: dict[str, InsertIgnore] = {}


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert unless the primary/unique key exists; True when a row was inserted."""
    ins = _CACHE.get(table.name)
    if ins is None:
        ins = _CACHE[table.name] = InsertIgnore(table)
    return ins.run(conn, values)
