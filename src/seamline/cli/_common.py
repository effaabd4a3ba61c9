"""What every command shares: the console, the store option, plain-sentence errors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:  # the store (SQLAlchemy) loads with the first command that opens it
    from seamline.store import Store

console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="SEAMLINE_DB",
                 help="Store path or SQLAlchemy URL (default .seamline/seamline.db)."),
]


def store_for(db: str | None) -> Store:
    from seamline.store import open_store

    return open_store(db)


def fail(sentence: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {sentence}")
    raise typer.Exit(code)


def existing_file(path: Path, what: str) -> Path:
    if not path.is_file():
        fail(f"The {what} {path} does not exist.", 2)
    return path


def integration_for(store: Store, name: str, given: str | None = None):
    """The integration a stored event belongs to: ``given``, else the file it was run from."""
    from sqlalchemy import select

    from seamline.integration import load_integration
    from seamline.store.tables import integrations

    if given:
        return load_integration(given)
    with store.read() as conn:
        src = conn.execute(select(integrations.c.source).where(integrations.c.name == name)).scalar()
    if not src:
        fail(f"Integration {name!r} was declared in Python; pass --integration module:attr.", 2)
    return load_integration(src)


def stop_on_signals(stop, what: str) -> None:
    """SIGTERM and SIGINT call ``stop()`` (a graceful finish) instead of killing mid-work."""
    import signal
    import threading

    def handler(signum, _frame):
        console.print(f"Signal {signal.Signals(signum).name}: {what}.")
        stop()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
