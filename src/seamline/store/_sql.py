"""Small SQL idioms that differ by dialect, written once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table

from seamline.store._fast import FastStatement


def _dialect_insert(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


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
                _dialect_insert(conn)(self.table).on_conflict_do_nothing())
        return stmt.run(conn, values) == 1


_CACHE: dict[str, InsertIgnore] = {}


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert unless the primary/unique key exists; True when a row was inserted."""
    ins = _CACHE.get(table.name)
    if ins is None:
        ins = _CACHE[table.name] = InsertIgnore(table)
    return ins.run(conn, values)
