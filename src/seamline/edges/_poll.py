"""Polling the sources that have no webhooks: a persisted cursor, a schedule, and backoff.

Each poll source's ``fetch(cursor) -> (items, next_cursor)`` runs on its interval. The
items are queued and the cursor advanced in one transaction, so a crash either keeps both
or neither; items are also deduped by their id through ``webhook_receipts``, so a fetch
that returns an item again (an inclusive cursor, a restart mid-page) queues it once.
The schedule (``next_poll_at``) is stored too: a restart does not poll early, and a
vendor's Retry-After survives it.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from seamline.backoff import Backoff
from seamline.contracts import ContractBook
from seamline.edges._intake import Intake, Prepared
from seamline.errors import ConfigError, RateLimited
from seamline.integration import Integration, SourceSpec, resolve
from seamline.queue import JobQueue
from seamline.store import Store, insert_ignore
from seamline.store.tables import poll_cursors

log = logging.getLogger("seamline.edges")


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """One poll of one source: what came, what was queued, and when it polls next."""

    source: str
    fetched: int = 0
    queued: int = 0
    duplicates: int = 0
    cursor: str = ""
    next_poll_at: float = 0.0
    error: str = ""


@dataclass(frozen=True, slots=True)
class _Source:
    spec: SourceSpec
    intake: Intake
    fetch: Callable[[str], Any]


class Poller:
    """Runs the poll sources of one integration; one poller per source at a time."""

    def __init__(self, integration: Integration, store: Store, *, queue: JobQueue | None = None,
                 clock: Callable[[], float] = time.time,
                 jitter: Callable[[], float] = random.random) -> None:
        self.integration, self.store, self.clock, self.jitter = integration, store, clock, jitter
        queue = queue or JobQueue(store)
        contracts = ContractBook(store)
        base = integration.source_path.parent if integration.source_path else None
        self.sources: list[_Source] = []
        for spec in integration.sources:
            if spec.kind != "poll" or spec.poll is None:
                continue
            fetch = resolve(spec.poll.fetch, base=base, what=f"fetch of source {spec.name!r}")
            if not callable(fetch):
                raise ConfigError(f"The fetch of source {spec.name!r} is not a function.")
            self.sources.append(_Source(spec, Intake(integration, spec, store, queue, contracts),
                                        fetch))
        if not self.sources:
            raise ConfigError(f"The integration {integration.name!r} declares no poll source.")
        self._stop = threading.Event()

    # ---- one round ---------------------------------------------------------------------------

    def poll_due(self, *, force: bool = False) -> list[PollOutcome]:
        """Poll every source whose time has come (every source, with ``force``)."""
        now = self.clock()
        return [self.poll(s.spec.name) for s in self.sources
                if force or self._state(s.spec)["next_poll_at"] <= now]

    def poll(self, name: str) -> PollOutcome:
        """Poll one source now: fetch from its cursor, queue the new items, advance it."""
        source = next((s for s in self.sources if s.spec.name == name), None)
        if source is None:
            raise ConfigError(f"There is no poll source named {name!r}.")
        spec, state = source.spec, self._state(source.spec)
        cursor, failures = state["cursor"], state["failures"]
        try:
            items, next_cursor = _page(source.fetch(cursor), spec.name)
            prepared = [self._prepare(source.intake, item) for item in items]
        except RateLimited as exc:
            wait = exc.retry_after if exc.retry_after is not None else self._backoff(spec,
                                                                                    failures + 1)
            return self._failed(spec, cursor, failures + 1, wait,
                                f"rate limited: {exc}; next poll in {wait:.0f} s")
        except Exception as exc:  # noqa: BLE001 - the user's fetch or map: any failure backs off
            wait = self._backoff(spec, failures + 1)
            return self._failed(spec, cursor, failures + 1, wait,
                                f"{type(exc).__name__}: {exc}; next poll in {wait:.0f} s")
        queued = duplicates = 0
        now = self.clock()
        next_at = now + spec.poll.interval_s  # type: ignore[union-attr]
        with self.store.write() as conn:
            for one in prepared:
                if one.data is None:
                    continue
                if source.intake.record(conn, one) is None:
                    queued += 1
                else:
                    duplicates += 1
            conn.execute(update(poll_cursors).where(poll_cursors.c.source == spec.name).values(
                cursor=next_cursor, next_poll_at=next_at, failures=0, last_error="",
                updated_at=now))
        return PollOutcome(spec.name, len(items), queued, duplicates, next_cursor, next_at)

    @staticmethod
    def _prepare(intake: Intake, item: Any) -> Prepared:
        canonical = json.dumps(item, sort_keys=True, default=str).encode()
        delivery_id = intake.delivery_id(item, {}, canonical)
        return intake.prepare(item, delivery_id, intake.version(item, {}))

    def _backoff(self, spec: SourceSpec, failures: int) -> float:
        """Exponential, capped, with equal jitter: never sooner than half the step."""
        assert spec.poll is not None
        backoff = Backoff(spec.poll.backoff_s, spec.poll.max_backoff_s, jitter="equal")
        return backoff.delay(failures - 1, self.jitter)

    def _failed(self, spec: SourceSpec, cursor: str, failures: int, wait: float,
                error: str) -> PollOutcome:
        log.warning("poll of %s failed (%d in a row): %s", spec.name, failures, error)
        now = self.clock()
        with self.store.write() as conn:
            conn.execute(update(poll_cursors).where(poll_cursors.c.source == spec.name).values(
                next_poll_at=now + wait, failures=failures, last_error=error[:2000],
                updated_at=now))
        return PollOutcome(spec.name, cursor=cursor, next_poll_at=now + wait, error=error)

    def _state(self, spec: SourceSpec) -> dict[str, Any]:
        """The source's cursor row, created (at ``start_cursor``, due now) on first sight."""
        with self.store.read() as conn:
            row = conn.execute(select(poll_cursors).where(poll_cursors.c.source == spec.name)).first()
        if row is None:
            with self.store.write() as conn:
                insert_ignore(conn, poll_cursors, {
                    "source": spec.name, "cursor": spec.poll.start_cursor if spec.poll else "",
                    "next_poll_at": 0.0, "failures": 0, "last_error": "",
                    "updated_at": self.clock()})
            with self.store.read() as conn:
                row = conn.execute(select(poll_cursors)
                                   .where(poll_cursors.c.source == spec.name)).first()
            if row is None:  # inserted just now, by this poller or a concurrent one
                raise RuntimeError(f"The cursor row of poll source {spec.name!r} vanished.")
        return dict(row._mapping)

    # ---- the loop ----------------------------------------------------------------------------

    def run(self, *, once: bool = False, on_poll: Callable[[PollOutcome], None] | None = None,
            ) -> list[PollOutcome]:
        """Poll on schedule until :meth:`stop` (after one round with ``once``)."""
        seen: list[PollOutcome] = []
        while not self._stop.is_set():
            if once:
                for outcome in self.poll_due():
                    seen.append(outcome)
                    if on_poll:
                        on_poll(outcome)
                break
            try:
                for outcome in self.poll_due():
                    if on_poll:
                        on_poll(outcome)
                soonest = min(self._state(s.spec)["next_poll_at"] for s in self.sources)
            except Exception:  # the store itself failed: keep the loop alive, try again soon
                log.exception("polling %s failed; trying again in 5 s", self.integration.name)
                soonest = self.clock() + 5.0
            self._stop.wait(max(0.05, min(soonest - self.clock(), 5.0)))
        return seen

    def stop(self) -> None:
        self._stop.set()


def _page(result: Any, name: str) -> tuple[Sequence[Any], str]:
    """``fetch``'s answer checked: ``(items, next_cursor)``."""
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], Iterable)):
        raise ConfigError(f"The fetch of source {name!r} must return (items, next_cursor), "
                          f"not {type(result).__name__}.")
    items, cursor = result
    return list(items), "" if cursor is None else str(cursor)
