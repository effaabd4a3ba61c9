"""The worker's OAuth renewal: credentials kept working, and what waited for them run, with no traffic.

An action whose credential cannot give a token waits (``waiting_credentials``) and its
job finishes. If the token endpoint was only down, nothing would try the refresh again
until a new event arrived. So a worker whose integrations use OAuth credentials runs one
more thread that, every ``every_s``:

1. refreshes each credential that is due (within its refresh margin) or failed while the
   endpoint was down, backing off per credential (``every_s · 2ⁿ``, capped at
   ``max_backoff_s``, jittered) while it keeps failing; a refresh the server refused waits
   for a person (``seamline connectors auth``), as the alert says;
2. for each credential that works (refreshed here, by an action of any integration, or
   re-authorized from the CLI), releases the actions of *this worker's* integrations that
   wait for it and runs them, each once (the outbox's intent and idempotency key);
3. runs the released actions that nobody ran (a process that released them and died, or
   ``connectors auth`` run where the integration could not be loaded) once they have sat
   pending for ``stale_s``.

Each worker releases its own integrations' actions: a credential shared by integrations
served by different workers is released by each of them, since only a worker holding an
integration's handlers can run its actions. Store failures go to the worker's health
(``seamline queue status``), like every other write of its loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from seamline.backoff import Backoff
from seamline.integration import Integration
from seamline.store import Store
from seamline.store.tables import events, outbox

if TYPE_CHECKING:
    from seamline.connectors import OAuthSettings, Renewal
    from seamline.runtime import Pipeline

log = logging.getLogger("seamline.worker")

WAITING, PENDING = "waiting_credentials", "pending"  # seamline.actions' outbox statuses


class _Stopping(Exception):
    """The worker was asked to stop during a refresh's wait: give the refresh up."""


@dataclass
class _Credential:
    """One credential this worker's integrations use, and its retry schedule."""

    name: str
    connector: str
    settings: OAuthSettings
    integrations: set[str] = field(default_factory=set)
    failures: int = 0
    next_at: float = 0.0
    said: str = ""  # the last failure logged (each new one is logged once)


class CredentialRenewal:
    """Renews the OAuth credentials of a worker's integrations and releases what waited."""

    def __init__(self, store: Store, integrations: Mapping[str, Integration],
                 pipelines: Mapping[str, Pipeline], *, stop: threading.Event,
                 trouble: Callable[[str, BaseException], None], every_s: float = 15.0,
                 max_backoff_s: float = 600.0, stale_s: float = 300.0,
                 on_released: Callable[[int], None] | None = None,
                 on_refreshed: Callable[[], None] | None = None) -> None:
        self.store, self.pipelines = store, pipelines
        self.every_s, self.stale_s = every_s, stale_s
        self._stop, self._trouble = stop, trouble
        self._backoff = Backoff(every_s, max(every_s, max_backoff_s), jitter="equal")
        self._on_released = on_released or (lambda n: None)
        self._on_refreshed = on_refreshed or (lambda: None)
        self.credentials = _credentials(integrations)
        self.integrations = sorted(integrations)

    @classmethod
    def wanted(cls, integrations: Mapping[str, Integration]) -> bool:
        """Whether any of these integrations uses an OAuth credential (without loading the
        connectors when none does)."""
        if not any(_mentions_oauth(s) for s in integrations.values()):
            return False
        return bool(_credentials(integrations))

    def run(self) -> None:
        """Rounds every ``every_s`` until the worker stops; the first one at once (a
        restarted worker releases what waits without waiting a round)."""
        while not self._stop.is_set():
            try:
                self.round()
            except _Stopping:
                return
            except Exception as exc:  # noqa: BLE001 - reported; the next round tries again
                self._trouble("renewing OAuth credentials", exc)
            self._stop.wait(self.every_s)

    def round(self, now: float | None = None) -> int:
        """One round (see the module doc); returns the events whose actions it ran."""
        from seamline.connectors import Renewal, renew
        from seamline.errors import ConfigError

        now = time.time() if now is None else now
        waiting = self._waiting()
        ran = 0
        for cred in self.credentials.values():
            if now < cred.next_at:
                continue
            try:
                renewal = renew(self.store, cred.settings, cred.connector, sleep=self._nap)
            except ConfigError as exc:  # the client id or secret variable unset, say
                renewal = Renewal(cred.name, "failed", False, str(exc).rstrip("."))
            self._schedule(cred, renewal, now)
            if renewal.refreshed:
                self._on_refreshed()
            if renewal.state == "ok" and waiting.get(cred.name):
                ran += self._release(cred)
        ran += self._run_stranded(now)
        return ran

    # -- the parts of a round --------------------------------------------------------

    def _waiting(self) -> dict[str, int]:
        """How many actions of this worker's integrations wait, by credential (one read)."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(outbox.c.waiting_for, func.count()).where(
                    outbox.c.status == WAITING, outbox.c.integration.in_(self.integrations))
                .group_by(outbox.c.waiting_for)).all()
        return {r[0]: int(r[1]) for r in rows}

    def _schedule(self, cred: _Credential, renewal: Renewal, now: float) -> None:
        """Next try: the next round while it works, a growing backoff while it fails."""
        if renewal.state in ("ok", "not_authorized") or (renewal.state == "failed"
                                                          and not renewal.retry):
            if cred.failures or cred.said:
                log.warning("OAuth credential %s: %s", cred.name, renewal.sentence())
            cred.failures, cred.next_at, cred.said = 0, 0.0, ""
            return
        cred.next_at = now + self._backoff.delay(cred.failures)
        cred.failures += 1
        if renewal.reason != cred.said:  # a new failure is said once, then quietly retried
            cred.said = renewal.reason
            log.warning("OAuth credential %s: %s (next try in %.0f s)", cred.name,
                        renewal.sentence(), cred.next_at - now)

    def _release(self, cred: _Credential) -> int:
        """Release and run the waiting actions of this worker's integrations using it."""
        from seamline.actions import resume_waiting

        ran = 0
        for name in sorted(cred.integrations):
            released = resume_waiting(self.store, cred.name, integration=name)
            for _, event_id, path in released:
                ran += self._finish(name, event_id, path)
            if released:
                log.warning("OAuth credential %s works again: ran the actions of %d event(s) "
                            "of %s that waited for it", cred.name, len(released), name)
        return ran

    def _run_stranded(self, now: float) -> int:
        """Actions released (pending) of events still ``waiting_credentials`` that nobody
        has run for ``stale_s``: whoever released them could not, or died first."""
        with self.store.read() as conn:
            rows = conn.execute(
                select(outbox.c.event_id, outbox.c.integration, events.c.path).distinct()
                .join(events, events.c.id == outbox.c.event_id)
                .where(events.c.state == WAITING, outbox.c.status == PENDING,
                       outbox.c.intent_at.is_(None), outbox.c.updated_at < now - self.stale_s,
                       outbox.c.integration.in_(self.integrations))).all()
        return sum(self._finish(r.integration, r.event_id, r.path or "ai") for r in rows)

    def _finish(self, integration: str, event_id: str, path: str) -> int:
        pipeline = self.pipelines.get(integration)
        if pipeline is None:
            return 0
        state, _, reason = pipeline.finish_actions(event_id, path)
        log.info("event %s (%s), released after waiting for a credential: %s %s", event_id,
                 integration, state, reason)
        self._on_released(1)
        return 1

    def _nap(self, seconds: float) -> None:
        """The refresh's waits (its retries within the budget), cut short by a stop."""
        if self._stop.wait(seconds):
            raise _Stopping


def _mentions_oauth(spec: Integration) -> bool:
    """Whether any action or vendor block says ``auth: oauth``: a look at the declaration
    that keeps the connectors (and their HTTP clients) unloaded when none does."""
    blocks = [a.connector for a in spec.actions]
    blocks += [b for choice in spec.vendors.values() for b in choice.options.values()]
    return any(isinstance(b, Mapping) and b.get("auth") == "oauth" for b in blocks)


def _credentials(integrations: Mapping[str, Integration]) -> dict[str, _Credential]:
    """Each credential the integrations use (an integration whose connector options do not
    validate is left out: its actions fail with that sentence, and `seamline check` says it)."""
    from seamline.connectors import oauth_uses
    from seamline.errors import ConfigError

    found: dict[str, _Credential] = {}
    for spec in integrations.values():
        if not _mentions_oauth(spec):
            continue
        try:
            uses = oauth_uses(spec)
        except ConfigError as exc:
            log.warning("integration %s: its OAuth credentials are not renewed by this "
                        "worker: %s", spec.name, exc)
            continue
        for use in uses:
            cred = found.setdefault(use.credential, _Credential(
                use.credential, use.connector, use.settings))
            cred.integrations.add(spec.name)
    return found
