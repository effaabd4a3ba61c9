"""Hot-path statements: compiled once per dialect, executed on the DBAPI cursor.

Written by hand because SQLAlchemy's per-execute machinery (cache keys, result
setup, events) costs ~25 µs a statement, and the pipeline runs ~18 statements
per event; this runs the same SQL SQLAlchemy compiled, in the same transaction.
Only for statements whose parameters need no type processing (str, int, float, None).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.elements import DQLDMLClauseElement


class FastStatement:
    def __init__(self, statement: DQLDMLClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def _sql(self, conn: Connection) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        dialect = conn.dialect
        hit = self._compiled.get(dialect.name)
        if hit is None:
            compiled = self.statement.compile(dialect=dialect)
            order = None
            if dialect.positional:
                if compiled.positiontup is None:  # never: a positional compile lists its binds
                    raise RuntimeError(f"{dialect.name} gave no bind order for {self.statement}")
                order = tuple(compiled.positiontup)
            # Literals in the statement (``id == 1``) are binds with fixed values.
            fixed = {k: v for k, v in compiled.params.items() if v is not None}
            hit = self._compiled[dialect.name] = (compiled.string, order, fixed)
        return hit

    @staticmethod
    def _args(order, fixed, params):
        if fixed:
            params = {**fixed, **params}
        if order is not None:
            args = tuple(params[k] for k in order)
            return tuple(map(_escaped, args)) if any(map(_unsafe, args)) else args
        if any(map(_unsafe, params.values())):
            return {k: _escaped(v) for k, v in params.items()}
        return params

    def run(self, conn: Connection, params: dict[str, Any]) -> int:
        """Execute with one parameter set; returns the row count."""
        sql, order, fixed = self._sql(conn)
        cur = conn.connection.cursor()
        try:
            cur.execute(sql, self._args(order, fixed, params))
            return cur.rowcount
        finally:
            cur.close()

    def run_many(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        sql, order, fixed = self._sql(conn)
        cur = conn.connection.cursor()
        try:
            cur.executemany(sql, [self._args(order, fixed, r) for r in rows])
        finally:
            cur.close()

    def first(self, conn: Connection, params: dict[str, Any]) -> tuple | None:
        sql, order, fixed = self._sql(conn)
        cur = conn.connection.cursor()
        try:
            cur.execute(sql, self._args(order, fixed, params))
            return cur.fetchone()
        finally:
            cur.close()


# A lone surrogate cannot be encoded for either driver, and PostgreSQL refuses NUL in text.
# The ingest layer refuses both at the door; should one come this far anyway, it is stored
# escaped (``\ud800``, ``\x00``) rather than failing the whole transaction.
_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def _unsafe(value: Any) -> bool:
    return (type(value) is str and ("\x00" in value or not value.isascii())
            and _UNSAFE.search(value) is not None)


def _escaped(value: Any) -> Any:
    return _UNSAFE.sub(lambda m: ascii(m.group())[1:-1], value) if _unsafe(value) else value
