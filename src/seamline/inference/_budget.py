"""Layer 3, inference: cost caps checked before the call, by reserving its estimate.

A reservation raises each capped counter atomically (``spent + estimate <= cap``
in one UPDATE), so concurrent workers cannot both squeeze under the same cap.
After the call the reservation is reconciled to the real cost. Prices come from
``_pricing.py``.

Soft caps (per end user and per tenant per day) use the same atomic reservation, but a
soft cap that would be crossed does not refuse: the event is reserved, and runs, on the
``over_soft`` route (or the baseline). Alerts at shares of the hard caps are claimed in
the transaction that moves a counter, one row per scope and share (``budget_alerts``), so
racing workers claim each once; the runtime raises them after the commit.
"""

from __future__ import annotations

import calendar
import math
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from seamline.errors import ConfigError
from seamline.inference._pricing import PriceTable, price_usage, route_price
from seamline.inference._types import Usage
from seamline.integration import Integration, ModelRoute
from seamline.store import FastStatement, insert_ignore
from seamline.store.tables import budget_alerts, budget_counters, events

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
class OverSoftCap:
    """Why an event runs degraded: the soft cap its worst case would have crossed, the
    day's spend it had reached, and where the event runs instead."""

    cap: str  # "per-user soft daily" | "per-tenant soft daily"
    scope: str
    spent_usd: float
    cap_usd: float
    estimate_usd: float  # the primary route's worst case, which did not fit
    route: str  # "baseline", or the model of the cheaper route

    @property
    def baseline(self) -> bool:
        return self.route == BASELINE

    @property
    def reason(self) -> str:
        where = "the baseline" if self.baseline else f"the cheaper route {self.route}"
        return (f"the {self.cap} cap of ${self.cap_usd:.4f} (spent today ${self.spent_usd:.6f}) "
                f"would be crossed by this event (estimated ${self.estimate_usd:.6f}); it runs "
                f"on {where}")

    def as_dict(self) -> dict[str, Any]:
        """The audit's account of the degrade (the ``budget`` entry)."""
        return {"over_soft": {"cap": self.cap, "cap_usd": self.cap_usd,
                              "spent_usd": round(self.spent_usd, 9),
                              "estimate_usd": self.estimate_usd, "route": self.route,
                              "reason": self.reason}}


@dataclass(frozen=True, slots=True)
class CostReservation:
    amount_usd: float
    scopes: tuple[str, ...]
    # Set when a soft cap sent the event to the over_soft route or the baseline.
    over_soft: OverSoftCap | None = None


@dataclass(frozen=True, slots=True)
class BudgetRefusal:
    """Why a call was not sent: which cap, what it allows, what was asked."""

    cap: str
    cap_usd: float
    estimate_usd: float
    scope: str = ""  # the counter that refused ("" for the per-call cap, which has none)

    @property
    def reason(self) -> str:
        return (f"the {self.cap} cap of ${self.cap_usd:.4f} would be crossed by this call "
                f"(estimated ${self.estimate_usd:.6f}); it was not sent")


BASELINE = "baseline"
SOFT_USER, SOFT_TENANT = "per-user soft daily", "per-tenant soft daily"
GLOBAL_DAILY_ENV = "SEAMLINE_GLOBAL_DAILY_USD"
GLOBAL_DAILY_SCOPE = "*|day|{day}"  # "*" is never an integration name
_FROM_ENV: Any = object()

__all__ = [
    "GLOBAL_DAILY_ENV",
    "AlertClaim",
    "BudgetLedger",
    "BudgetRefusal",
    "CapUsage",
    "CostReservation",
    "OverSoftCap",
    "SpendReport",
    "SpendRow",
    "global_daily_cap",
    "over_soft_route",
    "price",
    "price_usage",
    "spend_report",
    "take_announcements",
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


def over_soft_route(integration: Integration) -> ModelRoute | None:
    """The route ``budgets.over_soft`` names (a whole route, or a fallback by its model),
    None for the baseline or when none is declared; a name no fallback has is an error."""
    over = integration.model.budgets.over_soft
    if over is None or isinstance(over, str):  # none, or "baseline"
        return None
    if isinstance(over.route, ModelRoute):
        return over.route
    for fallback in _routes_below(integration.model):
        if fallback.model == over.route:
            return fallback
    names = ", ".join(r.model for r in _routes_below(integration.model)) or "none"
    raise ConfigError(f"budgets.over_soft names the route {over.route!r}, which is not one of "
                      f"the model's fallbacks ({names}); name one of them, or declare the "
                      "route in full under over_soft.route.")


def _routes_below(route: ModelRoute) -> list[ModelRoute]:
    out, todo = [], list(route.fallbacks)
    while todo:
        r = todo.pop(0)
        out.append(r)
        todo += r.fallbacks
    return out


@dataclass(frozen=True, slots=True)
class AlertClaim:
    """One share of one cap's counter claimed for its alert (a ``budget_alerts`` row)."""

    scope: str
    share: float
    integration: str
    cap: str
    reason: str  # reached | refused | over_soft
    spent_usd: float
    cap_usd: float

    @property
    def sentence(self) -> str:
        where = _scope_owner(self.scope)
        cap, spent = _usd(self.cap_usd), _usd(self.spent_usd)
        if self.reason == "over_soft":
            return (f"{self.integration}: the {self.cap} cap of {cap}{where} was reached "
                    f"({spent} spent); its events now run on the over_soft route or the "
                    "baseline for the rest of the day.")
        if self.reason == "refused":
            return (f"{self.integration}: the {self.cap} cap of {cap}{where} refused a call "
                    f"at {spent} spent; calls wait in the escalation queue until the cap is "
                    "raised or the period ends.")
        return (f"{self.integration}: {self.share:.0%} of the {self.cap} cap of "
                f"{cap}{where} is spent ({spent}).")


def _usd(value: float) -> str:
    """Cents from a dollar up; below it, enough places to see a fraction of a cent."""
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.6f}".rstrip("0").rstrip(".")


def _scope_owner(scope: str) -> str:
    parts = scope.split("|")
    if len(parts) > 3 and parts[1] in ("tenant", "soft-tenant"):
        return f" of tenant {'|'.join(parts[2:-1])}"
    if len(parts) > 3 and parts[1] == "user":
        return f" of user {'|'.join(parts[2:-1])}"
    return ""


class BudgetLedger:
    """The caps of one integration: per call, per tenant per day, per day, per month,
    and the global cap across all integrations per day; its soft caps per user and per
    tenant per day; and the shares of the hard caps that alert.

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
        self.alert_at = b.alert_at
        self.soft: list[tuple[str, str, float]] = []  # touched before the hard caps, always
        soft = b.soft_daily_usd
        if soft is not None and soft.per_user is not None:
            self.soft.append((SOFT_USER, name + "|user|{user}|{day}", soft.per_user))
        if soft is not None and soft.per_tenant is not None:
            self.soft.append((SOFT_TENANT, name + "|soft-tenant|{tenant}|{day}", soft.per_tenant))
        if self.soft and b.over_soft is None:
            raise ConfigError(f"Integration {name!r} declares budgets.soft_daily_usd but not "
                              "budgets.over_soft: say where an event past a soft cap runs "
                              "(over_soft: baseline, or over_soft: {route: ...}).")
        self.over_soft = over_soft_route(integration)
        if self.over_soft is not None:
            route_price(self.over_soft, prices)
        # Claims this process has seen taken: skipped without a statement.
        self._claimed: set[tuple[str, int]] = set()
        # ``pending`` is set in a thread whose transaction claimed an alert: once that has
        # committed, the runtime raises it (runtime.Spend.announce).
        self.local = threading.local()

    def estimate(self, input_tokens: int, route: ModelRoute | None = None) -> float:
        """The worst case of a call: every prompt token at its dearest rate, every output token used."""
        route = route or self.integration.model
        p = route_price(route, self.prices)
        return (input_tokens * p.worst_input + route.max_output_tokens * p.output) / 1e6

    def reserve(self, conn: Connection, amount: float, tenant: str,
                now: float | None = None) -> CostReservation | BudgetRefusal:
        """Reserve ``amount`` under every hard cap, or reserve nothing and say which cap refused."""
        if self.per_call is not None and amount > self.per_call:
            return BudgetRefusal("per-call", self.per_call, amount)
        if amount <= 0 or not self.caps:
            return CostReservation(amount, ())
        ts = time.time() if now is None else now
        keys = _keys(ts, tenant)
        taken: list[str] = []
        for label, template, cap in self.caps:
            scope = template.format(**keys)
            insert_ignore(conn, budget_counters,
                          {"scope": scope, "cap_usd": cap, "spent_usd": 0.0, "updated_at": ts})
            if _RESERVE.run(conn, {"s": scope, "amount": amount, "amount2": amount,
                                   "cap": cap + 1e-12, "new_cap": cap, "ts": ts}) != 1:
                self._adjust(conn, taken, -amount, ts)
                if 1.0 in self.alert_at:  # the cap bites: its 100% alert, whatever it reads
                    self._claim(conn, scope, 1.0, label, "refused", _spent(conn, scope), cap, ts)
                return BudgetRefusal(label, cap, amount, scope)
            taken.append(scope)
        return CostReservation(amount, tuple(taken))

    def reserve_event(self, conn: Connection, input_tokens: int, tenant: str,
                      now: float | None = None, *, user: str = "") -> CostReservation | BudgetRefusal:
        """The first call of an event, soft caps first: on the primary route while its worst
        case fits under every soft cap, else on the ``over_soft`` route (whose estimate the
        hard caps then reserve) or the baseline (nothing reserved). The soft counters count
        the event whichever route it takes; a soft cap refuses nothing.

        Counters are always locked in one order (soft caps, then the hard caps in
        declaration order) so concurrent transactions on PostgreSQL cannot deadlock.
        """
        primary = self.estimate(input_tokens)
        ts = time.time() if now is None else now
        soft = self._soft_scopes(ts, tenant, user)
        if not soft:
            return self.reserve(conn, primary, tenant, ts)
        over: OverSoftCap | None = None
        taken: list[str] = []
        for label, scope, cap in soft:
            insert_ignore(conn, budget_counters,
                          {"scope": scope, "cap_usd": cap, "spent_usd": 0.0, "updated_at": ts})
            if over is None and _RESERVE.run(conn, {
                    "s": scope, "amount": primary, "amount2": primary, "cap": cap + 1e-12,
                    "new_cap": cap, "ts": ts}) == 1:
                taken.append(scope)
                continue
            if over is None:
                over = OverSoftCap(label, scope, _spent(conn, scope), cap, primary,
                                   BASELINE if self.over_soft is None else self.over_soft.model)
        scopes = tuple(scope for _, scope, _ in soft)
        if over is None:
            got = self.reserve(conn, primary, tenant, ts)
            if isinstance(got, BudgetRefusal):
                self._adjust(conn, taken, -primary, ts)
                return got
            return CostReservation(primary, scopes + got.scopes)
        self._adjust(conn, taken, -primary, ts)  # back to the spend before this event
        result: CostReservation | BudgetRefusal
        if self.over_soft is None:
            result = CostReservation(0.0, (), over)
        else:
            amount = self.estimate(input_tokens, self.over_soft)
            self._adjust(conn, scopes, amount, ts)
            result = self.reserve(conn, amount, tenant, ts)
            if isinstance(result, BudgetRefusal):
                self._adjust(conn, scopes, -amount, ts)
            else:
                result = CostReservation(amount, scopes + result.scopes, over)
        # The soft cap's alert is claimed after every counter is locked, never between two:
        # a claim waits on whoever claimed the same alert first, and that one must not be
        # waiting on a counter this transaction holds (PostgreSQL found that deadlock).
        self._claim(conn, over.scope, 1.0, over.cap, "over_soft", over.spent_usd,
                    over.cap_usd, ts)
        return result

    def reconcile(self, conn: Connection, reservation: CostReservation, actual_usd: float,
                  now: float | None = None) -> None:
        """Replace the estimate by what the call really cost."""
        delta = actual_usd - reservation.amount_usd
        if reservation.scopes and delta:
            self._adjust(conn, reservation.scopes, delta, time.time() if now is None else now)

    def claim_crossed(self, conn: Connection, scopes: tuple[str, ...],
                      now: float | None = None) -> int:
        """Claim the alert of every declared share the hard-cap counters in ``scopes`` have
        reached (inside the transaction that moved them); how many were claimed."""
        hard = {template: (label, cap) for label, template, cap in self.caps}
        if not self.alert_at or not scopes:
            return 0
        ts = time.time() if now is None else now
        labels = {}
        for scope in scopes:
            for template, (label, cap) in hard.items():
                if _matches(template, scope):
                    labels[scope] = (label, cap)
        todo = [s for s in labels if any((s, _permille(x)) not in self._claimed
                                          for x in self.alert_at)]
        if not todo:
            return 0
        claimed = 0
        # In one order (scope, then share) in every transaction, as the counters are.
        for scope, spent_usd, cap_usd in conn.execute(
                select(_c.scope, _c.spent_usd, _c.cap_usd).where(_c.scope.in_(todo))
                .order_by(_c.scope)):
            label = labels[scope][0]
            for share in sorted(self.alert_at):
                if cap_usd > 0 and spent_usd >= share * cap_usd - 1e-12:
                    claimed += self._claim(conn, scope, share, label, "reached",
                                           float(spent_usd), float(cap_usd), ts)
        return claimed

    def _soft_scopes(self, ts: float, tenant: str, user: str) -> list[tuple[str, str, float]]:
        keys = _keys(ts, tenant, user)
        # No user named: no per-user counter (an anonymous pool would degrade everyone).
        return [(label, template.format(**keys), cap) for label, template, cap in self.soft
                if label != SOFT_USER or user]

    def _claim(self, conn: Connection, scope: str, share: float, label: str, reason: str,
               spent_usd: float, cap_usd: float, ts: float) -> bool:
        key = (scope, _permille(share))
        if key in self._claimed:
            return False
        fresh = insert_ignore(conn, budget_alerts, {
            "scope": scope, "permille": key[1], "integration": self.integration.name,
            "cap": label, "reason": reason, "spent_usd": spent_usd, "cap_usd": cap_usd,
            "claimed_at": ts, "announced_at": None})
        if fresh:
            self.local.pending = True
        else:  # someone else's: remembered (a fresh claim may yet roll back, so not those)
            self._claimed.add(key)
        return fresh

    @staticmethod
    def _adjust(conn: Connection, scopes, delta: float, ts: float) -> None:
        for scope in scopes:
            _ADJUST.run(conn, {"s": scope, "delta": delta, "ts": ts})


def _keys(ts: float, tenant: str, user: str = "") -> dict[str, str]:
    day = datetime.fromtimestamp(ts, UTC)
    return {"day": day.strftime("%Y-%m-%d"), "month": day.strftime("%Y-%m"),
            "tenant": tenant or "-", "user": user or "-"}


def _matches(template: str, scope: str) -> bool:
    """Whether ``scope`` is a counter of ``template`` (any tenant, any day or month)."""
    head = template.partition("{")[0]  # "name|day|", "name|tenant|", "*|day|" …
    return scope.startswith(head) and scope.count("|") == template.count("|")


def _spent(conn: Connection, scope: str) -> float:
    return float(conn.execute(select(_c.spent_usd).where(_c.scope == scope)).scalar() or 0.0)


def _permille(share: float) -> int:
    return round(share * 1000)


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
    cap: str  # the refusal's label: "daily", "per-tenant daily", "global daily", "monthly",
    # or a soft cap's: "per-user soft daily", "per-tenant soft daily"
    integration: str  # "*" for the global cap
    tenant: str  # the tenant, or the end user of a per-user soft cap
    spent_usd: float
    cap_usd: float
    soft: bool = False
    alerted: tuple[float, ...] = ()  # the shares whose alert was raised (1.0: it refused, or degraded)


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


_LABELS = {"tenant": "per-tenant daily", "month": "monthly", "user": SOFT_USER,
           "soft-tenant": SOFT_TENANT}


def _cap_usage(conn: Connection, day: str, month: str) -> tuple[CapUsage, ...]:
    a = budget_alerts.c
    alerted: dict[str, list[float]] = {}
    for scope, permille in conn.execute(select(a.scope, a.permille).where(
            a.scope.like(f"%|{day}") | a.scope.like(f"%|{month}")).order_by(a.permille)):
        alerted.setdefault(scope, []).append(permille / 1000)
    out = []
    for scope, spent_usd, cap_usd in conn.execute(
            select(_c.scope, _c.spent_usd, _c.cap_usd).order_by(_c.scope)):
        parts = scope.split("|")
        if len(parts) < 3 or parts[-1] not in (day, month):
            continue
        integration, kind = parts[0], parts[1]
        tenant = "|".join(parts[2:-1])
        cap = ("global daily" if integration == "*" else "daily") if kind == "day" else (
            _LABELS.get(kind, kind))
        out.append(CapUsage(scope, cap, integration, tenant, float(spent_usd), float(cap_usd),
                            soft=kind in ("user", "soft-tenant"),
                            alerted=tuple(alerted.get(scope, ()))))
    return tuple(out)


def take_announcements(conn: Connection, integration: str,
                       now: float | None = None) -> list[AlertClaim]:
    """The alerts claimed for ``integration`` that no process has raised yet, each marked
    raised by this one: a conditional UPDATE per row, so of racing processes one wins it."""
    a = budget_alerts.c
    ts = time.time() if now is None else now
    out = []
    for row in conn.execute(select(budget_alerts).where(
            a.integration == integration, a.announced_at.is_(None)).order_by(a.claimed_at)).all():
        won = conn.execute(update(budget_alerts).where(
            a.scope == row.scope, a.permille == row.permille, a.announced_at.is_(None))
            .values(announced_at=ts)).rowcount
        if won == 1:
            out.append(AlertClaim(row.scope, row.permille / 1000, row.integration, row.cap,
                                  row.reason, row.spent_usd, row.cap_usd))
    return out
