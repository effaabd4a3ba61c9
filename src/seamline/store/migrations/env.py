"""Alembic environment: migrations run against the connection Seamline hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from seamline.errors import ConfigError
from seamline.store.tables import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:  # run by the alembic command itself, with neither a connection nor a URL
        raise ConfigError("Alembic needs sqlalchemy.url in its ini file, or a connection.")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
