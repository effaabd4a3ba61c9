"""What an event may spend: estimates reserved under the caps before each paid call, and
the real cost settled afterwards.

A collaborator of the stages that call the model (the first call, each repair, the
grounding checks' calls): nothing is sent that the caps have not reserved.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from seamline.inference import BudgetLedger, BudgetRefusal, CostReservation, Message
from seamline.ingest import TokenCounter
from seamline.integration import Integration
from seamline.store import Store


@dataclass
class CallLog:
    """The paid calls of one event as they happen: the inference stage's scratchpad, frozen
    into an :class:`Inference` when the stage ends."""

    tenant: str
    calls: list[dict[str, Any]] = field(default_factory=list)
    reservations: list[CostReservation] = field(default_factory=list)
    cost_usd: float = 0.0


class Spend:
    """The caps of one integration, reserved and settled against the store."""

    def __init__(self, integration: Integration, store: Store, counter: TokenCounter) -> None:
        self.ledger = BudgetLedger(integration)
        self.store, self.counter = store, counter

    def reserve(self, conn: Connection, tokens: int, tenant: str,
                now: float | None = None) -> CostReservation | BudgetRefusal:
        """The worst case of a call with ``tokens`` of prompt, inside the caller's transaction."""
        return self.ledger.reserve(conn, self.ledger.estimate(tokens), tenant, now)

    def reserve_call(self, messages: Iterable[Message],
                     tenant: str) -> CostReservation | BudgetRefusal:
        """The worst case of one more call with these messages, in its own transaction."""
        tokens = sum(self.counter.count(m.content) for m in messages)
        with self.store.write() as conn:
            return self.reserve(conn, tokens, tenant)

    def settle(self, conn: Connection, first: CostReservation | BudgetRefusal | None,
               extra: Iterable[CostReservation], cost_usd: float, now: float | None = None) -> None:
        """Replace every estimate reserved for an event's calls (the first and each extra
        one) by what the calls cost: the counters end at the real spend."""
        ts = time.time() if now is None else now
        for reservation in extra:
            self.ledger.reconcile(conn, reservation, 0.0, ts)
        if isinstance(first, CostReservation):
            self.ledger.reconcile(conn, first, cost_usd, ts)
