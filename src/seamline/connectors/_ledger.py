"""Our side of "act once" for vendors without an idempotency key (Slack, HubSpot, Zendesk, SMTP).

Each send is recorded as ``sending`` before it leaves and ``sent`` (with the reply)
after; a retry with the same key replays ``sent``, sends again after ``failed`` (the
vendor certainly did not act), and after ``sending``/``unknown`` (a crash or an
ambiguous reply) asks the vendor whether it acted, or refuses for a person to decide.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Row, select, update

from seamline.connectors._errors import ConnectorError, OutcomeUnknown
from seamline.errors import NotFound
from seamline.store import Store, insert_ignore
from seamline.store.tables import connector_sends

SENDING, SENT, FAILED, UNKNOWN = "sending", "sent", "failed", "unknown"

Verify = Callable[[float], "dict[str, Any] | None"]


class SendLedger:
    """The ``connector_sends`` rows of one connector."""

    def __init__(self, store: Store, connector: str) -> None:
        self.store, self.connector = store, connector

    def once(self, key: str, send: Callable[[], dict[str, Any]], *,
             verify: Verify | None = None, what: str = "send") -> dict[str, Any]:
        """Run ``send`` at most once per key to effect; return its (or the recorded) reply.

        ``verify(since)`` asks the vendor whether an attempt since that time acted, and
        returns the reply to record if it did, None if it did not show up.
        """
        previous = self._claim(key)
        if previous is not None:
            status, reply, since = previous
            if status == SENT:
                return json.loads(reply) if reply else {}
            recovered = verify(since) if verify is not None else None
            if recovered is not None:
                self._settle(key, SENT, recovered)
                return recovered
            why = ("the previous attempt was interrupted before its outcome was recorded"
                   if status == SENDING else f"the previous attempt ended ambiguously ({reply})")
            check = ("and the vendor shows no trace of it" if verify is not None
                     else "and this vendor offers no way to check")
            raise OutcomeUnknown(
                f"{self.connector} {what} with idempotency key {key!r} may already have been "
                f"done: {why}, {check}. Sending again could act twice, so it was not sent; "
                "check the vendor and then resolve the action by hand.",
                connector=self.connector)
        try:
            result = send()
        except ConnectorError as exc:
            self._settle(key, FAILED if exc.sent is False else UNKNOWN, str(exc)[:1000])
            raise
        except BaseException as exc:
            self._settle(key, UNKNOWN, f"{type(exc).__name__}: {exc}"[:1000])
            raise
        self._settle(key, SENT, result)
        return result

    def resolve(self, key: str, *, sent: bool, note: str = "") -> None:
        """A person's verdict on an ambiguous send: it acted (``sent``) or it may be sent again."""
        with self.store.write() as conn:
            done = conn.execute(update(connector_sends).where(
                connector_sends.c.connector == self.connector,
                connector_sends.c.idempotency_key == key,
                connector_sends.c.status.in_((SENDING, UNKNOWN))).values(
                status=SENT if sent else FAILED,
                reply=json.dumps({"resolved_by_hand": True, "note": note}),
                updated_at=time.time()))
        if done.rowcount != 1:
            raise NotFound(f"{self.connector} has no send with idempotency key {key!r} waiting "
                           "for a decision (only 'sending' or 'unknown' ones do).")

    def status(self, key: str) -> str | None:
        with self.store.read() as conn:
            row = conn.execute(select(connector_sends.c.status).where(
                connector_sends.c.connector == self.connector,
                connector_sends.c.idempotency_key == key)).first()
        return row.status if row else None

    def _claim(self, key: str) -> tuple[str, str | None, float] | None:
        """None when this attempt may send (the row now says ``sending``), else the earlier row."""
        now = time.time()
        where = (connector_sends.c.connector == self.connector,
                 connector_sends.c.idempotency_key == key)
        with self.store.write() as conn:
            if insert_ignore(conn, connector_sends, {
                    "connector": self.connector, "idempotency_key": key, "status": SENDING,
                    "reply": None, "attempts": 1, "updated_at": now}):
                return None
            # Only a definite failure may be sent again; the conditional update makes one
            # of two concurrent retries the sender.
            taken = conn.execute(update(connector_sends).where(
                *where, connector_sends.c.status == FAILED).values(
                status=SENDING, attempts=connector_sends.c.attempts + 1, updated_at=now))
            if taken.rowcount == 1:
                return None
            row = conn.execute(select(connector_sends).where(*where)).one()
            conn.execute(update(connector_sends).where(*where).values(
                attempts=connector_sends.c.attempts + 1))
        return row.status, row.reply, row.updated_at

    def _settle(self, key: str, status: str, reply: Any) -> None:
        text = reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False, default=str)
        with self.store.write() as conn:
            conn.execute(update(connector_sends).where(
                connector_sends.c.connector == self.connector,
                connector_sends.c.idempotency_key == key).values(
                status=status, reply=text, updated_at=time.time()))


def undecided_sends(store: Store) -> Sequence[Row[Any]]:
    """Sends whose outcome nobody knows (interrupted or ambiguous), oldest first."""
    with store.read() as conn:
        return conn.execute(select(connector_sends).where(
            connector_sends.c.status.in_((SENDING, UNKNOWN)))
            .order_by(connector_sends.c.updated_at)).all()
