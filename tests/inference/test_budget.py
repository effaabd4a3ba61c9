"""Cost caps: a call is sent only after its estimate is reserved under every cap."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from conftest import make_integration
from seamline.inference import BudgetLedger, BudgetRefusal, CostReservation, price
from seamline.integration import Budgets, Checklist, ModelRoute
from seamline.store import open_store
from seamline.store._tables import budget_counters

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc).timestamp()
NEXT_DAY = datetime(2026, 3, 11, 12, 0, tzinfo=timezone.utc).timestamp()
NEXT_MONTH = datetime(2026, 4, 1, 0, 30, tzinfo=timezone.utc).timestamp()


def ledger(*, per_call=None, daily=None, tenant_daily=None, monthly=None, **model) -> BudgetLedger:
    route = dict(provider="scripted", model="scripted-1", input_usd_per_mtok=1.0,
                 output_usd_per_mtok=2.0, max_output_tokens=100, context_window=2000,
                 budgets=Budgets(per_call_usd=per_call, daily_usd=daily,
                                 per_tenant_daily_usd=tenant_daily))
    route.update(model)
    return BudgetLedger(make_integration(
        model=ModelRoute(**route),
        checklist=Checklist(workflow="w", owner="o", baseline_metric="m",
                            monthly_cost_ceiling_usd=monthly)))


def reserve(store, led: BudgetLedger, amount: float, tenant: str = "t1", now: float = NOW):
    with store.write() as conn:
        return led.reserve(conn, amount, tenant, now)


def spent(store) -> dict[str, float]:
    with store.read() as conn:
        c = budget_counters.c
        return dict(conn.execute(select(c.scope, c.spent_usd)).all())


class _NoDatabase:
    def __getattr__(self, name):
        raise AssertionError(f"the database was touched ({name})")


# -------------------------------------------------------------------- pricing


def test_price_is_per_million_tokens_for_input_and_output():
    led = ledger()
    assert price(led.integration, 1_000_000, 0) == pytest.approx(1.0)
    assert price(led.integration, 0, 1_000_000) == pytest.approx(2.0)
    assert led.estimate(500) == pytest.approx((500 * 1.0 + 100 * 2.0) / 1e6)


# -------------------------------------------------------------------- per call


def test_the_per_call_cap_refuses_an_estimate_above_it_without_touching_the_database(store):
    led = ledger(per_call=0.01, daily=100)
    got = led.reserve(_NoDatabase(), 0.02, "t1", NOW)
    assert isinstance(got, BudgetRefusal)
    assert (got.cap, got.cap_usd, got.estimate_usd) == ("per-call", 0.01, 0.02)
    assert "per-call" in got.reason and "not sent" in got.reason
    assert spent(store) == {}


def test_an_estimate_at_the_per_call_cap_is_allowed(store):
    assert isinstance(reserve(store, ledger(per_call=0.01), 0.01), CostReservation)


def test_with_no_caps_nothing_is_counted(store):
    got = reserve(store, ledger(), 5.0)
    assert isinstance(got, CostReservation) and got.scopes == ()
    assert spent(store) == {}


# ---------------------------------------------------------------------- daily


def test_the_daily_cap_admits_calls_until_the_next_would_cross_it(store):
    led = ledger(daily=1.0)
    results = [reserve(store, led, 0.25) for _ in range(5)]
    assert all(isinstance(r, CostReservation) for r in results[:4])
    refused = results[4]
    assert isinstance(refused, BudgetRefusal)
    assert refused.cap == "daily" and refused.cap_usd == 1.0
    assert "daily" in refused.reason
    assert list(spent(store).values()) == [pytest.approx(1.0)]


def test_a_call_that_would_cross_the_daily_cap_is_refused_though_a_smaller_one_fits(store):
    led = ledger(daily=1.0)
    assert isinstance(reserve(store, led, 0.75), CostReservation)
    assert isinstance(reserve(store, led, 0.5), BudgetRefusal)
    assert isinstance(reserve(store, led, 0.25), CostReservation)


def test_the_daily_cap_starts_again_the_next_utc_day(store):
    led = ledger(daily=1.0)
    assert isinstance(reserve(store, led, 1.0), CostReservation)
    assert isinstance(reserve(store, led, 0.5), BudgetRefusal)
    assert isinstance(reserve(store, led, 0.5, now=NEXT_DAY), CostReservation)


# ----------------------------------------------------------------- per tenant


def test_per_tenant_caps_are_separate_for_each_tenant(store):
    led = ledger(tenant_daily=1.0)
    assert isinstance(reserve(store, led, 1.0, tenant="acme"), CostReservation)
    refused = reserve(store, led, 0.5, tenant="acme")
    assert isinstance(refused, BudgetRefusal) and refused.cap == "per-tenant daily"
    assert isinstance(reserve(store, led, 1.0, tenant="globex"), CostReservation)
    assert sorted(spent(store).values()) == [pytest.approx(1.0), pytest.approx(1.0)]


def test_the_daily_cap_is_shared_by_all_tenants(store):
    led = ledger(daily=1.0, tenant_daily=0.75)
    assert isinstance(reserve(store, led, 0.5, tenant="acme"), CostReservation)
    assert isinstance(reserve(store, led, 0.5, tenant="globex"), CostReservation)
    refused = reserve(store, led, 0.25, tenant="initech")
    assert isinstance(refused, BudgetRefusal) and refused.cap == "daily"


# -------------------------------------------------------------------- monthly


def test_the_monthly_ceiling_from_the_checklist_is_enforced_across_days(store):
    led = ledger(daily=1.0, monthly=1.5)
    assert isinstance(reserve(store, led, 1.0, now=NOW), CostReservation)
    refused = reserve(store, led, 1.0, now=NEXT_DAY)
    assert isinstance(refused, BudgetRefusal)
    assert refused.cap == "monthly" and refused.cap_usd == 1.5
    assert "monthly" in refused.reason
    assert isinstance(reserve(store, led, 0.5, now=NEXT_DAY), CostReservation)
    assert isinstance(reserve(store, led, 1.0, now=NEXT_MONTH), CostReservation)


def test_two_integrations_do_not_share_counters(store):
    a = ledger(daily=1.0)
    b = BudgetLedger(a.integration.model_copy(update={"name": "other"}))
    assert isinstance(reserve(store, a, 1.0), CostReservation)
    assert isinstance(reserve(store, b, 1.0), CostReservation)


# ------------------------------------------------------------------ reconcile


def test_reconcile_lowers_spent_to_the_actual_cost_so_a_later_call_fits(store):
    led = ledger(daily=1.0, tenant_daily=1.0, monthly=1.0)
    first = reserve(store, led, 0.75)
    assert isinstance(first, CostReservation) and len(first.scopes) == 3
    assert isinstance(reserve(store, led, 0.5), BudgetRefusal)
    with store.write() as conn:
        led.reconcile(conn, first, 0.25, NOW)
    assert all(v == pytest.approx(0.25) for v in spent(store).values())
    assert isinstance(reserve(store, led, 0.5), CostReservation)


def test_reconcile_raises_spent_when_the_call_cost_more_than_estimated(store):
    led = ledger(daily=10.0)
    first = reserve(store, led, 0.5)
    with store.write() as conn:
        led.reconcile(conn, first, 0.75, NOW)
    assert list(spent(store).values()) == [pytest.approx(0.75)]


# ---------------------------------------------------------------------- leaks


def test_a_refusal_by_a_later_cap_leaves_the_earlier_counters_unchanged(store):
    led = ledger(daily=10.0, tenant_daily=10.0, monthly=1.0)
    assert isinstance(reserve(store, led, 0.75), CostReservation)
    before = spent(store)
    refused = reserve(store, led, 0.5)
    assert isinstance(refused, BudgetRefusal) and refused.cap == "monthly"
    assert spent(store) == pytest.approx(before)


def test_a_refusal_by_the_tenant_cap_leaves_the_daily_counter_unchanged(store):
    led = ledger(daily=10.0, tenant_daily=1.0)
    assert isinstance(reserve(store, led, 0.75, tenant="acme"), CostReservation)
    before = spent(store)
    refused = reserve(store, led, 0.5, tenant="acme")
    assert isinstance(refused, BudgetRefusal) and refused.cap == "per-tenant daily"
    assert spent(store) == pytest.approx(before)
    assert sum(v for k, v in spent(store).items() if "|day|" in k) == pytest.approx(0.75)


# ---------------------------------------------------------------- concurrency


def test_threads_racing_for_the_last_dollar_never_push_spent_above_the_cap(tmp_path):
    path = tmp_path / "budget.db"
    stores = [open_store(path) for _ in range(2)]
    led = ledger(daily=1.0, tenant_daily=1.0, monthly=1.0)
    granted, errors = [], []
    barrier = threading.Barrier(6)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for _ in range(6):
                got = reserve(stores[n % 2], led, 0.125, tenant="acme")
                if isinstance(got, CostReservation):
                    granted.append(got)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    try:
        assert not errors, errors
        assert len(granted) == 8  # 8 x $0.125 = $1.00, and 36 were asked for
        values = spent(stores[0]).values()
        assert len(values) == 3
        assert all(v <= 1.0 + 1e-9 for v in values)
        assert all(v == pytest.approx(1.0) for v in values)
    finally:
        for s in stores:
            s.close()


# ------------------------------------------------------------------- rollback


def test_a_reservation_rolled_back_with_its_transaction_does_not_block_the_next_call(store):
    led = ledger(daily=1.0)
    with pytest.raises(RuntimeError):
        with store.write() as conn:
            assert isinstance(led.reserve(conn, 0.25, "t1", NOW), CostReservation)
            raise RuntimeError("the rest of the event's transaction failed")
    assert spent(store) == {}
    assert isinstance(reserve(store, led, 0.25), CostReservation)


def test_a_reservation_rolled_back_with_its_transaction_is_not_counted(store):
    led = ledger(daily=1.0)
    assert isinstance(reserve(store, led, 0.5), CostReservation)
    with pytest.raises(RuntimeError):
        with store.write() as conn:
            assert isinstance(led.reserve(conn, 0.5, "t1", NOW), CostReservation)
            raise RuntimeError("the rest of the event's transaction failed")
    assert list(spent(store).values()) == [pytest.approx(0.5)]
    assert isinstance(reserve(store, led, 0.5), CostReservation)
