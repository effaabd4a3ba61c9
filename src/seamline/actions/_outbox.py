"""Layer 5, actions: the outbox, source of truth for what must be done.

Rows are written in the same transaction as the event's output; executing one
passes its idempotency key downstream, so a retry after a crash never acts twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from seamline.actions._plan import PlannedAction
from seamline.audit import AuditEntry, append
from seamline.backoff import Backoff
from seamline.connectors import connector_handler, is_connector_ref
from seamline.errors import ConfigError, NotFound, SeamlineError
from seamline.integration import Integration, resolve
from seamline.store import FastStatement, Store
from seamline.store.tables import eval_examples, events, outbox

PENDING, AWAITING, DONE, FAILED, REJECTED = "pending", "awaiting_approval", "done", "failed", "rejected"
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


def write_outbox(conn: Connection, *, event_id: str, integration: str,
                 planned: list[PlannedAction], now: float) -> list[OutboxItem]:
    """Insert the planned actions (same transaction as the output) and return them as items."""
    rows: list[dict[str, Any]] = [
        {"idempotency_key": p.key, "event_id": event_id, "integration": integration,
         "action": p.name, "params": json.dumps(p.params, ensure_ascii=False, default=str),
         "status": AWAITING if p.approval_reason else PENDING,
         "approval_reason": p.approval_reason, "attempts": 0, "last_error": "", "result": None,
         "decided_by": "", "comment": "", "created_at": now, "updated_at": now}
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

    def handler(self, name: str) -> Callable[..., Any]:
        fn = self._handlers.get(name)
        if fn is None:
            spec = self.specs.get(name)
            if spec is None:
                raise ConfigError(f"Action {name!r} is no longer declared by integration "
                                  f"{self.integration.name!r}.")
            if is_connector_ref(spec.handler):  # a built-in or installed connector
                fn = connector_handler(spec.handler, spec.connector, store=self.store)
            else:
                fn = resolve(spec.handler, base=self._base, what=f"handler of {name}")
            self._handlers[name] = fn
        return fn

    def execute(self, item: OutboxItem,
                finalize: Callable[[Connection, str], list[AuditEntry]] | None = None, *,
                defer: bool = False) -> ActionOutcome:
        """Run one pending row and record the outcome; never raises for a handler failure.

        ``finalize(conn, status)`` runs inside the same transaction and returns audit
        entries to add, so the event's final state is settled with the last action's commit.
        ``defer``: a failure leaves the row pending whatever its attempts (a worker's queue
        retries it later, with a backoff).
        """
        spec = self.specs.get(item.action)
        params = json.loads(item.params)
        error, result, permanent = "", None, False
        try:
            if spec is not None and spec.reveal_pii:
                params = self.vault.reveal(item.event_id, params)
            result = self.handler(item.action)(params, idempotency_key=item.idempotency_key)
        except Exception as exc:  # noqa: BLE001 - a handler's failure is data, kept in the outbox
            error = f"{type(exc).__name__}: {exc}"[:2000]
            # An error that says retrying cannot help (a connector's rejection, bad params,
            # an unknown outcome waiting for a person) fails now instead of trying again.
            permanent = getattr(exc, "retryable", None) is False
        now = time.time()
        attempts = item.attempts + 1
        status = DONE if not error else (
            FAILED if permanent or (attempts >= MAX_ATTEMPTS and not defer) else PENDING)
        with self.store.write() as conn:
            _SETTLE.run(conn, {"key": item.idempotency_key, "new_status": status,
                               "attempts": attempts, "error": error, "ts": now,
                               "result": None if error else json.dumps(result, ensure_ascii=False,
                                                                       default=str)})
            entries = [AuditEntry(item.event_id, item.integration, "action", {
                "action": item.action, "idempotency_key": item.idempotency_key,
                "params": json.loads(item.params), "status": status, "attempt": attempts,
                "error": error})]
            if finalize is not None:
                entries += finalize(conn, status)
            append(conn, entries, now=now)
        return ActionOutcome(item.idempotency_key, item.action, status, error)

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
                           r.status, r.attempts) for r in found]


_INSERT = FastStatement(insert(outbox).values(
    {c.name: bindparam(c.name) for c in outbox.c if c.name != "id"}))
_SETTLE = FastStatement(update(outbox).where(outbox.c.idempotency_key == bindparam("key")).values(
    status=bindparam("new_status"), attempts=bindparam("attempts"), last_error=bindparam("error"),
    updated_at=bindparam("ts"), result=bindparam("result")))


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
    if edited_params is not None and not approve:
        raise EditRefused("A rejected action cannot be edited: edit and approve, or reject.")
    before = json.loads(row.params)
    after = check_edit(before, edited_params) if edited_params else before
    now = time.time()
    status = PENDING if approve else REJECTED
    values: dict[str, Any] = {"status": status, "decided_by": reviewer, "comment": comment,
                              "updated_at": now}
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
