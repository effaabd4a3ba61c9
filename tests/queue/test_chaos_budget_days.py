"""Why the chaos test once saw spend $0.3403 over a $0.3322 daily cap with every counter
under its cap: the cap is per UTC day, and a run across midnight reserves under two
counters. Each day stays under the cap; the run's total does not have to."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import make_integration
from sqlalchemy import select

from seamline.inference import BudgetLedger, BudgetRefusal, CostReservation
from seamline.integration import Budgets
from seamline.store.tables import budget_counters


def test_a_run_across_utc_midnight_spends_up_to_the_cap_on_each_day(store):
    spec = make_integration()
    spec = spec.model_copy(update={"model": spec.model.model_copy(
        update={"budgets": Budgets(daily_usd=1.0)})})
    ledger = BudgetLedger(spec, global_daily_usd=None)
    before = datetime(2026, 11, 25, 23, 59, 50, tzinfo=UTC).timestamp()
    after = datetime(2026, 11, 26, 0, 0, 10, tzinfo=UTC).timestamp()
    taken = []
    with store.write() as conn:
        for ts in (before, after):
            while isinstance(got := ledger.reserve(conn, 0.3, "t1", ts), CostReservation):
                taken.append(got.amount_usd)
            assert isinstance(got, BudgetRefusal) and got.cap == "daily"
    with store.read() as conn:
        daily = {s: v for s, v, c in conn.execute(select(
            budget_counters.c.scope, budget_counters.c.spent_usd, budget_counters.c.cap_usd))
            if "|day|" in s}
    assert sorted(daily) == ["refunds|day|2026-11-25", "refunds|day|2026-11-26"]
    assert all(v <= 1.0 for v in daily.values())  # every day under its cap...
    assert sum(taken) > 1.0  # ...and the run's total over one day's cap
