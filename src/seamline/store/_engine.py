"""Opening the store: SQLite in WAL mode by default, any SQLAlchemy URL otherwise.

Migrations run on open, so a fresh path is a ready store and an old one is upgraded.
Alembic is imported only when there is something to migrate (see ``Store.migrate``):
importing it costs ~0.1 s, which every command paid before, migrations or not.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import NullPool, StaticPool

from seamline.errors import ConfigError, StoreBusy

DEFAULT_PATH = Path(".seamline") / "seamline.db"
_MIGRATIONS = Path(__file__).parent / "migrations"
# How long a unit of work waits for a free connection before StoreBusy: long enough to ride
# out a burst, short enough that a caller hears "busy, retry" instead of hanging.
DEFAULT_POOL_TIMEOUT_S = 3.0
DEFAULT_POOL_SIZE, DEFAULT_MAX_OVERFLOW = 5, 10
DEFAULT_BUSY_TIMEOUT_S = 30.0


def _to_url(target: str | Path | None) -> str:
    if target is None:
        target = os.environ.get("SEAMLINE_DB") or DEFAULT_PATH
    text = str(target)
    if text == ":memory:":
        return "sqlite:///:memory:"
    if "://" in text:
        return text
    path = Path(text).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.resolve()}"


# ``revision = "0015"`` / ``down_revision = "0014"`` (or None) at the top level of a version
# file, as Alembic's template writes them (optionally annotated).
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?="
                            r"\s*(?:[\"']([^\"'\n]+)[\"']|None)\s*$", re.MULTILINE)


@cache
def known_head() -> str | None:
    """The newest migration's revision, read from the version files without Alembic.

    Hand-written rather than Alembic's ``ScriptDirectory`` only because that import is the
    cost being avoided; it decides nothing but "already up to date, skip Alembic". Any file
    it cannot read plainly (no literal ``revision``, a merge's tuple of parents), or a
    history that does not end in exactly one head, gives None, and Alembic decides.
    tests/store checks that it names the head Alembic names.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((_MIGRATIONS / "versions").glob("*.py")):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if not found.get("revision"):
            return None
        revisions.add(found["revision"])
        if found.get("down_revision"):
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


WAL_MAX_PAGES, WAL_MIN_PAGES = 16000, 1000  # 64 MB and SQLite's default 4 MB (4 KB pages)


def _wal_pages(url: str) -> int:
    """Pages between automatic checkpoints: 64 MB, or an eighth of the volume's free space."""
    path = url.removeprefix("sqlite:///")
    if ":memory:" in path:
        return WAL_MAX_PAGES
    try:
        free = shutil.disk_usage(Path(path).parent).free
    except OSError:
        return WAL_MAX_PAGES
    return max(WAL_MIN_PAGES, min(WAL_MAX_PAGES, free // 8 // 4096))


def _sqlite_engine(url: str, synchronous: str, busy_timeout_ms: int) -> Engine:
    # One shared connection for an in-memory database, or each would see an empty one. A
    # file's connections are pooled by the Store itself (_Connections), so SQLAlchemy opens
    # and closes them as it is told (NullPool).
    memory = ":memory:" in url
    engine = create_engine(url, poolclass=StaticPool if memory else NullPool,
                           connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised via every test
        # pysqlite's implicit BEGIN is deferred, which lets two writers deadlock on the
        # upgrade to a write lock; we issue BEGIN IMMEDIATE ourselves instead.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        # Each event writes ~100 KB of WAL frames; checkpointing every 64 MB instead of
        # every 4 MB cuts the fsyncs per event (measured: 730 -> 1,230 events/s), and
        # journal_size_limit hands the space back after each checkpoint. On a small volume
        # the WAL may take at most an eighth of the free space (never less than SQLite's
        # own 4 MB): benchmarks/chaos.py on a 160 MB volume saw it reach 41 MB otherwise.
        pages = _wal_pages(url)
        cur.execute(f"PRAGMA wal_autocheckpoint={pages}")
        cur.execute(f"PRAGMA journal_size_limit={pages * 4096}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover
        # Writers take the write lock up front; readers keep WAL's concurrent snapshot.
        immediate = conn.info.get("seamline_write", False)
        conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class _Connections:
    """The pool of a SQLite file's connections: open SQLAlchemy connections on a free list.

    A checkout is a counter and a list pop (~2 µs) where SQLAlchemy's pool takes ~22 µs,
    and the pipeline checks out three times per event; a file does not drop connections,
    so there is nothing to pre-ping. At most ``capacity`` are out at once, ``keep`` stay
    open when idle (``pool_size``; the server's ``fit_pool`` keeps all it sized for);
    waiting more than ``timeout`` for one raises StoreBusy.
    """

    def __init__(self, engine: Engine, keep: int, capacity: int, timeout: float) -> None:
        self.engine, self.keep, self.capacity, self.timeout = engine, keep, capacity, timeout
        self._idle: list[Connection] = []
        self._out, self._closed = 0, False
        self._changed = threading.Condition(threading.Lock())

    def take(self) -> Connection:
        with self._changed:
            if not self._changed.wait_for(lambda: self._out < self.capacity, self.timeout):
                raise StoreBusy(f"the store is busy: all {self.capacity} of its connections "
                                f"stayed in use for {self.timeout:g} s", retry_after=1.0)
            self._out += 1
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            try:
                conn = self.engine.connect()
            except BaseException:
                self._handed_back(None, reusable=False)
                raise
        return conn

    def give(self, conn: Connection) -> None:
        reusable = False
        try:
            if not conn.closed and not conn.invalidated:
                if conn.in_transaction():  # a read's snapshot
                    conn.rollback()
                reusable = True
        finally:
            self._handed_back(conn, reusable)

    def _handed_back(self, conn: Connection | None, reusable: bool) -> None:
        with self._changed:
            self._out -= 1
            kept = (reusable and not self._closed and len(self._idle) < self.keep)
            if kept and conn is not None:
                self._idle.append(conn)
            self._changed.notify()
        if conn is not None and not kept:
            conn.close()

    def resize(self, capacity: int) -> None:
        """Let ``capacity`` out at once, and keep as many open when idle: opening one costs
        ~0.7 ms (its PRAGMAs), a kept one a file handle and its page cache."""
        with self._changed:
            self.capacity = self.keep = capacity
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            idle, self._idle, self._closed = self._idle, [], True
        for conn in idle:
            conn.close()


class Store:
    """A handle on one database; every layer reads and writes through it.

    Each ``read()`` or ``write()`` checks a connection out of a bounded pool and hands it
    back when its block ends, however it ends; a unit of work that waits longer than
    ``pool_timeout`` for a connection raises ``StoreBusy`` instead of hanging. A process
    that runs many units of work at once (the server) sizes the pool with ``fit_pool``.
    ``busy_timeout_s`` is how long SQLite waits for another process's write lock.
    """

    def __init__(self, url: str, *, synchronous: str = "NORMAL", migrate: bool = True,
                 pool_size: int = DEFAULT_POOL_SIZE, max_overflow: int = DEFAULT_MAX_OVERFLOW,
                 pool_timeout: float = DEFAULT_POOL_TIMEOUT_S,
                 busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> None:
        self.url = url
        self.closed = False
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        if pool_size < 1 or max_overflow < 0 or not pool_timeout > 0 or not busy_timeout_s >= 0:
            raise ConfigError(f"The store's pool needs pool_size >= 1, max_overflow >= 0 and "
                              f"positive timeouts, not pool_size={pool_size}, max_overflow="
                              f"{max_overflow}, pool_timeout={pool_timeout}, busy_timeout_s="
                              f"{busy_timeout_s}.")
        self.pool_size, self.max_overflow, self.pool_timeout = pool_size, max_overflow, pool_timeout
        self._busy_timeout_ms = int(busy_timeout_s * 1000)
        self._synchronous = synchronous.upper()
        if self.dialect == "sqlite" and self._synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ConfigError(f"SQLite synchronous must be OFF, NORMAL, FULL or EXTRA, "
                              f"not {synchronous!r}.")
        self._resizing = threading.Lock()
        self._pool: _Connections | None = None
        self._before_close: list[Callable[[], None]] = []
        self.engine = self._new_engine()
        if migrate:
            self.migrate()

    def _new_engine(self) -> Engine:
        if self.dialect == "sqlite":
            engine = _sqlite_engine(self.url, self._synchronous, self._busy_timeout_ms)
            if ":memory:" not in self.url:
                self._pool = _Connections(engine, self.pool_size, self.capacity,
                                          self.pool_timeout)
            return engine
        # A server's connections can be dropped by a restart or a proxy: ping before use.
        return create_engine(self.url, pool_pre_ping=True, pool_size=self.pool_size,
                             max_overflow=self.max_overflow, pool_timeout=self.pool_timeout)

    @property
    def capacity(self) -> int:
        """How many units of work may hold a connection at the same time."""
        return self.pool_size + self.max_overflow

    def fit_pool(self, connections: int) -> None:
        """Let ``connections`` units of work hold a connection at once (the pool only grows).

        Call it before the work starts: connections checked out of the old pool stay
        valid and are closed when handed back.
        """
        with self._resizing:
            if connections <= self.capacity:
                return
            self.max_overflow = connections - self.pool_size
            if self.dialect == "sqlite":
                if self._pool is not None:
                    self._pool.resize(self.capacity)
                return
            old, self.engine = self.engine, self._new_engine()
        old.dispose()

    def migrate(self) -> None:
        """Upgrade the schema to the newest migration; a store already there costs one
        query (Alembic is not imported)."""
        if self._up_to_date():
            return
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        head = ScriptDirectory.from_config(cfg).get_current_head()
        with self.engine.begin() as conn:
            if MigrationContext.configure(conn).get_current_revision() == head:
                return
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def _up_to_date(self) -> bool:
        """Whether ``alembic_version`` already holds the one head :func:`known_head` read."""
        head = known_head()
        if head is None:
            return False
        with self.engine.connect() as conn:
            if not conn.dialect.has_table(conn, "alembic_version"):
                return False
            stamped = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        return stamped == [head]

    def _connect(self) -> Connection:
        if self._pool is not None:
            return self._pool.take()
        try:
            return self.engine.connect()
        except sa_exc.TimeoutError as exc:
            raise StoreBusy(f"the store is busy: all {self.capacity} of its connections stayed "
                            f"in use for {self.pool_timeout:g} s", retry_after=1.0) from exc

    def _hand_back(self, conn: Connection) -> None:
        if self._pool is not None:
            self._pool.give(conn)
        else:
            conn.close()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction; commits on success, rolls back on any error.

        The connection is checked out for this transaction only and handed back however
        the block ends (an exception, a cancellation, a KeyboardInterrupt). Never pinned to
        a thread: threads outnumber connections, and a pinned one is lost to all others.
        On SQLite the checkout is ~2 µs (``_Connections``); benchmarks/overhead.py measured
        the same events/s as with the pinned connection this replaced (medians of six
        interleaved runs on a shared 2-CPU machine: 391 pinned, 412 checked out).
        """
        conn = self._connect()
        try:
            conn.info["seamline_write"] = True  # read by SQLite's begin hook: BEGIN IMMEDIATE
            try:
                transaction = conn.begin()
            finally:
                # The flag lives on the pooled DBAPI connection: the next reader must not see it.
                conn.info.pop("seamline_write", None)
            with transaction:
                yield conn
        finally:
            self._hand_back(conn)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading, handed back when the block ends, however it ends."""
        conn = self._connect()
        try:
            yield conn
        finally:
            self._hand_back(conn)

    def before_close(self, fn: Callable[[], None]) -> None:
        """Have ``fn()`` run when ``close`` is called, while the store still works (the
        audit signer signs the chain's tail there)."""
        self._before_close.append(fn)

    def close(self) -> None:
        hooks, self._before_close = self._before_close, []
        for fn in hooks:
            fn()
        self.closed = True
        if self._pool is not None:
            self._pool.close()
        self.engine.dispose()


def open_store(target: str | Path | None = None, *, synchronous: str = "NORMAL",
               pool_size: int = DEFAULT_POOL_SIZE, max_overflow: int = DEFAULT_MAX_OVERFLOW,
               pool_timeout: float = DEFAULT_POOL_TIMEOUT_S,
               busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S) -> Store:
    """Open (and migrate) the store at a path or SQLAlchemy URL; ``SEAMLINE_DB`` by default."""
    return Store(_to_url(target), synchronous=synchronous, pool_size=pool_size,
                 max_overflow=max_overflow, pool_timeout=pool_timeout,
                 busy_timeout_s=busy_timeout_s)
