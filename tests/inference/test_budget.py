"""Cost caps: a call is sent only after its estimate is reserved under every cap."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime

import pytest
from conftest import make_integration
from sqlalchemy import select

from seamline.errors import ConfigError
from seamline.inference import BudgetLedger, BudgetRefusal, CostReservation, ScriptedModel, price
from seamline.integration import Budgets, Checklist, ModelRoute
from seamline.runtime import OVER_BUDGET, Pipeline
from seamline.store import open_store
from seamline.store.tables import budget_counters

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp()
NEXT_DAY = datetime(2026, 3, 11, 12, 0, tzinfo=UTC).timestamp()
NEXT_MONTH = datetime(2026, 4, 1, 0, 30, tzinfo=UTC).timestamp()


def ledger(*, per_call=None, daily=None, tenant_daily=None, monthly=None, global_daily=None,
           **model) -> BudgetLedger:
    route = dict(provider="scripted", model="scripted-1", input_usd_per_mtok=1.0,
                 output_usd_per_mtok=2.0, max_output_tokens=100, context_window=2000,
                 budgets=Budgets(per_call_usd=per_call, daily_usd=daily,
                                 per_tenant_daily_usd=tenant_daily))
    route.update(model)
    return BudgetLedger(make_integration(
        model=ModelRoute(**route),
        checklist=Checklist(workflow="w", owner="o", baseline_metric="m",
                            monthly_cost_ceiling_usd=monthly)),
        **({} if global_daily is _ENV else {"global_daily_usd": global_daily}))


_ENV = object()


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
        except Exception as exc:
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
    with pytest.raises(RuntimeError), store.write() as conn:
        assert isinstance(led.reserve(conn, 0.25, "t1", NOW), CostReservation)
        raise RuntimeError("the rest of the event's transaction failed")
    assert spent(store) == {}
    assert isinstance(reserve(store, led, 0.25), CostReservation)


def test_a_reservation_rolled_back_with_its_transaction_is_not_counted(store):
    led = ledger(daily=1.0)
    assert isinstance(reserve(store, led, 0.5), CostReservation)
    with pytest.raises(RuntimeError), store.write() as conn:
        assert isinstance(led.reserve(conn, 0.5, "t1", NOW), CostReservation)
        raise RuntimeError("the rest of the event's transaction failed")
    assert list(spent(store).values()) == [pytest.approx(0.5)]
    assert isinstance(reserve(store, led, 0.5), CostReservation)


# --------------------------------------------------------------- global daily


def test_the_global_daily_cap_is_shared_by_every_integration(store):
    a = ledger(global_daily=1.0)
    b = BudgetLedger(a.integration.model_copy(update={"name": "other"}), global_daily_usd=1.0)
    assert isinstance(reserve(store, a, 0.75), CostReservation)
    refused = reserve(store, b, 0.5)
    assert isinstance(refused, BudgetRefusal)
    assert refused.cap == "global daily" and refused.cap_usd == 1.0
    assert "global daily" in refused.reason and "not sent" in refused.reason
    assert isinstance(reserve(store, b, 0.25), CostReservation)
    assert spent(store) == {"*|day|2026-03-10": pytest.approx(1.0)}


def test_the_global_daily_cap_starts_again_the_next_utc_day(store):
    led = ledger(global_daily=1.0)
    assert isinstance(reserve(store, led, 1.0), CostReservation)
    assert isinstance(reserve(store, led, 0.5), BudgetRefusal)
    assert isinstance(reserve(store, led, 0.5, now=NEXT_DAY), CostReservation)


def test_the_global_daily_cap_comes_from_the_environment(store, monkeypatch):
    monkeypatch.setenv("SEAMLINE_GLOBAL_DAILY_USD", "0.5")
    led = ledger(global_daily=_ENV)
    assert isinstance(reserve(store, led, 0.5), CostReservation)
    refused = reserve(store, led, 0.125)
    assert isinstance(refused, BudgetRefusal) and refused.cap == "global daily"
    # An explicit None turns it off for one ledger, whatever the environment says.
    assert isinstance(reserve(store, ledger(global_daily=None), 5.0), CostReservation)


@pytest.mark.parametrize("bad", ["lots", "-1", "nan"])
def test_a_bad_global_daily_cap_in_the_environment_is_a_config_error(monkeypatch, bad):
    monkeypatch.setenv("SEAMLINE_GLOBAL_DAILY_USD", bad)
    with pytest.raises(ConfigError, match="SEAMLINE_GLOBAL_DAILY_USD"):
        ledger(global_daily=_ENV)


def test_a_refusal_by_the_global_cap_leaves_the_integration_counters_unchanged(store):
    led = ledger(daily=10.0, tenant_daily=10.0, monthly=10.0, global_daily=1.0)
    assert isinstance(reserve(store, led, 0.75), CostReservation)
    before = spent(store)
    assert len(before) == 4
    refused = reserve(store, led, 0.5)
    assert isinstance(refused, BudgetRefusal) and refused.cap == "global daily"
    assert spent(store) == pytest.approx(before)


def test_reconcile_moves_the_global_counter_too(store):
    led = ledger(daily=10.0, global_daily=1.0)
    first = reserve(store, led, 0.75)
    with store.write() as conn:
        led.reconcile(conn, first, 0.125, NOW)
    assert spent(store)["*|day|2026-03-10"] == pytest.approx(0.125)
    assert isinstance(reserve(store, led, 0.875), CostReservation)


def test_an_over_global_cap_event_waits_and_is_not_sent_to_the_model(store, monkeypatch):
    monkeypatch.setenv("SEAMLINE_GLOBAL_DAILY_USD", "0.001")
    calls = []
    model = ScriptedModel(lambda req: calls.append(req) or {"label": "other", "confidence": 0.9})
    integ = make_integration()
    with store.write() as conn:  # another integration spent today's global budget
        BudgetLedger(integ.model_copy(update={"name": "other"})).reserve(conn, 0.001, "t1")
    result = Pipeline(integ, store, provider=model).process({"ticket_id": "G1", "body": "refund"})
    assert result.state == OVER_BUDGET and "global daily" in result.reason
    assert calls == []


# ------------------------------------------------------- concurrent processes


def _race(path: str, name: str, cap: float, amount: float, tries: int, barrier) -> int:
    """One OS process: reserve ``amount`` ``tries`` times against a global cap; count the grants."""
    store = open_store(path)
    led = BudgetLedger(make_integration(name=name), global_daily_usd=cap)
    barrier.wait()
    granted = 0
    try:
        for _ in range(tries):
            if isinstance(reserve(store, led, amount, tenant=name), CostReservation):
                granted += 1
    finally:
        store.close()
    return granted


def _race_processes(path: str, cap: float, amount: float, workers: int, tries: int) -> int:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(workers)
        with ctx.Pool(workers) as pool:
            jobs = [pool.apply_async(_race, (path, f"integ-{n % 2}", cap, amount, tries, barrier))
                    for n in range(workers)]
            return sum(j.get(timeout=120) for j in jobs)


def test_processes_racing_on_one_sqlite_store_never_overspend_the_global_cap(tmp_path):
    path = str(tmp_path / "race.db")
    open_store(path).close()  # migrated once, before the race
    # $1.00 admits exactly 8 reservations of $0.125; 4 processes in 2 integrations ask 40 times.
    granted = _race_processes(path, cap=1.0, amount=0.125, workers=4, tries=10)
    s = open_store(path)
    try:
        assert granted == 8
        counters = spent(s)
        assert counters["*|day|2026-03-10"] <= 1.0 + 1e-9
        assert counters["*|day|2026-03-10"] == pytest.approx(1.0)
        # Each integration's monthly counter holds only its own grants: nothing leaked.
        months = [v for k, v in counters.items() if "|month|" in k]
        assert sum(months) == pytest.approx(1.0)
    finally:
        s.close()


def test_processes_racing_on_postgresql_never_overspend_the_global_cap(pg_url):
    open_store(pg_url).close()
    granted = _race_processes(pg_url, cap=0.75, amount=0.125, workers=4, tries=6)
    s = open_store(pg_url)
    try:
        assert granted == 6
        counters = spent(s)
        assert counters["*|day|2026-03-10"] == pytest.approx(0.75)
        assert sum(v for k, v in counters.items() if "|month|" in k) == pytest.approx(0.75)
    finally:
        s.close()


def _repairing_model():
    replies = iter(["not json at all", '{"label": "refund", "confidence": 0.9, "amount": 1.0}'])
    return ScriptedModel(lambda req: next(replies))


def test_a_repaired_event_leaves_the_counters_at_what_its_calls_really_cost(store):
    route = ModelRoute(provider="scripted", input_usd_per_mtok=1.0, output_usd_per_mtok=2.0,
                       max_output_tokens=100, budgets=Budgets(daily_usd=10.0))
    result = Pipeline(make_integration(model=route), store, provider=_repairing_model()).process(
        {"ticket_id": "RC1", "body": "refund"})
    assert result.state == "succeeded" and result.cost_usd > 0
    day = [v for k, v in spent(store).items() if "|day|" in k]
    assert day and all(v == pytest.approx(result.cost_usd) for v in day)


def test_a_repair_refused_by_a_cap_waits_over_budget_instead_of_dead_lettering(store):
    route = ModelRoute(provider="scripted", input_usd_per_mtok=1.0, output_usd_per_mtok=2.0,
                       max_output_tokens=100, budgets=Budgets(daily_usd=0.0006))
    model = _repairing_model()
    result = Pipeline(make_integration(model=route), store, provider=model).process(
        {"ticket_id": "RC2", "body": "refund"})
    assert len(model.requests) == 1  # the first call fit; its repair would not
    assert result.state == OVER_BUDGET and "cap" in result.reason
    from seamline.runtime._dlq import dead_letters_now
    assert dead_letters_now(store) == []
