"""A worker's health: what it says about itself, where another process can read it.

A worker that cannot write the store must say so somewhere that does not need the store:

- in memory (``Health``): the server's ``/healthz`` reads its in-process workers';
- in the ``workers`` table: a heartbeat every third of a lease, with the problem when
  the store takes the write; ``seamline queue status`` reads it, and a heartbeat that
  stopped says "has not written the store since ..." by itself;
- beside a SQLite database, a small status file per worker, allocated at start-up and
  overwritten in place: a full volume still takes it, so ``seamline queue status`` can
  give the reason ("database or disk is full") while the store cannot.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from seamline.store import Store, insert_ignore
from seamline.store.tables import workers

log = logging.getLogger("seamline.worker")

STATUS_BYTES = 2048  # the status file's fixed size: overwritten in place, never grown


def clock(ts: float) -> str:
    """HH:MM:SS (UTC) of a timestamp, as sentences name times."""
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S")


def describe(exc: BaseException) -> str:
    """The database's own words for a failure, without SQLAlchemy's statement dump."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first[:300]


class Health:
    """One worker process's health, shared by its threads (thread-safe)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self.problem = ""
        self.since: float | None = None
        self.failures = 0

    def failed(self, what: str, exc: BaseException) -> bool:
        """Record a failure; True when the worker was healthy until now (say it loudly once)."""
        with self._lock:
            first = self.since is None
            if first:
                self.since = time.time()
            self.problem = f"{what}: {describe(exc)}"
            self.failures += 1
            return first

    def ok(self) -> bool:
        """The store answered again; True when that ends a problem."""
        with self._lock:
            was = self.since is not None
            self.problem, self.since = "", None
            return was

    @property
    def healthy(self) -> bool:
        return self.since is None

    def outage_s(self) -> float:
        with self._lock:
            return 0.0 if self.since is None else time.time() - self.since

    def sentence(self) -> str:
        """"worker W cannot write the store since 10:41:07: database or disk is full" (or "")."""
        with self._lock:
            if self.since is None:
                return ""
            return f"worker {self.name} cannot write the store since {clock(self.since)}: " \
                   f"{self.problem}"


def status_dir(store: Store) -> Path | None:
    """Where status files go: beside a SQLite database file; None for other stores."""
    if store.dialect != "sqlite":
        return None
    db = make_url(store.url).database
    if not db or db == ":memory:":
        return None
    return Path(db).with_name(Path(db).name + "-workers")


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:120] + ".json"


class Board:
    """Publishes one worker's health: the ``workers`` row and, on SQLite, its status file."""

    def __init__(self, store: Store, health: Health, integrations: Sequence[str]) -> None:
        self.store, self.health = store, health
        self.integrations = ",".join(integrations)
        self.started = time.time()
        self._fd: int | None = None
        folder = status_dir(store)
        if folder is not None:
            try:
                folder.mkdir(exist_ok=True)
                path = folder / _file_name(health.name)
                self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                os.ftruncate(self._fd, 0)
                os.pwrite(self._fd, b" " * STATUS_BYTES, 0)  # allocated now, while there is room
                os.fsync(self._fd)
            except OSError as exc:
                log.warning("the worker's status file could not be made: %s", exc)
                self._fd = None

    def beat(self, *, stopped: bool = False) -> bool:
        """Write the heartbeat (and the problem, if any); False when the store refused it."""
        now = time.time()
        h = self.health
        self._write_file(now, stopped)
        try:
            with self.store.write() as conn:
                insert_ignore(conn, workers, {
                    "name": h.name, "host": socket.gethostname(), "pid": os.getpid(),
                    "integrations": self.integrations, "started_at": self.started,
                    "beat_at": now, "problem": "", "problem_since": None, "stopped_at": None})
                conn.execute(update(workers).where(workers.c.name == h.name).values(
                    beat_at=now, problem=h.problem, problem_since=h.since, pid=os.getpid(),
                    started_at=self.started, stopped_at=now if stopped else None))
        except Exception as exc:  # noqa: BLE001 - a heartbeat the store refuses is a symptom
            h.failed("writing its heartbeat", exc)
            self._write_file(now, stopped)
            return False
        return True

    def say(self) -> None:
        """Write the status file now (no store needed): a problem is known at once."""
        self._write_file(time.time(), False)

    def _write_file(self, now: float, stopped: bool) -> None:
        if self._fd is None:
            return
        h = self.health
        body = json.dumps({"name": h.name, "pid": os.getpid(), "at": now,
                           "problem": h.problem, "since": h.since, "stopped": stopped,
                           "sentence": h.sentence()}, ensure_ascii=False).encode()
        body = body[:STATUS_BYTES]
        try:
            os.pwrite(self._fd, body.ljust(STATUS_BYTES), 0)  # in place: no new blocks
        except OSError as exc:
            log.warning("the worker's status file could not be written: %s", exc)

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None


@dataclass(frozen=True, slots=True)
class WorkerReport:
    name: str
    pid: int
    beat_at: float
    healthy: bool
    sentence: str  # what is wrong, or "working"
    state: str = "working"  # working | unhealthy (says why) | silent (no heartbeat) | gone


def worker_reports(store: Store, *, stale_after_s: float = 30.0,
                   forget_after_s: float = 3600.0) -> list[WorkerReport]:
    """Every worker heard from in the last hour that has not stopped cleanly, with a sentence.

    Reads only: it answers while the store cannot be written.
    """
    now = time.time()
    files: dict[str, dict] = {}
    folder = status_dir(store)
    if folder is not None and folder.is_dir():
        for path in folder.glob("*.json"):
            try:
                files[path.name] = json.loads(path.read_bytes().strip() or b"{}")
            except (OSError, ValueError):
                continue
    with store.read() as conn:
        rows = conn.execute(select(workers).where(workers.c.beat_at >= now - forget_after_s)
                            .order_by(workers.c.name)).all()
    reports = []
    seen = set()
    for r in rows:
        seen.add(_file_name(r.name))
        said = files.get(_file_name(r.name), {})
        newer = float(said.get("at") or 0) > r.beat_at
        if newer and said.get("stopped") or not newer and r.stopped_at is not None:
            continue
        problem, since = (said.get("problem"), said.get("since")) if newer else (
            r.problem, r.problem_since)
        last = max(r.beat_at, float(said.get("at") or 0))
        if r.host == socket.gethostname() and not _alive(r.pid):  # killed, or it crashed
            reports.append(WorkerReport(r.name, r.pid, r.beat_at, False,
                                        f"worker {r.name} has not written its heartbeat since "
                                        f"{clock(last)}: its process {r.pid} is gone (killed, "
                                        "or it crashed); its jobs go to other workers", "gone"))
        elif problem and since:
            reports.append(WorkerReport(r.name, r.pid, r.beat_at, False,
                                        f"worker {r.name} cannot write the store since "
                                        f"{clock(float(since))}: {problem}", "unhealthy"))
        elif now - last > stale_after_s:
            reports.append(WorkerReport(r.name, r.pid, r.beat_at, False,
                                        f"worker {r.name} has not written its heartbeat since "
                                        f"{clock(last)}: it may be stuck or cut off from the "
                                        "store", "silent"))
        else:
            reports.append(WorkerReport(r.name, r.pid, r.beat_at, True, "working"))
    # A worker whose very first heartbeat never reached the store is known by its file only.
    for fname, said in files.items():
        if fname in seen or said.get("stopped") or not said.get("problem"):
            continue
        if now - float(said.get("at") or 0) > forget_after_s:
            continue
        reports.append(WorkerReport(str(said.get("name")), int(said.get("pid") or 0),
                                    float(said.get("at") or 0), False, str(said.get("sentence")),
                                    "unhealthy"))
    return reports


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
