"""Agents: who drives a run — a lease renewed by a heartbeat, fenced on every write.

A process that drives a run holds its lease: the run row's ``updated_at`` is both the
heartbeat (renewed every quarter lease, model and tool calls included, by a small thread)
and the fencing token (every write of the run is ``UPDATE … WHERE updated_at = <the value
this process last wrote>``). A run whose heartbeat is older than its lease was abandoned
by a dead process and may be taken over (:mod:`seamline.agents._recover`); the taker's
compare-and-set moves ``updated_at``, so the old owner — if it was only stalled, not dead —
fails its next write and stops instead of writing over the new owner's run. The same idea
as the job queue's leases (``seamline.queue._jobs``), kept to the one row the run already has.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, update

from seamline.agents._store import RUNNING, RunState
from seamline.errors import SeamlineError
from seamline.store import Store
from seamline.store.tables import agent_runs

log = logging.getLogger("seamline.agents")


class LeaseLost(SeamlineError):
    """Another process took the run over (this one was presumed dead); stop driving it."""


def new_owner() -> str:
    """Who drives a run, for people reading ``seamline agent stale``: host, pid, a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def heartbeat_age(state: RunState, now: float | None = None) -> float:
    return max(0.0, (time.time() if now is None else now) - state.updated_at)


def is_stale(state: RunState, now: float | None = None) -> bool:
    """A running run whose owner has not written for longer than its lease: abandoned."""
    return state.status == RUNNING and heartbeat_age(state, now) >= state.lease_s


def _next(version: float) -> float:
    # Strictly greater than the last value: equal floats would let a stale owner's fence pass.
    return max(time.time(), version + 1e-6)


class Lease:
    """This process's hold on one run: fenced writes and a heartbeat thread until ``stop``."""

    def __init__(self, store: Store, run_id: str, version: float, lease_s: float) -> None:
        self.store, self.run_id, self.version, self.lease_s = store, run_id, version, lease_s
        self.lost = False
        self._lock = threading.Lock()  # heartbeat and fenced writes take turns on ``version``
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True,
                                      name=f"seamline-agent-lease-{run_id[:8]}")
        self._beat.start()

    @classmethod
    def take(cls, store: Store, state: RunState, *, status: str, version: float | None = None,
             also: Callable[[Connection], object] | None = None) -> Lease | None:
        """Compare-and-set the run to ``running`` under a new owner, or None if it moved.

        ``status`` (and ``version``, the ``updated_at`` read, when taking over a stale run)
        must still hold; ``also(conn)`` runs in the same transaction (audit, outbox).
        """
        new = _next(version or 0.0)
        state.owner, state.status = new_owner(), RUNNING
        taken = False
        with store.write() as conn:
            q = update(agent_runs).where(agent_runs.c.id == state.id,
                                         agent_runs.c.status == status)
            if version is not None:
                q = q.where(agent_runs.c.updated_at == version)
            taken = conn.execute(q.values(**state.row(new))).rowcount == 1
            if taken and also is not None:
                also(conn)
        if not taken:
            return None
        state.updated_at = new
        return cls(store, state.id, new, state.lease_s)

    @contextmanager
    def save(self, state: RunState) -> Iterator[Connection]:
        """One write transaction that ends by saving ``state``, only while the lease is ours.

        The caller adds its statements (audit entries, outbox rows) in the block; if the lease
        was lost they are rolled back with the save and :class:`LeaseLost` is raised.
        """
        with self._lock:
            if self.lost:
                raise self._lost()
            new = _next(self.version)
            with self.store.write() as conn:
                yield conn
                done = conn.execute(update(agent_runs).where(
                    agent_runs.c.id == self.run_id, agent_runs.c.updated_at == self.version)
                    .values(**state.row(new))).rowcount
                if done != 1:
                    self.lost = True
                    raise self._lost()
            self.version = state.updated_at = new

    def stop(self) -> None:
        self._stop.set()
        if self._beat is not threading.current_thread():
            self._beat.join(timeout=5)

    def _heartbeat(self) -> None:
        try:
            self._beat_until_stopped()
        finally:
            # The store keeps a write connection per thread; this thread dies with the run,
            # so hand its connection back now rather than to the garbage collector.
            local = getattr(self.store, "_local", None)
            conn = getattr(local, "conn", None)
            if local is not None and conn is not None:
                local.conn = None
                conn.close()

    def _beat_until_stopped(self) -> None:
        while not self._stop.wait(self.lease_s / 4):
            with self._lock:
                if self._stop.is_set() or self.lost:
                    return
                new = _next(self.version)
                try:
                    with self.store.write() as conn:
                        done = conn.execute(update(agent_runs).where(
                            agent_runs.c.id == self.run_id, agent_runs.c.status == RUNNING,
                            agent_runs.c.updated_at == self.version)
                            .values(updated_at=new)).rowcount
                except Exception as exc:  # noqa: BLE001 - a failed beat is retried; the fence decides
                    log.warning("heartbeat of agent run %s failed: %s", self.run_id, exc)
                    continue
                if done != 1:
                    self.lost = True  # the next fenced write raises LeaseLost
                    return
                self.version = new

    def _lost(self) -> LeaseLost:
        return LeaseLost(f"Agent run {self.run_id} was taken over by another process (this one "
                         "was presumed dead); this process stopped driving it.")
