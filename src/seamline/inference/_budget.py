"""Layer 3, inference: cost caps checked before the call, by reserving its estimate.

A reservation raises each capped counter atomically (``spent + estimate <= cap``
in one UPDATE), so concurrent workers cannot both squeeze under the same cap.
After the call the reservation is reconciled to the real cost. Prices come from
``_pricing.py``.
"""

from __future__ import annotations

import calendar
import math
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from seamline.errors import ConfigError
from seamline.inference._pricing import PriceTable, price_usage, route_price
from seamline.inference._types import Usage
from seamline.integration import Integration
from seamline.store import FastStatement, insert_ignore
from seamline.store.tables import budget_counters, events

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


GLOBAL_DAILY_ENV = "SEAMLINE_GLOBAL_DAILY_USD"
GLOBAL_DAILY_SCOPE = "*|day|{day}"  # "*" is never an integration name
_FROM_ENV: Any = object()

__all__ = [
    "GLOBAL_DAILY_ENV",
    "BudgetLedger",
    "BudgetRefusal",
    "CapUsage",
    "CostReservation",
    "SpendReport",
    "SpendRow",
    "global_daily_cap",
    "price",
    "price_usage",
    "spend_report",
]


def price(integration: Integration, input_tokens: int, output_tokens: int) -> float:
    """Dollars for uncached input and output tokens (see ``price_usage`` for cache tokens)."""
    return price_usage(integration, Usage(input_tokens, output_tokens))


def global_daily_cap() -> float | None:
    """The cap across every integration per UTC day, from ``SEAMLINE_GLOBAL_DAILY_USD``."""
    raw = os.environ.get(GLOBAL_DAILY_ENV, "").strip()
    if not raw:
        return None
    try:
        cap = float(raw)
    except ValueError:
        cap = -1.0
    if not math.isfinite(cap) or cap < 0:
        raise ConfigError(f"{GLOBAL_DAILY_ENV} must be a non-negative number of dollars, "
                          f"not {raw!r}.")
    return cap


class BudgetLedger:
    """The caps of one integration: per call, per tenant per day, per day, per month,
    and the global cap across all integrations per day.

    ``global_daily_usd`` defaults to ``SEAMLINE_GLOBAL_DAILY_USD``; pass None for no
    global cap. ``prices`` defaults to the shipped table and its ``SEAMLINE_PRICES`` overlay.
    A model with no price is refused here, before any event reaches it.
    """

    def __init__(self, integration: Integration, *, global_daily_usd: float | None = _FROM_ENV,
                 prices: PriceTable | None = None) -> None:
        self.integration = integration
        self.prices = prices
        route_price(integration.model, prices)  # fail now, with a clear ConfigError
        if global_daily_usd is _FROM_ENV:
            global_daily_usd = global_daily_cap()
        b = integration.model.budgets
        self.per_call = b.per_call_usd
        self.caps: list[tuple[str, str, float]] = []  # (label, scope template, cap)
        name = integration.name
        if b.daily_usd is not None:
            self.caps.append(("daily", name + "|day|{day}", b.daily_usd))
        if b.per_tenant_daily_usd is not None:
            self.caps.append(("per-tenant daily", name + "|tenant|{tenant}|{day}", b.per_tenant_daily_usd))
        if global_daily_usd is not None:
            self.caps.append(("global daily", GLOBAL_DAILY_SCOPE, global_daily_usd))
        ceiling = integration.checklist.monthly_cost_ceiling_usd
        if ceiling is not None:
            self.caps.append(("monthly", name + "|month|{month}", ceiling))

    def estimate(self, input_tokens: int) -> float:
        """The worst case of a call: every prompt token at its dearest rate, every output token used."""
        p = route_price(self.integration.model, self.prices)
        return (input_tokens * p.worst_input
                + self.integration.model.max_output_tokens * p.output) / 1e6

    def reserve(self, conn: Connection, amount: float, tenant: str,
                now: float | None = None) -> CostReservation | BudgetRefusal:
        """Reserve ``amount`` under every cap, or reserve nothing and say which cap refused."""
        if self.per_call is not None and amount > self.per_call:
            return BudgetRefusal("per-call", self.per_call, amount)
        if amount <= 0 or not self.caps:
            return CostReservation(amount, ())
        ts = time.time() if now is None else now
        day = datetime.fromtimestamp(ts, UTC)
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


# ---- what was spent: the report behind `seamline costs` -------------------------------------

BREAKDOWNS = ("integration", "tenant", "model", "day")


@dataclass(frozen=True, slots=True)
class SpendRow:
    key: str
    events: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class CapUsage:
    """One cap's counter for the current day or month; ``spent_usd`` includes open reservations."""

    scope: str
    cap: str  # the refusal's label: "daily", "per-tenant daily", "global daily", "monthly"
    integration: str  # "*" for the global cap
    tenant: str
    spent_usd: float
    cap_usd: float


@dataclass(frozen=True, slots=True)
class SpendReport:
    """Spend of model calls over the last ``days`` UTC days, and this month's projection."""

    days: int
    since: str  # first day in the window, YYYY-MM-DD
    by: dict[str, tuple[SpendRow, ...]]  # breakdown -> rows, dearest first (days in order)
    total_usd: float
    month: str  # YYYY-MM
    month_to_date_usd: float
    month_projection_usd: float
    month_by_integration: dict[str, float]
    caps: tuple[CapUsage, ...]


def spend_report(conn: Connection, days: int = 31, now: float | None = None) -> SpendReport:
    """Read the events' recorded costs and the cap counters; UTC days throughout."""
    ts = time.time() if now is None else now
    today = datetime.fromtimestamp(ts, UTC).date()
    since = today - timedelta(days=max(days, 1) - 1)
    month_start = today.replace(day=1)
    start = min(since, month_start)
    e = events.c
    if conn.dialect.name == "postgresql":
        day = func.to_char(func.timezone("UTC", func.to_timestamp(e.created_at)), "YYYY-MM-DD")
    else:
        day = func.strftime("%Y-%m-%d", e.created_at, "unixepoch")
    start_ts = datetime.combine(start, datetime.min.time(), UTC).timestamp()
    rows = conn.execute(
        select(e.integration, e.tenant, e.model, day.label("day"), func.count(),
               func.coalesce(func.sum(e.cost_usd), 0.0))
        .where(e.created_at >= start_ts, e.model != "")
        .group_by(e.integration, e.tenant, e.model, day)).all()
    since_s, month_s = since.isoformat(), month_start.isoformat()
    sums: dict[str, dict[str, list[float]]] = {b: {} for b in BREAKDOWNS}
    month_by: dict[str, float] = {}
    total = 0.0
    for integration, tenant, model, d, n, usd in rows:
        usd = float(usd)
        if d >= month_s:
            month_by[integration] = month_by.get(integration, 0.0) + usd
        if d < since_s:
            continue
        total += usd
        for b, key in zip(BREAKDOWNS, (integration, tenant or "-", model, d)):
            acc = sums[b].setdefault(key, [0, 0.0])
            acc[0] += n
            acc[1] += usd
    by = {}
    for b, groups in sums.items():
        order = (lambda kv: kv[0]) if b == "day" else (lambda kv: (-kv[1][1], kv[0]))
        by[b] = tuple(SpendRow(k, int(n), usd) for k, (n, usd) in sorted(groups.items(), key=order))
    mtd = sum(month_by.values())
    in_month = calendar.monthrange(today.year, today.month)[1]
    return SpendReport(
        days=max(days, 1), since=since_s, by=by, total_usd=total, month=today.strftime("%Y-%m"),
        month_to_date_usd=mtd, month_projection_usd=mtd / today.day * in_month,
        month_by_integration=month_by, caps=_cap_usage(conn, today.isoformat(), month_s[:7]))


def _cap_usage(conn: Connection, day: str, month: str) -> tuple[CapUsage, ...]:
    out = []
    for scope, spent_usd, cap_usd in conn.execute(
            select(_c.scope, _c.spent_usd, _c.cap_usd).order_by(_c.scope)):
        parts = scope.split("|")
        if len(parts) < 3 or parts[-1] not in (day, month):
            continue
        integration, kind = parts[0], parts[1]
        tenant = "|".join(parts[2:-1])
        cap = {"day": "global daily" if integration == "*" else "daily",
               "tenant": "per-tenant daily", "month": "monthly"}.get(kind, kind)
        out.append(CapUsage(scope, cap, integration, tenant, float(spent_usd), float(cap_usd)))
    return tuple(out)
