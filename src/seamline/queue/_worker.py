"""``seamline worker``: threads that claim jobs, run them through the pipeline, and settle them.

Exactly-once effect rests on three things, none of them on the worker staying alive:
the job's event id is fixed at enqueue time (a reclaimed job continues its event,
it does not start a second one), the event's state says how far it got (resume
picks up from there), and the outbox gives every action one idempotency key that
travels downstream (an action sent just before a crash is re-sent with the same
key, and the receiver keeps one effect).

A worker fails loudly and keeps going: every store write in its loop is guarded, a store
that cannot be written (a full disk, a lost database) is retried with a backoff while the
worker reports itself unhealthy (``seamline queue status``, ``/healthz``, an alert), and
the worker gives up only after ``max_outage_s`` or when asked to stop; then
:attr:`WorkerStats.failure` says why, and ``seamline worker`` exits non-zero instead of
printing its summary.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError

from seamline.alerts import Alert, raise_alert
from seamline.backoff import Backoff
from seamline.errors import StoreBusy
from seamline.integration import Integration
from seamline.queue import _wake
from seamline.queue._credentials import CredentialRenewal
from seamline.queue._health import Board, Health
from seamline.queue._jobs import REDRIVE, Job, JobQueue
from seamline.runtime import ACTING, DEAD_LETTERED, RETRYING, TERMINAL, EventResult, Pipeline
from seamline.store import Store

log = logging.getLogger("seamline.worker")


def _store_failure(exc: BaseException) -> bool:
    """Whether an exception says the store (not the event) failed: a full disk, a lost server."""
    if isinstance(exc, DBAPIError | StoreBusy | OSError):
        return True
    # Statements run on the driver's cursor directly (the hot path) raise its own errors.
    return type(exc).__module__.split(".")[0] in ("sqlite3", "psycopg", "psycopg2")


@dataclass
class WorkerStats:
    claimed: int = 0
    finished: int = 0
    retried: int = 0
    dead: int = 0
    lost_leases: int = 0
    claim_seconds: float = 0.0  # time in the queue's own statements (claim, renew, settle)
    by_state: dict[str, int] = field(default_factory=dict)
    store_failures: int = 0  # store writes that failed and were retried
    unsettled: int = 0  # jobs left to their lease because their outcome could not be written
    credentials_refreshed: int = 0  # OAuth refreshes the renewal thread saved (_credentials)
    released: int = 0  # events whose actions waited for a credential and were run then
    # Why the worker stopped without being asked (the store stayed unwritable past
    # max_outage_s), or stopped on request while unhealthy; "" after a normal run.
    failure: str = ""


class Worker:
    """Runs queued jobs of some integrations until stopped (or idle, for scripts and tests)."""

    def __init__(self, store: Store, integrations: Mapping[str, Integration] | list[Integration], *,
                 concurrency: int = 1, name: str | None = None, poll_s: float = 0.5,
                 pipelines: Mapping[str, Pipeline] | None = None,
                 max_outage_s: float = 300.0, retry_max_s: float = 5.0,
                 credentials_every_s: float = 15.0,
                 credentials_backoff_max_s: float = 600.0) -> None:
        specs = list(integrations.values()) if isinstance(integrations, Mapping) else integrations
        self.store = store
        self.integrations = {s.name: s for s in specs}
        self.pipelines = dict(pipelines or {})
        for spec in specs:
            if spec.name not in self.pipelines:
                self.pipelines[spec.name] = Pipeline(spec, store)
        self.queue = JobQueue(store, next(iter(self.pipelines.values())).vault)
        self.concurrency = max(1, concurrency)
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.poll_s = poll_s
        self.stats = WorkerStats()
        self._stop = threading.Event()
        self._wake = threading.Event()  # jobs arrived, or stop: idle threads look again
        _wake.register(self._wake)
        self._lock = threading.Lock()
        self._held: dict[int, Job] = {}
        self.lease_s = min(s.queue.lease_s for s in specs)
        # A store that cannot be written: retried with this backoff, given up after max_outage_s.
        self.max_outage_s = max_outage_s
        self._store_backoff = Backoff(min(0.2, retry_max_s), retry_max_s)
        self.health = Health(self.name)
        self._board: Board | None = None
        self._alerted = False
        # OAuth credentials renewed without traffic, and what waited for them run (a
        # thread of its own, only when an integration uses one: _credentials.py).
        self.credentials_every_s = credentials_every_s
        self.credentials_backoff_max_s = credentials_backoff_max_s

    # ---- running -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop claiming; jobs in hand are finished first."""
        self._stop.set()
        self._wake.set()

    def run(self, *, exit_when_idle: bool = False, max_jobs: int | None = None,
            on_job: Callable[[Job, EventResult | None], None] | None = None) -> WorkerStats:
        """Work until :meth:`stop` (or, with ``exit_when_idle``, until the queue is drained:
        no job queued, waiting for a retry, or running)."""
        self._board = Board(self.store, self.health, list(self.integrations))
        self._board.beat()
        beat = threading.Thread(target=self._heartbeat, name="seamline-lease", daemon=True)
        beat.start()
        _wake.listen(self.store, self._wake, self._stop)
        renewal = self._renewal()
        if renewal is not None:
            renewal.start()
        threads = [threading.Thread(target=self._guarded_loop,
                                    args=(i, exit_when_idle, max_jobs, on_job),
                                    name=f"seamline-worker-{i}") for i in range(self.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self._stop.set()
        beat.join()
        if renewal is not None:
            renewal.join()
        if not self.stats.failure and not self.health.healthy:
            self.stats.failure = (f"{self.health.sentence()}; it stopped on request with the "
                                  "store still failing")
        self._board.beat(stopped=True)
        self._board.close()
        return self.stats

    def _renewal(self) -> threading.Thread | None:
        """The credential-renewal thread, when an integration uses an OAuth credential."""
        if not CredentialRenewal.wanted(self.integrations):
            return None

        def count(**kw: int) -> None:
            with self._lock:
                for name, n in kw.items():
                    setattr(self.stats, name, getattr(self.stats, name) + n)

        renewal = CredentialRenewal(
            self.store, self.integrations, self.pipelines, stop=self._stop,
            trouble=self._renewal_trouble, every_s=self.credentials_every_s,
            max_backoff_s=self.credentials_backoff_max_s, stale_s=max(60.0, self.lease_s),
            on_released=lambda n: count(released=n),
            on_refreshed=lambda: count(credentials_refreshed=1))
        return threading.Thread(target=renewal.run, name="seamline-credentials", daemon=True)

    def _renewal_trouble(self, what: str, exc: BaseException) -> None:
        if _store_failure(exc):
            self._trouble(what, exc)
        else:  # a bug or a pipeline that cannot be built: said, and the next round tries
            log.exception("worker %s: %s failed", self.name, what, exc_info=exc)

    @property
    def problem(self) -> str:
        """What keeps this worker from working, as a sentence ("" when healthy)."""
        return self.stats.failure or self.health.sentence()

    def _trouble(self, what: str, exc: BaseException) -> None:
        """A store write failed: say so (loudly once, then quietly), and give up past the bound."""
        first = self.health.failed(what, exc)
        self._count(store_failure=True)
        if self._board is not None:
            self._board.say()  # the status file: another process can read why, store or not
        if first:
            log.error("worker %s: %s failed; retrying with a backoff: %s", self.name, what,
                      exc, exc_info=exc)
        else:
            log.warning("worker %s: %s failed again: %s", self.name, what,
                        self.health.problem)
        outage = self.health.outage_s()
        if not self._alerted and (first or outage > self.lease_s):
            self._alerted = True
            raise_alert(self.store, Alert("worker_unhealthy", self.health.sentence(), "critical",
                                          {"worker": self.name}))
        if outage > self.max_outage_s and not self.stats.failure:
            with self._lock:
                self.stats.failure = (f"{self.health.sentence()}; it gave up after "
                                      f"{self.max_outage_s:g} s")
            log.error("worker %s: %s", self.name, self.stats.failure)
            self.stop()

    def _recovered(self) -> None:
        if self.health.ok():
            self._alerted = False
            log.warning("worker %s: the store can be written again", self.name)
            if self._board is not None:
                self._board.beat()

    def _pause(self) -> None:
        """Wait out a backoff after a store failure (shorter if asked to stop)."""
        n = min(self.health.failures, 30)
        self._stop.wait(self._store_backoff.delay(max(0, n - 1)))

    def _guarded_loop(self, index: int, exit_when_idle: bool, max_jobs: int | None,
                      on_job: Callable[[Job, EventResult | None], None] | None) -> None:
        """The loop, restarted after anything it did not expect: a thread never dies quietly."""
        while not self._stop.is_set():
            try:
                self._loop(index, exit_when_idle, max_jobs, on_job)
                return
            except Exception as exc:  # noqa: BLE001 - logged, reported, then the loop goes on
                self._trouble("running a job", exc)
                self._pause()

    def _loop(self, index: int, exit_when_idle: bool, max_jobs: int | None,
              on_job: Callable[[Job, EventResult | None], None] | None) -> None:
        me = f"{self.name}/{index}"
        idle = self.poll_s / 4
        while not self._stop.is_set():
            if max_jobs is not None and self.stats.claimed >= max_jobs:
                return
            if not self.health.healthy:
                self._pause()  # a failing store is not hammered with claims
                if self._stop.is_set():
                    return
            t = time.perf_counter()
            try:
                got = self.queue.claim(me, list(self.integrations), lease_s=self.lease_s)
            except Exception as exc:  # noqa: BLE001 - the store failing is reported, not fatal
                self._trouble("claiming jobs", exc)
                self._pause()
                continue
            self._count(claim_seconds=time.perf_counter() - t)
            if not got:
                self._recovered()  # nothing to do, and the store answered
                # Drained means nothing queued (backoffs included) and nothing running,
                # here or under another worker's lease that may yet expire.
                if exit_when_idle and not self._held and not self.queue.unfinished(
                        list(self.integrations)):
                    return
                self._wake.wait(idle)
                self._wake.clear()
                idle = min(self.poll_s, idle * 2)  # back off while the queue is empty
                continue
            idle = self.poll_s / 4
            job = got[0]
            with self._lock:
                self._held[job.id] = job
                self.stats.claimed += 1
            result = None
            try:
                result = self.run_job(job)
            finally:
                with self._lock:
                    self._held.pop(job.id, None)
            if on_job is not None:
                on_job(job, result)

    def run_job(self, job: Job) -> EventResult | None:
        """Run one claimed job and settle it (done, retry later, or dead)."""
        spec = self.integrations[job.integration]
        pipeline = self.pipelines[job.integration]
        policy = spec.queue
        if job.attempts > policy.max_claims:
            reason = (f"the job was claimed {job.attempts - 1} times without finishing "
                      "(its worker may crash on it); redrive it once the cause is fixed")
            try:
                raw = self._raw(job)
            except Exception as exc:  # noqa: BLE001 - given up with why, not a dead thread
                raw = None
                reason = (f"{reason}; its payload could not be opened: "
                          f"{type(exc).__name__}: {exc}")
            try:
                result = pipeline.give_up(job.event_id, raw, reason)
            except Exception as exc:  # noqa: BLE001 - the lease expires; a later claim tries again
                self._trouble("dead-lettering a job", exc)
                self._count(unsettled=True)
                return None
            self._settle(job, self.queue.bury, reason, result.state)
            return result
        # Transient failures wait for another try while this stage has tries left.
        defer = frozenset(stage for stage, limit in policy.attempts.items() if job.attempts < limit)
        try:
            if job.kind == REDRIVE:
                result = pipeline.redrive(job.event_id, defer=defer, actor=f"worker {self.name}")
            else:
                result = pipeline.process(self._raw(job), job.event_id, defer=defer,
                                          submitted_by=job.submitted_by)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if _store_failure(exc):  # the store's fault, not the job's: no claim is spent
                self._trouble(f"running job {job.id}", exc)
                self._settle(job, self.queue.release, recovers=False)
                return None
            log.exception("job %s (event %s) failed; it will be retried", job.id, job.event_id)
            self._settle(job, self.queue.retry, error, self._backoff(job, spec))
            self._count(retried=1)
            return None
        if result.state in TERMINAL:
            self._settle(job, self.queue.finish, result.state)
            self._count(finished=1, state=result.state, dead=result.state == DEAD_LETTERED)
        elif result.state in (RETRYING, ACTING):
            self._settle(job, self.queue.retry, result.reason, self._backoff(job, spec))
            self._count(retried=1)
        else:  # pragma: no cover - every pipeline path ends terminal, retrying or acting
            self._settle(job, self.queue.retry, f"unexpected state {result.state}",
                         self._backoff(job, spec))
        return result

    def _raw(self, job: Job):
        return self.queue.open(job)

    def _settle(self, job: Job, fn, *args, recovers: bool = True) -> None:
        """Record a job's outcome, retrying while the store refuses the write.

        Given up when asked to stop, after the outage bound, or once the lease has run out
        (another worker may hold the job by then): the job is left to its lease, and the
        next claim continues its event from the state the store recorded.
        """
        while True:
            t = time.perf_counter()
            try:
                ok = fn(job, *args)
            except Exception as exc:  # noqa: BLE001 - the store failing is reported, not fatal
                self._trouble(f"recording the outcome of job {job.id}", exc)
                if self._stop.is_set():
                    self._count(unsettled=True)
                    return
                self._pause()
                continue
            if recovers:  # a job's outcome was recorded: the store works again
                self._recovered()
            self._count(claim_seconds=time.perf_counter() - t, lost=not ok)
            if not ok:
                log.warning("job %s: lease lost to another worker; its outcome stands", job.id)
            return

    @staticmethod
    def _backoff(job: Job, spec: Integration) -> float:
        """Seconds until the job's next try (stored with it): full jitter, capped."""
        q = spec.queue
        return Backoff(q.backoff_s, q.backoff_max_s).delay(max(0, job.attempts - 1))

    def _heartbeat(self) -> None:
        """Renew the leases of jobs in hand every third of a lease, and say how it is."""
        while not self._stop.wait(self.lease_s / 3):
            if self._board is not None:
                self._board.beat()
            with self._lock:
                held = dict(self._held)
            by_owner: dict[str, list[int]] = {}
            for job in held.values():
                by_owner.setdefault(job.lease_owner, []).append(job.id)
            for owner, ids in by_owner.items():
                try:
                    kept = self.queue.renew(owner, ids, lease_s=self.lease_s)
                except Exception as exc:  # noqa: BLE001 - reported; the lease may yet be renewed
                    self._trouble("renewing leases", exc)
                    continue
                if len(kept) < len(ids):
                    self._count(lost=True)

    def _count(self, *, claim_seconds: float = 0.0, finished: int = 0, retried: int = 0,
               dead: bool = False, lost: bool = False, state: str | None = None,
               store_failure: bool = False, unsettled: bool = False) -> None:
        with self._lock:
            s = self.stats
            s.claim_seconds += claim_seconds
            s.finished += finished
            s.retried += retried
            s.dead += int(dead)
            s.lost_leases += int(lost)
            s.store_failures += int(store_failure)
            s.unsettled += int(unsettled)
            if state:
                s.by_state[state] = s.by_state.get(state, 0) + 1
