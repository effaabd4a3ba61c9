"""Layer 3, inference: cost caps checked before the call, by reserving its estimate.

A reservation raises each capped counter atomically (``spent + estimate <= cap``
in one UPDATE), so concurrent workers cannot both squeeze under the same cap.
After the call the reservation is reconciled to the real cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Connection, bindparam, update

from seamline.integration import Integration
from seamline.store._fast import FastStatement
from seamline.store._sql import insert_ignore
from seamline.store._tables import budget_counters


_c = budget_counters.c
# One atomic statement per cap: the row is raised only if it stays under the cap.
_RESERVE = FastStatement(
    update(budget_counters)
    .where(_c.scope == bindparam("s"), _c.spent_usd + bindparam("amount") <= bindparam("cap"))
    .values(spent_usd=_c.spent_usd + bindparam("amount2"), cap_usd=bindparam("new_cap"),
            updated_at=bindparam("ts")))
_ADJUST = FastStatement(
    update(budget_counters).where(_c.scope == bindparam("s"))
    .values(spent_usd=_c.spent_usd + bindparam("delta"), updated_at=bindparam("ts")))


@dataclass(frozen=True, slots=True)
class CostReservation:
    amount_usd: float
    scopes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BudgetRefusal:
    """Why a call was not sent: which cap, what it allows, what was asked."""

    cap: str
    cap_usd: float
    estimate_usd: float

    @property
    def reason(self) -> str:
        return (f"the {self.cap} cap of ${self.cap_usd:.4f} would be crossed by this call "
                f"(estimated ${self.estimate_usd:.6f}); it was not sent")


def price(integration: Integration, input_tokens: int, output_tokens: int) -> float:
    m = integration.model
    return (input_tokens * m.input_usd_per_mtok + output_tokens * m.output_usd_per_mtok) / 1e6


class BudgetLedger:
    """The caps of one integration: per call, per tenant per day, per day, per month."""

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        b = integration.model.budgets
        self.per_call = b.per_call_usd
        self.caps: list[tuple[str, str, float]] = []  # (label, scope template, cap)
        name = integration.name
        if b.daily_usd is not None:
            self.caps.append(("daily", name + "|day|{day}", b.daily_usd))
        if b.per_tenant_daily_usd is not None:
            self.caps.append(("per-tenant daily", name + "|tenant|{tenant}|{day}", b.per_tenant_daily_usd))
        ceiling = integration.checklist.monthly_cost_ceiling_usd
        if ceiling is not None:
            self.caps.append(("monthly", name + "|month|{month}", ceiling))

    def estimate(self, input_tokens: int) -> float:
        return price(self.integration, input_tokens, self.integration.model.max_output_tokens)

    def reserve(self, conn: Connection, amount: float, tenant: str,
                now: float | None = None) -> CostReservation | BudgetRefusal:
        """Reserve ``amount`` under every cap, or reserve nothing and say which cap refused."""
        if self.per_call is not None and amount > self.per_call:
            return BudgetRefusal("per-call", self.per_call, amount)
        if amount <= 0 or not self.caps:
            return CostReservation(amount, ())
        ts = time.time() if now is None else now
        day = datetime.fromtimestamp(ts, timezone.utc)
        keys = {"day": day.strftime("%Y-%m-%d"), "month": day.strftime("%Y-%m"), "tenant": tenant or "-"}
        taken: list[str] = []
        for label, template, cap in self.caps:
            scope = template.format(**keys)
            insert_ignore(conn, budget_counters,
                          {"scope": scope, "cap_usd": cap, "spent_usd": 0.0, "updated_at": ts})
            if _RESERVE.run(conn, {"s": scope, "amount": amount, "amount2": amount,
                                   "cap": cap + 1e-12, "new_cap": cap, "ts": ts}) != 1:
                self._adjust(conn, taken, -amount, ts)
                return BudgetRefusal(label, cap, amount)
            taken.append(scope)
        return CostReservation(amount, tuple(taken))

    def reconcile(self, conn: Connection, reservation: CostReservation, actual_usd: float,
                  now: float | None = None) -> None:
        """Replace the estimate by what the call really cost."""
        delta = actual_usd - reservation.amount_usd
        if reservation.scopes and delta:
            self._adjust(conn, reservation.scopes, delta, time.time() if now is None else now)

    @staticmethod
    def _adjust(conn: Connection, scopes, delta: float, ts: float) -> None:
        for scope in scopes:
            _ADJUST.run(conn, {"s": scope, "delta": delta, "ts": ts})
