"""The stream shape's loop: fetch a batch, apply it to durable window state (and mark it
applied) in one transaction, ack it, then decide every window the watermark closed. A fetch
waits a bounded time, so a quiet stream still moves on: after ``idle_timeout`` without a
message its time follows the wall clock and its last windows close.

A consumer claims a due window (compare-and-set on its row) before deciding it, so one
consumer of a group decides each window. Each decision is one ``Pipeline.process`` of the
window, whose idempotency key names the window and its revision: a decision interrupted by
a crash is made again, and the pipeline answers "duplicate" if the first attempt had
already been recorded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError

from seamline.backoff import Backoff
from seamline.errors import ConfigError, StoreBusy
from seamline.ingest import vault_key
from seamline.integration import Integration, StreamSpec
from seamline.runtime import Pipeline
from seamline.store import Store
from seamline.streaming._cipher import PayloadCipher
from seamline.streaming._closing import DueWindow, claim_token
from seamline.streaming._source import SourceUnavailable, StreamSource, default_consumer
from seamline.streaming._state import WindowState

log = logging.getLogger("seamline.stream")


def _store_failure(exc: BaseException) -> bool:
    """The store (not the stream or the event) failed: a full disk, a lost database server."""
    if isinstance(exc, DBAPIError | StoreBusy):
        return True
    return type(exc).__module__.split(".")[0] in ("sqlite3", "psycopg", "psycopg2")

def _pause(stop: threading.Event | None, seconds: float) -> None:
    """Back off for ``seconds``, woken early when the runner is asked to stop."""
    if stop is not None:
        stop.wait(seconds)
    else:
        time.sleep(seconds)


WINDOW_KEY_FIELD = "window_id"
# Between fetches while the broker is unreachable: jittered, so a group's consumers do not
# all reconnect at the same instant when it comes back.
OUTAGE_BACKOFF = Backoff(0.2, 5.0)


@dataclass
class RunStats:
    """What one runner did; the store's ``stream_progress`` row holds the stream's totals."""

    delivered: int = 0  # messages fetched, redeliveries included
    outcomes: Counter[str] = field(default_factory=Counter)  # applied, redelivered, invalid, late_*
    decisions: Counter[str] = field(default_factory=Counter)  # terminal state of each decision
    outages: int = 0  # fetches or acks that found the broker unreachable, then retried
    claimed_elsewhere: int = 0  # due windows another consumer of the group was deciding
    idle_advances: int = 0  # times a quiet stream's time was moved on by the wall clock
    store_failures: int = 0  # batches the store refused (a full disk, a lost database), retried
    seconds: float = 0.0

    @property
    def applied(self) -> int:
        return self.outcomes["applied"] + self.outcomes["late_recomputed"]


def _window_integration(integration: Integration) -> Integration:
    """The integration as it decides windows: keyed by ``window_id``, one decision each."""
    if WINDOW_KEY_FIELD not in integration.input_schema.model_fields:
        raise ConfigError(f"Integration {integration.name!r} consumes a stream, so its input "
                          f"schema describes one window and needs a {WINDOW_KEY_FIELD!r} field; "
                          "use seamline.streaming:WindowInput or a subclass of it.")
    if integration.idempotency_key in ("", WINDOW_KEY_FIELD):
        return integration.model_copy(update={"idempotency_key": WINDOW_KEY_FIELD})
    raise ConfigError(f"Integration {integration.name!r} consumes a stream; its idempotency key "
                      f"must be {WINDOW_KEY_FIELD!r} (one decision per window), not "
                      f"{integration.idempotency_key!r}.")


class StreamRunner:
    """Consumes one source for one integration against one store.

    Several runners (processes, machines on PostgreSQL) may share a consumer group: the
    store serialises their state changes and each message is applied once. ``consumer``
    names this runner's window claims (default: the source's consumer name, else the host
    name); a runner restarted under the same name takes its unfinished claims back at
    once, anyone else after ``claim_lease_s``.
    """

    def __init__(self, integration: Integration, store: Store, source: StreamSource, *,
                 spec: StreamSpec | None = None, provider=None, batch: int = 200,
                 outage_s: float = 60.0, consumer: str | None = None,
                 claim_lease_s: float = 120.0) -> None:
        spec = spec or integration.stream
        if spec is None:
            raise ConfigError(f"Integration {integration.name!r} declares no stream: add a "
                              "'stream:' section (key_field, time_field, window, late_policy).")
        self.spec, self.source, self.batch, self.outage_s = spec, source, batch, outage_s
        self.integration = _window_integration(integration)
        self.pipeline = Pipeline(self.integration, store, provider=provider)
        self.state = WindowState(store, spec, stream=spec.name or integration.name,
                                 integration=integration.name,
                                 cipher=PayloadCipher(vault_key(store)),
                                 vault=self.pipeline.vault)
        self.stats = RunStats()
        self.claim_lease_s = claim_lease_s
        self.consumer = consumer or getattr(source, "consumer", None) or default_consumer()
        self._token = claim_token(self.consumer)
        self.state.release_claims(self._token)
        self._next_prune = time.monotonic() + 60.0
        self._last_message = time.monotonic()  # quiet since, as this runner sees it
        self._next_flush = 0.0
        self.problem = ""  # what keeps this consumer from working, as a sentence

    def step(self, timeout_s: float = 1.0) -> int:
        """One batch: fetch, apply and mark (one transaction), ack, decide. Returns how many
        messages were fetched."""
        messages = self.source.fetch(self.batch, timeout_s)
        now = time.monotonic()
        if messages:
            self.stats.delivered += len(messages)
            self.stats.outcomes.update(self.state.apply(messages))
            # Only now: a crash before this line means redelivery, which the marks absorb.
            self.source.ack(messages)
            self._last_message = now
        elif self.state.advance_idle_clock(now - self._last_message):
            self.stats.idle_advances += 1
        # Caught up (a short batch, not a backlog): flush count windows whose key is quiet.
        if self.spec.idle_flush and len(messages) < self.batch and now >= self._next_flush:
            self._next_flush = now + min(5.0, self.spec.idle_timeout / 4)
            self.state.flush_idle_counts()
        self.decide()
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + 60.0
            self.state.prune()
        return len(messages)

    def decide(self) -> int:
        """One decision per due window (closed, this revision undecided) this runner could
        claim; returns how many it made. Windows claimed by others are passed by."""
        made = 0
        while due := self.state.close_due(lease_s=self.claim_lease_s):
            claimed = 0
            for window in due:
                if not self.state.claim(window, self._token, lease_s=self.claim_lease_s):
                    self.stats.claimed_elsewhere += 1
                    continue
                claimed += 1
                self.decide_window(window)
            made += claimed
            if len(due) < 500 or not claimed:
                break
        return made

    def decide_window(self, window: DueWindow) -> str:
        """Decide a window this runner has claimed."""
        try:
            result = self.pipeline.process(self.state.window_input(window))
        except BaseException:
            self.state.release(window, self._token)
            raise
        if result.duplicate_of:
            # Decided before, by a consumer that may have died mid-decision (its event left
            # processing or acting): finish that event. On a finished one this only reads.
            self.pipeline.resume(result.duplicate_of)
        self.state.mark_decided(window, result.duplicate_of or result.event_id)
        self.stats.decisions[result.state] += 1
        return result.state

    def run(self, *, max_events: int | None = None, idle_exit_s: float | None = None,
            stop: threading.Event | None = None, poll_s: float = 1.0) -> RunStats:
        """Until ``stop`` is set, ``max_events`` messages were fetched, or nothing arrived
        for ``idle_exit_s`` seconds (for scripts and tests; a service runs unbounded)."""
        started = time.monotonic()
        last_message = started
        outage: float | None = None  # when the broker stopped answering
        tries = 0  # retries within this outage: each outage backs off from the start
        store_down: float | None = None  # when the store started refusing batches
        store_tries = 0
        try:
            while stop is None or not stop.is_set():
                if max_events is not None and self.stats.delivered >= max_events:
                    break
                # Bounded, so a quiet stream's windows close in good time (see step).
                wait = min(poll_s, idle_exit_s if idle_exit_s is not None else poll_s,
                           self.spec.idle_timeout / 2 or poll_s)
                try:
                    fetched = self.step(wait)
                except SourceUnavailable:
                    # Nothing uncommitted is lost (the batch rolled back or was never read);
                    # ride out a broker restart, give up after ``outage_s`` of silence.
                    now = time.monotonic()
                    outage = outage or now
                    if now - outage >= self.outage_s:
                        raise
                    self.stats.outages += 1
                    _pause(stop, OUTAGE_BACKOFF.delay(tries))
                    tries += 1
                    continue
                except Exception as exc:
                    if not _store_failure(exc):
                        raise
                    # The store refused the batch: it rolled back and was not acked, so the
                    # broker delivers it again. Say so loudly once, back off, and give up
                    # (raise: a non-zero exit) only after ``outage_s`` of failures.
                    now = time.monotonic()
                    if store_down is None:
                        store_down = now
                        self.problem = (f"consumer {self.consumer} cannot write the store since "
                                        f"{time.strftime('%H:%M:%S', time.gmtime())}: "
                                        f"{str(getattr(exc, 'orig', exc)).splitlines()[0]}")
                        log.error("%s; retrying with a backoff", self.problem)
                    self.stats.store_failures += 1
                    if now - store_down >= self.outage_s:
                        raise
                    _pause(stop, OUTAGE_BACKOFF.delay(min(store_tries, 10)))
                    store_tries += 1
                    continue
                outage, tries = None, 0
                if store_down is not None:
                    log.warning("consumer %s: the store can be written again", self.consumer)
                store_down, store_tries, self.problem = None, 0, ""
                if fetched:
                    last_message = time.monotonic()
                elif idle_exit_s is not None and time.monotonic() - last_message >= idle_exit_s:
                    break
        finally:
            self.stats.seconds = time.monotonic() - started
        return self.stats

    def close(self) -> None:
        self.source.close()

