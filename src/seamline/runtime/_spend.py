"""What an event may spend: estimates reserved under the caps before each paid call, and
the real cost settled afterwards.

A collaborator of the stages that call the model (the first call, each repair, the
grounding checks' calls): nothing is sent that the caps have not reserved. The first call
of an event meets the soft caps too: past one, the event is reserved for, and recorded as
running on, the ``over_soft`` route or the baseline. Alerts at shares of the hard caps are
claimed in the transactions that move the counters and raised once those have committed
(``announce``), so a rolled-back claim never alerts and racing workers alert once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Connection

from seamline.alerts import Alert, raise_alert
from seamline.inference import (
    AlertClaim,
    BudgetLedger,
    BudgetRefusal,
    CostReservation,
    Message,
    take_announcements,
)
from seamline.ingest import TokenCounter
from seamline.integration import Integration, ModelRoute
from seamline.store import FastStatement, Store
from seamline.store.tables import events

BUDGET_ALERT = "budget"


@dataclass
class CallLog:
    """The paid calls of one event as they happen: the inference stage's scratchpad, frozen
    into an :class:`Inference` when the stage ends."""

    tenant: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    reservations: list[CostReservation] = field(default_factory=list)
    cost_usd: float = 0.0


class Spend:
    """The caps of one integration, reserved and settled against the store.

    ``route``: the route whose calls this one estimates (None: the integration's model);
    :meth:`for_route` makes the over_soft route's, sharing the same counters.
    """

    def __init__(self, integration: Integration, store: Store, counter: TokenCounter, *,
                 route: ModelRoute | None = None, ledger: BudgetLedger | None = None) -> None:
        self.integration = integration
        self.ledger = ledger or BudgetLedger(integration)
        self.store, self.counter, self.route = store, counter, route

    def for_route(self, route: ModelRoute) -> Spend:
        """The same caps, estimating calls at ``route``'s prices and output cap."""
        return Spend(self.integration, self.store, self.counter, route=route, ledger=self.ledger)

    def reserve(self, conn: Connection, tokens: int, tenant: str,
                now: float | None = None) -> CostReservation | BudgetRefusal:
        """The worst case of a call with ``tokens`` of prompt under the hard caps, inside the
        caller's transaction."""
        return self.ledger.reserve(conn, self.ledger.estimate(tokens, self.route), tenant, now)

    def reserve_event(self, conn: Connection, tokens: int, tenant: str, now: float | None = None,
                      *, user: str = "") -> CostReservation | BudgetRefusal:
        """An event's first call under the soft caps, then the hard caps (see
        ``BudgetLedger.reserve_event``): the reservation says when it runs degraded."""
        return self.ledger.reserve_event(conn, tokens, tenant, now, user=user)

    def reserve_call(self, messages: Iterable[Message],
                     tenant: str) -> CostReservation | BudgetRefusal:
        """The worst case of one more call with these messages, in its own transaction."""
        tokens = sum(self.counter.count(m.content) for m in messages)
        with self.store.write() as conn:
            return self.reserve(conn, tokens, tenant)

    def settle(self, conn: Connection, first: CostReservation | BudgetRefusal | None,
               extra: Iterable[CostReservation], cost_usd: float, now: float | None = None) -> None:
        """Replace every estimate reserved for an event's calls (the first and each extra
        one) by what the calls cost: the counters end at the real spend. The first goes
        first: its soft counters come before the hard ones, the order every transaction
        locks them in. Then the shares of the hard caps now reached are claimed."""
        ts = time.time() if now is None else now
        scopes: list[str] = []
        if isinstance(first, CostReservation):
            self.ledger.reconcile(conn, first, cost_usd, ts)
            scopes += first.scopes
        for reservation in extra:
            self.ledger.reconcile(conn, reservation, 0.0, ts)
            scopes += reservation.scopes
        self.ledger.claim_crossed(conn, tuple(dict.fromkeys(scopes)), ts)

    def over_soft(self, conn: Connection, event_id: str, reservation: CostReservation,
                  now: float) -> dict[str, Any]:
        """Record on the event's row that a soft cap sent it elsewhere (``path`` baseline,
        or ``model`` the cheaper route's), and return the audit's account of it."""
        over = reservation.over_soft
        if over is None:
            return {}
        _DEGRADED.run(conn, {"eid": event_id, "ts": now,
                             "new_path": "baseline" if over.baseline else "ai",
                             "new_model": "" if over.baseline else over.route})
        return over.as_dict()

    def announce(self) -> list[AlertClaim]:
        """Raise the alerts this thread's committed transactions claimed (and any a stopped
        process left claimed): each once, however many processes race. Never raises."""
        local = self.ledger.local
        if not getattr(local, "pending", False):
            return []
        local.pending = False
        try:
            with self.store.write() as conn:
                claims = take_announcements(conn, self.integration.name)
        except Exception:  # noqa: BLE001 - an alert must not fail the event that raised it
            local.pending = True
            return []
        for claim in claims:
            raise_alert(self.store, alert_of(claim))
        return claims


def alert_of(claim: AlertClaim) -> Alert:
    """The alert raised for one claimed share: critical once a cap refuses or is spent."""
    severity = "critical" if claim.reason == "refused" or claim.share >= 1 else "warning"
    if claim.reason == "over_soft":
        severity = "warning"
    return Alert(BUDGET_ALERT, claim.sentence, severity, {
        "integration": claim.integration, "cap": claim.cap, "scope": claim.scope,
        "share": f"{claim.share:g}", "reason": claim.reason,
        "spent_usd": f"{claim.spent_usd:.6f}", "cap_usd": f"{claim.cap_usd:.6f}"})


_DEGRADED = FastStatement(update(events).where(events.c.id == bindparam("eid")).values(
    path=bindparam("new_path"), model=bindparam("new_model"), updated_at=bindparam("ts")))
