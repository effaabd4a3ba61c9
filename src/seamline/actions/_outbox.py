"""Layer 5, actions: the outbox, source of truth for what must be done.

Rows are written in the same transaction as the event's output; executing one
passes its idempotency key downstream.

Intent before effect: a send is recorded as starting (``intent_at``, ``intent_by``,
``attempts + 1``: its own commit) before the handler runs, and its result after. A row
found later with an intent and no result is *in doubt*: the effect may have happened.
Then, never a silent second effect:

- a handler declared ``idempotent: true``, or a connector whose vendor dedupes on the
  key, is sent again with the same key;
- a connector that keeps a send ledger asks it (and the vendor, where it can be asked);
  a Python handler with a ``verify(params, *, idempotency_key, since)`` attribute is asked;
- anything else waits for a person in the approval queue ("in doubt: may have run at
  10:42:07, worker 1151 died"), who resends, marks it done, or cancels it.

``attempts`` counts the sends started; the audit trail has an ``action`` entry per
recorded result (with its attempt number), an ``action_in_doubt`` entry per doubt found
(naming the attempt that never recorded one), an ``action_attempt`` entry per automatic
resend of an action in doubt, and an ``approval`` entry per person's resolution.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from seamline.actions._grant import VOID, action_digest
from seamline.audit import AuditEntry, append
from seamline.backoff import Backoff
from seamline.errors import ConfigError, NotFound, SeamlineError
from seamline.store import FastStatement, Store
from seamline.store.tables import eval_examples, events, outbox

# The connectors (HTTP clients, vendor SDKs, ~0.2 s to import) and the integration's handler
# resolution are imported in the functions that run or resolve an action, the connectors
# only for a handler that names one: reading and deciding the approval queue, or running a
# Python handler, needs neither (tests/cli/test_startup.py checks what a command loads).
if TYPE_CHECKING:
    from seamline.actions._plan import PlannedAction
    from seamline.connectors import CredentialsNeeded, OutcomeUnknown
    from seamline.integration import Integration

# Handlers that are the connectors' ("connector:slack.post_message", "kind:crm.upsert");
# any other is a Python function (``resolve``).
_CONNECTOR_REFS = ("connector:", "kind:")


class _NeverRaised(Exception):
    """Stands in for a connectors' exception while seamline.connectors is not imported."""


def _credentials_needed() -> type[CredentialsNeeded]:
    """The connectors' ``CredentialsNeeded``, for an ``except`` clause (evaluated only when
    a handler raised). Before seamline.connectors is imported no handler can have raised it
    (it is defined there), so a type nothing raises stands in and the import is spared."""
    connectors = sys.modules.get("seamline.connectors")
    return connectors.CredentialsNeeded if connectors is not None else cast(
        "type[CredentialsNeeded]", _NeverRaised)


def _outcome_unknown() -> type[OutcomeUnknown]:
    """The connectors' ``OutcomeUnknown``, as :func:`_credentials_needed` finds its own."""
    connectors = sys.modules.get("seamline.connectors")
    return connectors.OutcomeUnknown if connectors is not None else cast(
        "type[OutcomeUnknown]", _NeverRaised)

PENDING, AWAITING, DONE, FAILED, REJECTED = "pending", "awaiting_approval", "done", "failed", "rejected"
# A connector's credential cannot give a token (a refresh the server refused, say): the
# action was not sent and waits, never failed, until the credential named in its
# ``waiting_for`` is fixed (see resume_waiting). Also the state of the event it holds.
WAITING_CREDENTIALS = "waiting_credentials"
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """What executing one outbox row needs; built from the plan or read back from the store."""

    idempotency_key: str
    event_id: str
    integration: str
    action: str
    params: str  # JSON, placeholders unresolved
    status: str
    attempts: int = 0
    intent_at: float | None = None  # a send started then and recorded no result (yet)
    intent_by: str = ""  # host:pid/thread of that sender
    approved_digest: str = ""  # what a person approved (actions._grant), if they did


def write_outbox(conn: Connection, *, event_id: str, integration: str,
                 planned: list[PlannedAction], now: float) -> list[OutboxItem]:
    """Insert the planned actions (same transaction as the output) and return them as items."""
    rows: list[dict[str, Any]] = [
        {"idempotency_key": p.key, "event_id": event_id, "integration": integration,
         "action": p.name, "params": json.dumps(p.params, ensure_ascii=False, default=str),
         "status": AWAITING if p.approval_reason else PENDING,
         "approval_reason": p.approval_reason, "attempts": 0, "last_error": "", "result": None,
         "decided_by": "", "comment": "", "created_at": now, "updated_at": now,
         "intent_at": None, "intent_by": "", "waiting_for": "", "approved_digest": ""}
        for p in planned
    ]
    _INSERT.run_many(conn, rows)
    return [OutboxItem(r["idempotency_key"], event_id, integration, r["action"], r["params"],
                       r["status"]) for r in rows]


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    idempotency_key: str
    action: str
    status: str
    error: str = ""


class ActionRunner:
    """Executes outbox rows of one integration through its declared handlers."""

    def __init__(self, store: Store, integration: Integration, vault) -> None:
        self.store, self.integration, self.vault = store, integration, vault
        self.specs = {a.name: a for a in integration.actions}
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._base = integration.source_path.parent if integration.source_path else Path.cwd()
        # Results this process got but could not record (the store refused the commit):
        # key -> (intent_at, error, result, permanent). Recorded on the next try, not resent.
        self._unsettled: dict[str, tuple[float, str, Any, bool]] = {}
        # Events whose waiting actions a successful refresh released (take_resumed).
        self._resumed: list[tuple[str, str, str]] = []

    def handler(self, name: str) -> Callable[..., Any]:
        fn = self._handlers.get(name)
        if fn is None:
            spec = self.specs.get(name)
            if spec is None:
                raise ConfigError(f"Action {name!r} is no longer declared by integration "
                                  f"{self.integration.name!r}.")
            from seamline.integration import resolve

            ref = spec.handler if isinstance(spec.handler, str) else ""
            if not ref.startswith(_CONNECTOR_REFS):  # a Python function: no connector import
                fn = resolve(spec.handler, base=self._base, what=f"handler of {name}")
            else:
                from seamline.connectors import (
                    connector_handler,
                    is_connector_ref,
                    is_kind_ref,
                    kind_handler,
                )

                if is_kind_ref(ref):  # vendor-neutral: the vendor ``vendors:`` chooses
                    fn = kind_handler(spec, self.integration, store=self.store)
                elif is_connector_ref(ref):  # a built-in or installed connector
                    fn = connector_handler(ref, spec.connector, store=self.store)
                else:
                    fn = resolve(spec.handler, base=self._base, what=f"handler of {name}")
            self._handlers[name] = fn
        return fn

    def doubt_policy(self, name: str) -> DoubtPolicy:
        """What an in-doubt row of this action gets: sent again, asked about, or a person."""
        spec = self.specs.get(name)
        if spec is not None and spec.idempotent:
            return "resend"
        try:
            fn = self.handler(name)
        except Exception:  # noqa: BLE001 - a handler that cannot be built cannot be asked
            return "person"
        connector = getattr(fn, "connector", None)
        if connector is not None:
            return "resend" if getattr(connector, "idempotency", "") == "vendor" else "ask"
        return "ask" if callable(getattr(fn, "verify", None)) else "person"

    def execute(self, item: OutboxItem,
                finalize: Callable[[Connection, str], list[AuditEntry]] | None = None, *,
                defer: bool = False) -> ActionOutcome:
        """Run one pending row and record the outcome; never raises for a handler failure.

        ``finalize(conn, status)`` runs inside the same transaction and returns audit
        entries to add, so the event's final state is settled with the last action's commit.
        ``defer``: a failure leaves the row pending whatever its attempts (a worker's queue
        retries it later, with a backoff).

        A store that refuses the intent raises (nothing was sent); one that refuses the
        result raises too, and this runner remembers the result: the next try of the row in
        this process records it instead of sending again.
        """
        spec = self.specs.get(item.action)
        params = json.loads(item.params)
        if item.approved_digest and item.approved_digest != action_digest(
                item.integration, item.action, params, item.idempotency_key):
            return self._void(item, finalize)
        resend = ""
        count = True  # whether this call is a send (an attempt) or only asks
        if item.intent_at is not None:
            memo = self._unsettled.get(item.idempotency_key)
            if memo is not None and memo[0] == item.intent_at:
                return self._record(item, finalize, defer, *memo[1:])
            policy = self.doubt_policy(item.action)
            if policy == "person":
                return self._hold(item, finalize, doubt_sentence(item, self.sender))
            if policy == "ask":
                asked = self._ask(item, params, spec, finalize)
                if isinstance(asked, ActionOutcome):
                    return asked
                count = asked
            resend = policy
        intent_at = item.intent_at
        if count:
            intent_at = self._intend(item, resend)
            if intent_at is None:  # someone else holds or settled this row
                return ActionOutcome(item.idempotency_key, item.action,
                                     self._status_of(item.idempotency_key), "")
        error, result, permanent, doubt = "", None, False, ""
        try:
            if spec is not None and spec.reveal_pii:
                params = self.vault.reveal(item.event_id, params)
            result = self.handler(item.action)(params, idempotency_key=item.idempotency_key)
        except _credentials_needed() as exc:  # nothing was sent: it waits for the credential
            return self._wait(item, finalize, exc)
        except _outcome_unknown() as exc:  # the connector cannot tell whether it acted
            doubt = f"in doubt: may have run at {clock(intent_at or time.time())}; {exc}"
        except Exception as exc:  # noqa: BLE001 - a handler's failure is data, kept in the outbox
            error = f"{type(exc).__name__}: {exc}"[:2000]
            # An error that says retrying cannot help (a connector's rejection, bad params,
            # an unknown outcome waiting for a person) fails now instead of trying again.
            permanent = getattr(exc, "retryable", None) is False
        if doubt:
            return self._hold(replace(item, intent_at=intent_at or time.time(),
                                      intent_by=self.sender), finalize, doubt)
        self._note_recovery(item.action)
        done = replace(item, attempts=item.attempts + int(count), intent_at=intent_at)
        try:
            return self._record(done, finalize, defer, error, result, permanent)
        except Exception:
            if intent_at is not None:
                self._unsettled[item.idempotency_key] = (intent_at, error, result, permanent)
            raise

    @property
    def sender(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}/{threading.current_thread().name}"

    def _intend(self, item: OutboxItem, resend: str) -> float | None:
        """The intent's own commit: the row says a send is starting (and by whom).

        One UPDATE, no audit entry on the common path (the attempt's ``action`` entry comes
        with its result; an attempt that never recorded one is named by the
        ``action_in_doubt`` entry or by the ``action_attempt`` entry of its resend)."""
        now = time.time()
        params = {"key": item.idempotency_key, "ts": now, "by": self.sender[:200]}
        with self.store.write() as conn:
            if item.intent_at is None:
                n = _INTEND.run(conn, params)
            else:
                n = _INTEND_AGAIN.run(conn, {**params, "prev": item.intent_at})
            if n != 1:
                return None
            if resend:
                append(conn, [AuditEntry(item.event_id, item.integration, "action_attempt", {
                    "action": item.action, "idempotency_key": item.idempotency_key,
                    "attempt": item.attempts + 1, "by": self.sender, "in_doubt": True,
                    "resolution": "resent with the same key (" + (
                        "declared idempotent" if resend == "resend" else "asked first") + ")",
                    "previous_intent_at": item.intent_at,
                    "previous_intent_by": item.intent_by})], now=now)
        return now

    def _ask(self, item: OutboxItem, params: dict[str, Any], spec: Any,
             finalize: Callable[[Connection, str], list[AuditEntry]] | None,
             ) -> ActionOutcome | bool:
        """An in-doubt row whose receiver can be asked: its outcome if the answer settles it,
        else whether the next call is a real send (True) or only asks again (False)."""
        fn = self.handler(item.action)
        connector = getattr(fn, "connector", None)
        if connector is not None:  # the send ledger: it replays, verifies or refuses
            from seamline.connectors import SendLedger

            status = SendLedger(self.store, connector.name).status(item.idempotency_key)
            return status in (None, "failed")  # the vendor certainly did not act: a send
        if spec is not None and spec.reveal_pii:
            params = self.vault.reveal(item.event_id, params)
        verify = getattr(fn, "verify")  # noqa: B009 - an optional attribute of a plain function
        try:
            found = verify(params, idempotency_key=item.idempotency_key, since=item.intent_at)
        except Exception as exc:  # noqa: BLE001 - a receiver that cannot answer: a person
            return self._hold(item, finalize, f"{doubt_sentence(item, self.sender)}; asking "
                              f"the receiver failed: {type(exc).__name__}: {exc}")
        if found is None:
            return True  # the receiver says it did not act: sent again with the same key
        return self._record(item, finalize, False, "", {"verified": True, **dict(found)},
                            False, asked=True)

    def _record(self, item: OutboxItem,
                finalize: Callable[[Connection, str], list[AuditEntry]] | None, defer: bool,
                error: str, result: Any, permanent: bool, *, asked: bool = False) -> ActionOutcome:
        """The result's commit: status, result, the intent cleared, the audit entry."""
        now = time.time()
        attempts = item.attempts
        status = DONE if not error else (
            FAILED if permanent or (attempts >= MAX_ATTEMPTS and not defer) else PENDING)
        with self.store.write() as conn:
            _SETTLE.run(conn, {"key": item.idempotency_key, "new_status": status,
                               "attempts": attempts, "error": error, "ts": now,
                               "intent_at": None, "intent_by": "",
                               "result": None if error else json.dumps(result, ensure_ascii=False,
                                                                       default=str)})
            entries = [AuditEntry(item.event_id, item.integration, "action", {
                "action": item.action, "idempotency_key": item.idempotency_key,
                "params": json.loads(item.params), "status": status, "attempt": attempts,
                "error": error, **({"in_doubt": True, "resolution": "the receiver was asked: "
                                    "it had acted"} if asked else {})})]
            if finalize is not None:
                entries += finalize(conn, status)
            append(conn, entries, now=now)
        self._unsettled.pop(item.idempotency_key, None)
        return ActionOutcome(item.idempotency_key, item.action, status, error)

    def _hold(self, item: OutboxItem,
              finalize: Callable[[Connection, str], list[AuditEntry]] | None,
              sentence: str) -> ActionOutcome:
        """An in-doubt row waits for a person, its intent kept (that is what marks it)."""
        now = time.time()
        with self.store.write() as conn:
            n = conn.execute(update(outbox).where(
                outbox.c.idempotency_key == item.idempotency_key,
                outbox.c.status == PENDING).values(
                status=AWAITING, approval_reason=sentence[:2000], updated_at=now,
                intent_at=item.intent_at, intent_by=item.intent_by[:200])).rowcount
            if n != 1:
                return ActionOutcome(item.idempotency_key, item.action,
                                     self._status_of(item.idempotency_key, conn), "")
            entries = [AuditEntry(item.event_id, item.integration, "action_in_doubt", {
                "action": item.action, "idempotency_key": item.idempotency_key,
                "intent_at": item.intent_at, "intent_by": item.intent_by,
                "attempts": item.attempts, "resolution": "waits for a person",
                "reason": sentence})]
            if finalize is not None:
                entries += finalize(conn, AWAITING)
            append(conn, entries, now=now)
        return ActionOutcome(item.idempotency_key, item.action, AWAITING, sentence)

    def _void(self, item: OutboxItem,
              finalize: Callable[[Connection, str], list[AuditEntry]] | None) -> ActionOutcome:
        """An approved row whose parameters no longer match what was approved: not sent;
        it waits for a person again, the void grant cleared."""
        now = time.time()
        with self.store.write() as conn:
            n = conn.execute(update(outbox).where(
                outbox.c.idempotency_key == item.idempotency_key,
                outbox.c.status == PENDING, outbox.c.approved_digest == item.approved_digest)
                .values(status=AWAITING, approval_reason=VOID, approved_digest="",
                        updated_at=now)).rowcount
            if n != 1:
                return ActionOutcome(item.idempotency_key, item.action,
                                     self._status_of(item.idempotency_key, conn), "")
            entries = [AuditEntry(item.event_id, item.integration, "approval_void", {
                "action": item.action, "idempotency_key": item.idempotency_key,
                "approved_digest": item.approved_digest, "reason": VOID})]
            if finalize is not None:
                entries += finalize(conn, AWAITING)
            append(conn, entries, now=now)
        return ActionOutcome(item.idempotency_key, item.action, AWAITING, VOID)

    def _wait(self, item: OutboxItem,
              finalize: Callable[[Connection, str], list[AuditEntry]] | None,
              exc: CredentialsNeeded) -> ActionOutcome:
        """The row waits for its credential: not an attempt (nothing left), intent cleared."""
        now = time.time()
        with self.store.write() as conn:
            conn.execute(update(outbox).where(outbox.c.idempotency_key == item.idempotency_key)
                         .values(status=WAITING_CREDENTIALS, waiting_for=exc.credential[:100],
                                 attempts=item.attempts, last_error=str(exc)[:2000],
                                 intent_at=None, intent_by="", updated_at=now))
            entries = [AuditEntry(item.event_id, item.integration, "action", {
                "action": item.action, "idempotency_key": item.idempotency_key,
                "params": json.loads(item.params), "status": WAITING_CREDENTIALS,
                "attempt": item.attempts, "waiting_for": exc.credential, "error": str(exc)})]
            if finalize is not None:
                entries += finalize(conn, WAITING_CREDENTIALS)
            append(conn, entries, now=now)
        return ActionOutcome(item.idempotency_key, item.action, WAITING_CREDENTIALS, str(exc))

    def _note_recovery(self, action: str) -> None:
        """A call whose refresh fixed a failed credential releases the rows waiting for it
        (this integration's: they are the ones this runner can run; take_resumed)."""
        connector = getattr(self._handlers.get(action), "connector", None)
        oauth = getattr(connector, "oauth", None)
        if oauth is None or not oauth.recovered:
            return
        oauth.recovered = False
        self._resumed += resume_waiting(self.store, oauth.name, integration=self.integration.name)

    def take_resumed(self) -> list[tuple[str, str, str]]:
        """(integration, event id, path) of events whose actions were released since the
        last call, for the caller to finish."""
        taken, self._resumed = self._resumed, []
        return taken

    def _status_of(self, key: str, conn: Connection | None = None) -> str:
        q = select(outbox.c.status).where(outbox.c.idempotency_key == key)
        if conn is not None:
            return conn.execute(q).scalar_one()
        with self.store.read() as c:
            return c.execute(q).scalar_one()

    def run_event(self, event_id: str, items: list[OutboxItem] | None = None, *,
                  retry_delay: float = 0.05,
                  finalize: Callable[[Connection, list[str]], list[AuditEntry]] | None = None,
                  defer: bool = False) -> list[str]:
        """Run every pending action of an event, retrying failures a few times.

        Between passes it waits ``retry_delay * 2**n`` seconds at most (full jitter).

        ``items`` are the event's outbox rows when the caller has them (read otherwise).
        Returns the statuses of all the event's actions afterwards. ``finalize(conn,
        statuses)`` runs once no action is pending any more: inside the transaction of
        the action that settled last (the common case costs no extra commit).
        ``defer``: one pass only, failures left pending for the queue to retry later.
        """
        rows = items if items is not None else self.rows(event_id)
        statuses = {r.idempotency_key: r.status for r in rows}
        finalized = False
        # MAX_ATTEMPTS passes wait at most retry_delay * 2**(MAX_ATTEMPTS - 2): that is the cap.
        backoff = Backoff(retry_delay, retry_delay * 2 ** (MAX_ATTEMPTS - 2))
        for attempt in range(1 if defer else MAX_ATTEMPTS):
            if PENDING not in statuses.values():
                break
            if attempt:
                time.sleep(backoff.delay(attempt - 1))
                rows = self.rows(event_id)  # fresh attempt counts
            for row in [r for r in rows if statuses[r.idempotency_key] == PENDING]:
                def settle(conn: Connection, status: str, _key: str = row.idempotency_key):
                    nonlocal finalized
                    after = {**statuses, _key: status}
                    if finalize is None or PENDING in after.values():
                        return []
                    finalized = True
                    return finalize(conn, list(after.values()))
                statuses[row.idempotency_key] = self.execute(row, settle, defer=defer).status
        if finalize is not None and not finalized:
            with self.store.write() as conn:
                append(conn, finalize(conn, list(statuses.values())))
        return list(statuses.values())

    def rows(self, event_id: str) -> list[OutboxItem]:
        with self.store.read() as conn:
            found = conn.execute(select(outbox).where(outbox.c.event_id == event_id)
                                 .order_by(outbox.c.id)).all()
        return [OutboxItem(r.idempotency_key, r.event_id, r.integration, r.action, r.params,
                           r.status, r.attempts, r.intent_at, r.intent_by, r.approved_digest)
                for r in found]


_INSERT = FastStatement(insert(outbox).values(
    {c.name: bindparam(c.name) for c in outbox.c if c.name != "id"}))
_SETTLE = FastStatement(update(outbox).where(outbox.c.idempotency_key == bindparam("key")).values(
    status=bindparam("new_status"), attempts=bindparam("attempts"), last_error=bindparam("error"),
    updated_at=bindparam("ts"), result=bindparam("result"), intent_at=bindparam("intent_at"),
    intent_by=bindparam("intent_by")))


_INTEND = FastStatement(update(outbox).where(
    outbox.c.idempotency_key == bindparam("key"), outbox.c.status == PENDING,
    outbox.c.intent_at.is_(None)).values(
    intent_at=bindparam("ts"), intent_by=bindparam("by"), attempts=outbox.c.attempts + 1,
    updated_at=bindparam("ts")))
_INTEND_AGAIN = FastStatement(update(outbox).where(
    outbox.c.idempotency_key == bindparam("key"), outbox.c.status == PENDING,
    outbox.c.intent_at == bindparam("prev")).values(
    intent_at=bindparam("ts"), intent_by=bindparam("by"), attempts=outbox.c.attempts + 1,
    updated_at=bindparam("ts")))

DoubtPolicy = Literal["resend", "ask", "person"]


def clock(ts: float) -> str:
    """HH:MM:SS (UTC), as the in-doubt sentences name times."""
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S")


def doubt_sentence(item: OutboxItem, me: str) -> str:
    """"in doubt: may have run at 10:42:07, worker 1151 died" (or could not record it)."""
    at = clock(item.intent_at or time.time())
    by = item.intent_by
    pid = m.group(1) if (m := re.search(r":(\d+)(?:/|$)", by)) else (by or "?")
    if by.split("/")[0] == me.split("/")[0]:  # this very process: its result was not recorded
        return (f"in doubt: may have run at {at}, worker {pid} could not record the result "
                "(the store refused it)")
    return f"in doubt: may have run at {at}, worker {pid} died"


def in_doubt(row: Any) -> bool:
    """Whether an outbox row waits for a person because its effect may have happened."""
    return row.status == AWAITING and getattr(row, "intent_at", None) is not None


def resume_waiting(store: Store, credential: str, *,
                   integration: str | None = None) -> list[tuple[str, str, str]]:
    """Actions waiting for ``credential`` become pending again (it was fixed: re-authorized,
    or refreshed); returns (integration, event id, path) of their events, for the caller to
    finish (the pipeline's ``finish_actions``). ``integration``: only that one's actions."""
    where = [outbox.c.status == WAITING_CREDENTIALS, outbox.c.waiting_for == credential]
    if integration is not None:
        where.append(outbox.c.integration == integration)
    now = time.time()
    with store.write() as conn:
        found = conn.execute(select(outbox.c.event_id, outbox.c.integration, events.c.path)
                             .join(events, events.c.id == outbox.c.event_id)
                             .where(*where).order_by(outbox.c.id)).all()
        if not found:
            return []
        conn.execute(update(outbox).where(*where).values(status=PENDING, waiting_for="",
                                                         updated_at=now))
        seen: dict[str, tuple[str, str]] = {}
        for r in found:
            seen.setdefault(r.event_id, (r.integration, r.path or "ai"))
        append(conn, [AuditEntry(event_id, name, "resume", {
            "from_state": WAITING_CREDENTIALS, "credential": credential})
            for event_id, (name, _) in seen.items()], now=now)
    return [(name, event_id, path) for event_id, (name, path) in seen.items()]


def outbox_row(store: Store, outbox_id: int):
    with store.read() as conn:
        row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).first()
    if row is None:
        raise NotFound(f"There is no action with id {outbox_id}.")
    return row


def list_awaiting(store: Store, integration: str | None = None) -> Sequence[Row[Any]]:
    q = select(outbox, events.c.input, events.c.output).join(events, events.c.id == outbox.c.event_id)
    q = q.where(outbox.c.status == AWAITING)
    if integration:
        q = q.where(outbox.c.integration == integration)
    with store.read() as conn:
        return conn.execute(q.order_by(outbox.c.id)).all()


class EditRefused(SeamlineError):
    """A reviewer's edit changes something other than the action's declared parameters."""


def check_edit(params: dict[str, Any], edited: dict[str, Any]) -> dict[str, Any]:
    """The params after the edit, or EditRefused: only declared params, each keeping its kind.

    The declared params are those the outbox row holds (the ActionSpec planned every one).
    """
    unknown = sorted(set(edited) - set(params))
    if unknown:
        raise EditRefused(f"The edit changes {', '.join(map(repr, unknown))}, which the action "
                          f"does not declare; it may change only {', '.join(map(repr, params))}.")
    for name, value in edited.items():
        before = params[name]
        if before is not None and _kind(value) != _kind(before):
            raise EditRefused(f"The edit makes {name!r} a {_kind(value)}; it must stay a "
                              f"{_kind(before)}.")
    try:
        json.dumps(edited)
    except (TypeError, ValueError) as exc:
        raise EditRefused(f"The edited params are not plain JSON values: {exc}.") from exc
    return {**params, **edited}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "list", dict: "object", type(None): "null"}.get(
        type(value), type(value).__name__)


def decide(store: Store, outbox_id: int, *, approve: bool, reviewer: str, comment: str = "",
           edited_params: dict[str, Any] | None = None):
    """Record a reviewer's decision; an approved row becomes pending, ready to run.

    ``edited_params`` (approve only): the reviewer's changes to declared params; the audit
    entry keeps both versions. A rejection is also kept as an evaluation example.
    """
    row = outbox_row(store, outbox_id)
    if row.status != AWAITING:
        raise NotFound(f"Action {outbox_id} is not waiting for approval (it is {row.status}).")
    if in_doubt(row):  # approving an action in doubt sends it again; rejecting cancels it
        if edited_params:
            raise EditRefused("An action in doubt may already have run with its params: "
                              "resend it as it is, mark it done, or cancel it.")
        return resolve_in_doubt(store, outbox_id, "resend" if approve else "cancel",
                                reviewer=reviewer, comment=comment)
    if edited_params is not None and not approve:
        raise EditRefused("A rejected action cannot be edited: edit and approve, or reject.")
    before = json.loads(row.params)
    after = check_edit(before, edited_params) if edited_params else before
    now = time.time()
    status = PENDING if approve else REJECTED
    values: dict[str, Any] = {"status": status, "decided_by": reviewer, "comment": comment,
                              "updated_at": now}
    if approve:  # the grant: exactly these parameters, this action, this key
        values["approved_digest"] = action_digest(row.integration, row.action, after,
                                                  row.idempotency_key)
    detail: dict[str, Any] = {}
    if after != before:
        values["params"] = json.dumps(after, ensure_ascii=False, default=str)
        detail = {"edited": True, "params_before": before, "params_after": after}
    with store.write() as conn:
        res = conn.execute(update(outbox).where(outbox.c.id == outbox_id, outbox.c.status == AWAITING)
                           .values(**values))
        if res.rowcount != 1:
            raise NotFound(f"Action {outbox_id} was decided by someone else meanwhile.")
        append(conn, [AuditEntry(row.event_id, row.integration, "approval", {
            "outbox_id": outbox_id, "action": row.action, "decision": "approved" if approve else "rejected",
            "reviewer": reviewer, "comment": comment, **detail})], now=now)
        if not approve:
            _keep_as_example(conn, row, reviewer, comment, now)
    return outbox_row(store, outbox_id)


Resolution = Literal["resend", "done", "cancel"]


def resolve_in_doubt(store: Store, outbox_id: int, resolution: Resolution, *, reviewer: str,
                     comment: str = ""):
    """A person's verdict on an action in doubt (it may have run before its worker died).

    ``resend``: it did not take effect; it becomes pending and is sent again with the same
    key. ``done``: it took effect; it is recorded as done without sending. ``cancel``: it
    must not run (again); it is rejected. A connector's send ledger gets the same verdict.
    """
    row = outbox_row(store, outbox_id)
    if not in_doubt(row):
        raise NotFound(f"Action {outbox_id} is not in doubt (it is {row.status}); only an "
                       "action whose worker stopped between sending and recording waits here.")
    if resolution not in ("resend", "done", "cancel"):
        raise ValueError(f"unknown resolution {resolution!r}")
    now = time.time()
    status = {"resend": PENDING, "done": DONE, "cancel": REJECTED}[resolution]
    values: dict[str, Any] = {"status": status, "decided_by": reviewer, "comment": comment,
                              "updated_at": now, "intent_at": None, "intent_by": ""}
    if resolution == "done":
        values["result"] = json.dumps({"marked_done_by": reviewer, "comment": comment})
    from seamline.connectors import SendLedger, undecided_sends

    for send in undecided_sends(store):  # the connector's ledger must not refuse the resend
        if send.idempotency_key == row.idempotency_key and resolution != "cancel":
            SendLedger(store, send.connector).resolve(
                row.idempotency_key, sent=resolution == "done",
                note=f"outbox action {outbox_id} resolved by {reviewer}: {resolution}")
    with store.write() as conn:
        res = conn.execute(update(outbox).where(
            outbox.c.id == outbox_id, outbox.c.status == AWAITING,
            outbox.c.intent_at == row.intent_at).values(**values))
        if res.rowcount != 1:
            raise NotFound(f"Action {outbox_id} was resolved by someone else meanwhile.")
        append(conn, [AuditEntry(row.event_id, row.integration, "approval", {
            "outbox_id": outbox_id, "action": row.action, "in_doubt": True,
            "decision": {"resend": "resend", "done": "marked_done",
                         "cancel": "cancelled"}[resolution],
            "doubt": row.approval_reason, "intent_at": row.intent_at,
            "intent_by": row.intent_by, "reviewer": reviewer, "comment": comment})], now=now)
    return outbox_row(store, outbox_id)


def _keep_as_example(conn: Connection, row: Any, reviewer: str, comment: str, now: float) -> None:
    """A rejection is a labelled mistake: keep what the model saw and said for the eval harness."""
    event = conn.execute(select(events.c.input, events.c.output)
                         .where(events.c.id == row.event_id)).first()
    conn.execute(insert(eval_examples).values(
        integration=row.integration, event_id=row.event_id, outbox_id=row.id, action=row.action,
        input=event.input if event else None, output=event.output if event else None,
        params=row.params, reviewer=reviewer, comment=comment, created_at=now))


def rejections_as_examples(store: Store, integration: str | None = None) -> list[dict[str, Any]]:
    """Every rejected action as an evaluation example (redacted input, output, the reviewer's why)."""
    q = select(eval_examples).order_by(eval_examples.c.id)
    if integration:
        q = q.where(eval_examples.c.integration == integration)
    with store.read() as conn:
        rows = conn.execute(q).all()
    return [{"integration": r.integration, "event_id": r.event_id, "outbox_id": r.outbox_id,
             "action": r.action, "input": json.loads(r.input) if r.input else None,
             "output": json.loads(r.output) if r.output else None,
             "params": json.loads(r.params), "reviewer": r.reviewer, "comment": r.comment,
             "created_at": r.created_at} for r in rows]
