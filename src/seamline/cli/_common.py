"""What every command shares: the console, the store option, plain-sentence errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

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


# --json, the one convention of every listing command (docs/reference.md, *Scripts*): one
# JSON document on stdout, nothing else there; a listing is a list of objects ([] when
# nothing matches, exit 0), a report is an object; times ISO 8601 UTC in keys ending in
# _at, money in US dollars in keys ending in _usd, durations in seconds in keys ending in _s.
JsonOption = Annotated[bool, typer.Option(
    "--json", help="Print one JSON document for scripts instead of a table (a list of "
                   "objects; keys are stable, times ISO 8601 UTC)")]

JSON_LISTINGS = (  # the commands that take --json; tests/cli/test_json_listings.py runs each
    "events list", "events show", "events actions", "approvals list", "dlq list",
    "dlq show", "escalations list", "alerts", "drift", "costs", "queue status", "users list",
    "connectors list", "connectors undecided", "connectors status", "flag show", "rollout status",
    "rollout evaluate", "agent stale", "feedback accuracy", "feedback runs",
)


def print_json(document: Any) -> None:
    """``--json``: the document alone on stdout, never wrapped or coloured (Rich would
    fold it at the terminal's width), so that ``| jq`` and ``json.loads`` read it whole."""
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))


def iso(epoch: float | None) -> str | None:
    """An epoch time as ISO 8601 in UTC, the form every ``--json`` time takes."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


_SCHEMES = ("sqlite", "postgresql")  # the stores Seamline migrates and runs on


def store_target(db: str | None, *, read_only: bool = False) -> str | None:
    """``db`` checked before anything is opened: a sentence (exit 2) for a URL of a database
    Seamline does not run on, or a path in a folder that does not exist, so that a typo never
    becomes a new folder and an empty store. ``read_only``: the store must exist already."""
    if db == ":memory:":
        return db
    if db is None:
        if read_only:
            from seamline.store import DEFAULT_PATH

            if not DEFAULT_PATH.exists():
                _no_store(DEFAULT_PATH)
        return db
    if "://" in db:
        scheme = db.split("://", 1)[0].split("+", 1)[0].lower()
        if scheme not in _SCHEMES:
            fail(f"The store {scheme}://… is not one Seamline runs on; give a SQLite path or a "
                 "postgresql+psycopg://… URL with --db or SEAMLINE_DB.", 2)
        return db
    path = Path(db).expanduser()
    if not path.parent.is_dir():
        fail(f"The folder {path.parent} of the store does not exist; nothing was created "
             "(check --db or SEAMLINE_DB, or create the folder first).", 2)
    if path.is_dir():
        fail(f"The store {path} is a folder; give the database file's path, such as "
             f"{path / 'seamline.db'}.", 2)
    if read_only and not path.exists():
        _no_store(path)
    return db


def _no_store(path: Path) -> NoReturn:
    fail(f"There is no store at {path}: nothing has run there yet (run `seamline run` or "
         "`seamline demo` first, or check --db / SEAMLINE_DB).", 1)


def store_for(db: str | None, *, read_only: bool = False) -> Store:
    from seamline.store import open_store

    return open_store(store_target(db, read_only=read_only))


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


def known_flag(store: Store, name: str, value: str, *, new: bool = False) -> None:
    """Refuse (exit 2) a flag name no integration declares and no one has set, so that a typo
    never becomes a new flag that nothing reads; ``new``: the person means a new flag."""
    from sqlalchemy import select

    from seamline.errors import SeamlineError
    from seamline.integration import load_integration
    from seamline.rollout import parse_state
    from seamline.store.tables import flags, integrations

    parse_state(name, value)  # a bad value is the first thing to hear about
    if new:
        return
    with store.read() as conn:
        set_before = set(conn.execute(select(flags.c.name)).scalars())
        declared = conn.execute(select(integrations.c.name, integrations.c.source)).all()
    known = set_before | {f"{n}.ai" for n, _ in declared}
    if name in known:
        return
    for _, source in declared:  # a flag the integration names itself (rollout.flag)
        if source and Path(source).is_file():
            try:
                known.add(load_integration(source).flag_name)
            except SeamlineError:  # a file that no longer loads names no flag
                pass
    if name in known:
        return
    listed = ", ".join(sorted(known)[:8]) or "none yet"
    fail(f"No integration that ran on this store declares the flag {name!r}, and it was never "
         f"set (known: {listed}); check the spelling, or pass --new to create it.", 2)


NewFlagOption = Annotated[bool, typer.Option(
    "--new", help="Create a flag no integration that ran here declares yet (else a typo is refused)")]
