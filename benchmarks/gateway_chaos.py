"""Chaos: thousands of events through the full pipeline while the provider misbehaves.

The emulator (its own process) speaks the Anthropic Messages API (``--provider openai``
for Chat Completions) and injects faults into 20% of all requests, retries included:
429 with a short retry-after, 500, 503, 529 overloaded (503 on the OpenAI wire), a 200
whose body is not JSON, a 200 whose body is cut in half, connection resets, and a few
hangs past the per-attempt timeout. Events run through ``Pipeline`` (SQLite store in a
temp dir, the durable audit trail, an outbox action) from several threads, each with
its own Pipeline on the shared store, under a daily budget cap set to run out partway.

    python benchmarks/gateway_chaos.py [--events 2000] [--threads 8] [--fault-rate 0.2]

Checked in the same run: every event reaches exactly one terminal state and none is
lost (rows in ``events`` == events sent, all terminal, one per result), spend never
exceeds the cap (the sum of ``events.cost_usd`` and every ``budget_counters`` row), and
the 429s and 5xx the emulator returned are counted, with the retries they cost.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _emuproc import EmulatorProcess

from seamline.emulator import FaultPlan, FaultRule, Latency
from seamline.integration import (
    ActionSpec,
    Budgets,
    Checklist,
    Integration,
    ModelRoute,
    PromptSpec,
    RetrySpec,
)
from seamline.integration._spec import BreakerSpec
from seamline.runtime import Pipeline
from seamline.runtime._results import TERMINAL
from seamline.store import open_store
from seamline.store.tables import budget_counters, events

# The share of all faulted requests each kind takes (sums to 1).
MIX = {"rate_limit": 0.20, "server_error": 0.20, "unavailable": 0.10, "overloaded": 0.15,
       "malformed_json": 0.12, "truncated_json": 0.10, "reset": 0.10, "hang": 0.03}
STATUS = {"rate_limit": "429", "server_error": "500", "unavailable": "503", "overloaded": "529",
          "malformed_json": "200, body not JSON", "truncated_json": "200, body cut",
          "reset": "connection reset", "hang": "hang past timeout", None: "200 OK"}

ANSWER = {"intent": "billing", "urgency": "normal", "summary": "Charged twice for one invoice.",
          "confidence": 0.9, "evidence": ["I was charged twice"]}


# The same schemas as the overhead benchmark, so the two measure the same integration.
from overhead import Email, Triage

ACTED: dict[str, dict] = {}
_acted_lock = threading.Lock()


def tag(params: dict, *, idempotency_key: str) -> dict:
    with _acted_lock:
        ACTED.setdefault(idempotency_key, params)
    return {"ok": True}


def plan(fault_rate: float, retry_after: float, hang_s: float, seed: int) -> FaultPlan:
    """Rules whose *marginal* probabilities follow MIX: the first matching rule wins, so each
    rule's p is conditioned on none before it having hit."""
    rules, left = [], 1.0
    for kind, share in MIX.items():
        p = fault_rate * share
        rules.append(FaultRule(kind=kind, p=min(1.0, p / left), retry_after=retry_after,
                               seconds=hang_s))
        left -= p
    return FaultPlan(rules=tuple(rules), latency=Latency.lognormal(0.02, 0.5), seed=seed)


def integration(name: str, provider: str, base_url: str, cap: float | None, timeout_s: float,
                max_retries: int) -> Integration:
    url = base_url + "/v1" if provider == "openai" else base_url
    model = "gpt-4.1-mini" if provider == "openai" else "claude-sonnet-4-5"
    route = ModelRoute(
        provider=provider, model=model, base_url=url, timeout_s=timeout_s, max_output_tokens=200,
        input_usd_per_mtok=3.0, output_usd_per_mtok=15.0,
        retry=RetrySpec(max_retries=max_retries, base_delay_s=0.05, max_delay_s=2.0, deadline_s=20),
        breaker=BreakerSpec(failure_threshold=5, error_rate=0.5, window=20, cooldown_s=2.0),
        budgets=Budgets(daily_usd=cap))
    return Integration(
        name=name, input_schema=Email, output_schema=Triage,
        checklist=Checklist(workflow="chaos", owner="bench", baseline_metric="none"),
        pii={"message_id": "allow", "tenant_id": "allow", "customer_id": "allow"},
        prompt=PromptSpec(system="Triage the e-mail.", user="Subject: {{ subject }}\n\n{{ body }}"),
        model=route,
        actions=(ActionSpec(name="tag", handler=tag,
                            params={"ticket": "input.message_id", "tags": "[output.intent]"}),),
        idempotency_key="message_id", tenant_key="tenant_id")


BODY = ("Hello team,\n\nI was charged twice for my March invoice. My card ending 4242 shows two "
        "identical payments of $49.00 on the 3rd. Please refund the duplicate; you can reach me at "
        "jamie.lee@example.com.\n\nThanks,\nJamie")


def make_events(n: int, prefix: str) -> list[dict]:
    return [{"message_id": f"{prefix}-{i}", "tenant_id": f"t{i % 4}", "customer_id": f"c{i % 97}",
             "subject": f"Charged twice (#{i})", "body": BODY} for i in range(n)]


def run(pipelines: list[Pipeline], batch: list[dict], deadline: float) -> tuple[list, float]:
    """Process ``batch`` from one thread per pipeline; returns (results, seconds)."""
    it = iter(batch)
    lock = threading.Lock()
    results: list = []

    def worker(p: Pipeline) -> None:
        while time.time() < deadline:
            with lock:
                raw = next(it, None)
            if raw is None:
                return
            r = p.process(raw)
            with lock:
                results.append(r)

    t = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(p,), daemon=True) for p in pipelines]
    for th in threads:
        th.start()
    for th in threads:
        th.join(max(1.0, deadline - time.time() + 60))
    return results, time.perf_counter() - t


def reason_group(reason: str) -> str:
    """'the model call failed: ProviderUnavailable: anthropic answered 529: ...' -> 'ProviderUnavailable 529'."""
    m = re.search(r"failed: (\w+): (.*)", reason)
    if not m:
        return reason[:60]
    kind, rest = m.groups()
    if s := re.search(r"answered (\d{3})", rest):
        return f"{kind} {s.group(1)}"
    for hint, label in (("timeout", "timeout"), ("could not reach", "connection lost"),
                        ("malformed", "malformed body"), ("does not allow", "malformed body")):
        if hint in rest:
            return f"{kind} ({label})"
    return f"{kind}: {rest[:50]}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--provider", choices=["anthropic", "openai"], default="anthropic")
    ap.add_argument("--fault-rate", type=float, default=0.20, help="share of all requests faulted")
    ap.add_argument("--retry-after", type=float, default=1.0,
                    help="seconds in a 429's retry-after (Anthropic sends whole seconds)")
    ap.add_argument("--timeout", type=float, default=0.5, help="per-attempt timeout, s")
    ap.add_argument("--hang", type=float, default=2.0, help="how long a hang lasts, s")
    ap.add_argument("--max-retries", type=int, default=2)
    ap.add_argument("--cap-at", type=float, default=0.7,
                    help="the daily cap is set to what this share of the events would cost")
    ap.add_argument("--max-seconds", type=float, default=600, help="stop taking events after this")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    os.environ.setdefault("ANTHROPIC_API_KEY", "sk-ant-bench-0000000000")
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-0000000000")
    os.environ.pop("SEAMLINE_GLOBAL_DAILY_USD", None)
    console = Console(width=150)
    n = args.events
    fault_plan = plan(args.fault_rate, args.retry_after, args.hang, args.seed)

    with tempfile.TemporaryDirectory() as tmp, \
            EmulatorProcess(fault_plan.model_dump(mode="json"), seed=args.seed,
                            answer=ANSWER) as emu:
        # Calibration on its own store and integration: what one event costs with this
        # reply, so the cap can be set to run out partway through the real run.
        cal_store = open_store(Path(tmp) / "calibrate.db")
        cal = Pipeline(integration("chaos-calibrate", args.provider, emu.base_url, None,
                                   args.timeout, 5), cal_store)
        costs = [r.cost_usd for r in (cal.process(e) for e in make_events(20, "cal"))
                 if r.state == "succeeded"]
        cal_store.close()
        ACTED.clear()
        per_event = statistics.median(costs)
        cap = round(per_event * n * args.cap_at, 6)

        emu.reset()
        store = open_store(Path(tmp) / "chaos.db")
        spec = integration("chaos", args.provider, emu.base_url, cap, args.timeout, args.max_retries)
        pipelines = [Pipeline(spec, store) for _ in range(args.threads)]
        batch = make_events(n, "ev")
        results, elapsed = run(pipelines, batch, time.time() + args.max_seconds)
        records = emu.records()

        with store.read() as conn:
            rows = conn.execute(select(events.c.state, events.c.reason, events.c.stage)
                                .where(events.c.integration == "chaos")).all()
            spent_events = conn.execute(select(func.coalesce(func.sum(events.c.cost_usd), 0.0))
                                        .where(events.c.integration == "chaos")).scalar_one()
            counters = conn.execute(select(budget_counters.c.scope, budget_counters.c.spent_usd,
                                           budget_counters.c.cap_usd)).all()
        store.close()

    # ---- terminal states ---------------------------------------------------------------
    states = collections.Counter(r.state for r in rows)
    reasons = collections.Counter(reason_group(r.reason) for r in rows if r.state == "dead_lettered")
    over = collections.Counter(re.sub(r"\s*\(estimated.*", "", r.reason)[:90]
                               for r in rows if r.state == "over_budget")
    table = Table(title=f"Chaos: {n:,} events, {args.threads} threads, {args.provider} wire, "
                        f"{args.fault_rate:.0%} of requests faulted, cap ${cap:.4f} "
                        f"(~{args.cap_at:.0%} of the run's cost), {elapsed:,.1f} s")
    table.add_column("terminal state")
    table.add_column("events", justify="right")
    table.add_column("share", justify="right")
    for state, count in states.most_common():
        table.add_row(state, f"{count:,}", f"{count / n:.1%}")
        if state == "dead_lettered":
            for why, c in reasons.most_common():
                table.add_row(f"  └ {why}", f"{c:,}", "")
        if state == "over_budget":
            for why, c in over.most_common():
                table.add_row(f"  └ {why}", f"{c:,}", "")
    console.print(table)

    # ---- what the provider did ---------------------------------------------------------
    faults = collections.Counter(f for _, f in records)
    calls_made = sum(1 for r in results if r.state != "over_budget")
    ft = Table(title=f"Emulator: {len(records):,} requests for {calls_made:,} events that called the "
                     f"model ({len(records) - calls_made:,} retries)")
    ft.add_column("answer")
    ft.add_column("status")
    ft.add_column("requests", justify="right")
    ft.add_column("share", justify="right")
    for kind, count in sorted(faults.items(), key=lambda kv: -kv[1]):
        ft.add_row(kind or "ok", STATUS.get(kind, kind), f"{count:,}", f"{count / len(records):.1%}")
    console.print(ft)

    # ---- the checks ----------------------------------------------------------------------
    n429 = faults.get("rate_limit", 0)
    n5xx = sum(faults.get(k, 0) for k in ("server_error", "unavailable", "overloaded"))
    terminal = sum(c for s, c in states.items() if s in TERMINAL)
    lost = n - len(rows)
    over_cap = [(s, sp, c) for s, sp, c in counters if sp > c + 1e-9]
    chaos_counters = [(s, sp, c) for s, sp, c in counters if s.startswith("chaos|")]
    counter_spent = max((sp for _, sp, _ in chaos_counters), default=0.0)
    console.print(f"429s returned: {n429:,}; 5xx returned: {n5xx:,} "
                  f"(500: {faults.get('server_error', 0)}, 503: {faults.get('unavailable', 0)}, "
                  f"529: {faults.get('overloaded', 0)}); other faults: "
                  f"{sum(faults.values()) - faults.get(None, 0) - n429 - n5xx:,}")
    console.print(f"spend: events.cost_usd sum ${spent_events:.6f}, budget counter "
                  f"${counter_spent:.6f}, cap ${cap:.6f} (median event ${per_event:.6f})")
    console.print(f"none lost (events rows == {n:,}, results == {n:,}): "
                  f"{'meets' if lost == 0 and len(results) == n else 'MISSES'} "
                  f"(rows {len(rows):,}, results {len(results):,})")
    console.print(f"all terminal: {'meets' if terminal == len(rows) == n else 'MISSES'} "
                  f"({terminal:,} of {len(rows):,})")
    console.print(f"spend <= cap: "
                  f"{'meets' if spent_events <= cap + 1e-9 and not over_cap else 'MISSES'} "
                  f"(${spent_events:.6f} of ${cap:.6f}; counters over their cap: {len(over_cap)})")
    acted = len(ACTED)
    console.print(f"outbox actions run once per succeeded event: "
                  f"{'meets' if acted == states.get('succeeded', 0) else 'MISSES'} "
                  f"({acted:,} actions, {states.get('succeeded', 0):,} succeeded)")
    reached = states.get("over_budget", 0) > 0
    console.print(f"cap reached partway: {'yes' if reached else 'no'} "
                  f"({states.get('over_budget', 0):,} events over budget)")


if __name__ == "__main__":
    main()
