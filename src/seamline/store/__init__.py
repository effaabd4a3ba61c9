"""Persistence for every layer: one SQLAlchemy engine, Alembic migrations.

SQLite (WAL) is the embedded default; the same tables run on PostgreSQL.
"""

from seamline.store._engine import DEFAULT_PATH, Store, open_store
from seamline.store._fast import FastStatement
from seamline.store._sql import insert_ignore
from seamline.store.tables import metadata

__all__ = [
    "DEFAULT_PATH",
    "FastStatement",
    "Store",
    "insert_ignore",
    "metadata",
    "open_store",
]
