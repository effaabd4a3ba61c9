"""CHAOS TEST (PostgreSQL, ~40 s): workers SIGKILLed at random while the provider misbehaves.

1,000 events go on the queue with ``seamline enqueue``; several ``seamline worker``
processes drain it against one PostgreSQL database while a killer SIGKILLs a random
busy worker at random moments (twelve times) and starts a replacement, and the
provider emulator (real HTTP, OpenAI wire) answers ~21% of calls with 429 +
Retry-After, 500, 503, malformed or truncated JSON, a reset connection or a hang past
the timeout. The downstream system (``chaos_app/downstream.py``) is a PostgreSQL schema
that outlives the workers: it records every delivery, and the test counts deliveries as
effects — a receiver that does NOT dedupe.

Afterwards, what a user would check: every event has exactly one terminal state and
none is left mid-way; no action was delivered twice (intent before effect: a kill between
the outbox's intent and its result leaves the action *in doubt*, held for a person with
"may have run at …, worker N died", never resent blindly); every done action was
delivered once; the audit chain verifies; spend stayed under the daily cap the run was
sized to reach.
"""

from __future__ import annotations

import collections
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import yaml
from sqlalchemy import func, select

from seamline.audit import story, verify
from seamline.emulator import EmulatedRequest, Emulator, FaultPlan, FaultRule, Latency
from seamline.integration import load_integration, resolve
from seamline.queue import DEAD, DONE, QUEUED, RUNNING, JobQueue
from seamline.runtime import (
    ACTING,
    AWAITING_APPROVAL,
    DEAD_LETTERED,
    DUPLICATE,
    OVER_BUDGET,
    PROCESSING,
    RETRYING,
    SUCCEEDED,
    TERMINAL,
    Pipeline,
)
from seamline.store import open_store
from seamline.store.tables import audit_log, budget_counters, dead_letters, events, jobs, outbox

APP = Path(__file__).parent / "chaos_app"
SEAMLINE = [sys.executable, "-m", "seamline"]  # the CLI, as `seamline ...` runs it
VAULT_KEY = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="

EVENTS = 1_000
INVALID, NOT_JSON, DUPLICATES = 8, 2, 10  # lines among the 1,000 that end without the model
WORKERS, CONCURRENCY = 4, 4
MIN_KILLS = 12
CAP_SHARE = 0.9  # the daily cap is what this share of the valid events would cost...
STRANDED_PER_KILL = 1  # ...plus some of the reservations a kill strands (1-4 seen)
LINGER_S = 0.05  # downstream: between "sent" and the worker recording it in the outbox
RUN_LIMIT_S = 150  # give up (and fail) if the queue is not drained by then

# ~21% of answers are faults; the first matching rule wins, so each p is conditional.
FAULTS = FaultPlan(
    seed=11,
    latency=Latency.uniform(0.005, 0.02),
    rules=(
        FaultRule(kind="rate_limit", p=0.08, retry_after=0.2),
        FaultRule(kind="unavailable", p=0.03),
        FaultRule(kind="server_error", p=0.03),
        FaultRule(kind="malformed_json", p=0.02),
        FaultRule(kind="malformed_content", p=0.02),  # a paid reply the pipeline repairs
        FaultRule(kind="truncated_json", p=0.01),
        FaultRule(kind="reset", p=0.01),
        FaultRule(kind="hang", p=0.003, seconds=2.5),  # past the 2 s per-call timeout
    ),
)
_AMOUNT = re.compile(r"\(amount ([0-9.]+)\)")


def model_answer(request: EmulatedRequest) -> dict:
    """The emulated model: a refund when the ticket says so, with the ticket's amount."""
    m = _AMOUNT.search(request.user)
    return {"label": "refund" if "refund" in request.user.lower() else "other",
            "confidence": 0.9, "amount": float(m.group(1)) if m else 0.0}


def ticket(i: int) -> dict:
    refund = i % 5 < 3
    body = (f"Please refund order {i}; reach me at buyer{i}@example.com." if refund
            else f"Where is parcel {i}? It has been a week.")
    return {"ticket_id": f"T{i:04d}", "tenant": f"t{i % 5}", "customer": f"c{i % 37}",
            "amount": 950.0 if i % 97 == 0 else float(20 + i % 50), "body": body}


def event_lines(rng: random.Random) -> tuple[list[str], dict[str, int]]:
    """1,000 JSONL lines: valid tickets, a few invalid ones, non-JSON and duplicates."""
    valid = EVENTS - INVALID - NOT_JSON - DUPLICATES
    lines = [json.dumps(ticket(i)) for i in range(valid)]
    lines += [json.dumps({**ticket(10_000 + i), "body": ""}) for i in range(INVALID)]
    lines += ["{not json at all" for _ in range(NOT_JSON)]
    lines += [lines[rng.randrange(valid)] for _ in range(DUPLICATES)]
    rng.shuffle(lines)
    approvals = sum(1 for i in range(valid) if i % 97 == 0 and i % 5 < 3)
    return lines, {"valid": valid, "approvals": approvals}


def write_integration(tmp_path: Path, base_url: str, daily_cap: float) -> Path:
    data = yaml.safe_load((APP / "integration.yaml").read_text())
    data["model"]["base_url"] = base_url + "/v1"
    data["model"]["budgets"]["daily_usd"] = round(daily_cap, 6)
    for action in data["actions"]:
        action["handler"] = f"{APP / 'downstream.py'}:deliver"
    data["rollout"]["baseline"] = f"{APP / 'baseline.py'}:keyword"
    path = tmp_path / "integration.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def calibrate(tmp_path: Path, integration_file: Path) -> tuple[float, float]:
    """(median cost, median reservation estimate) of one event, from a dry run of ten
    events on a scratch SQLite store: no outbox, no counters in the real database."""
    store = open_store(tmp_path / "calibrate.db")
    pipeline = Pipeline(load_integration(integration_file), store, dry_run=True)
    costs, estimates = [], []
    for i in range(10):
        r = pipeline.process(ticket(50_000 + i))
        if r.state == SUCCEEDED:
            costs.append(r.cost_usd)
            estimates += [e["payload"]["estimate_usd"] for e in story(store, r.event_id)
                          if e["kind"] == "budget"]
    store.close()
    assert costs, "the calibration events never got an answer from the emulator"
    return statistics.median(costs), statistics.median(estimates)


class Fleet:
    """The worker processes: started, SIGKILLed, replaced, stopped; each with a log file."""

    def __init__(self, integration_file: Path, db: str, env: dict[str, str], logs: Path) -> None:
        self.args = [*SEAMLINE, "worker", str(integration_file), "--db", db,
                     "--concurrency", str(CONCURRENCY), "--quiet"]
        self.env, self.logs = env, logs
        self.alive: dict[int, tuple[subprocess.Popen, float]] = {}
        self.killed: list[int] = []
        self.started = 0

    def start(self, *extra: str) -> subprocess.Popen:
        self.started += 1
        log = (self.logs / f"worker-{self.started:02d}.log").open("wb")
        proc = subprocess.Popen(self.args + list(extra), env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, cwd=self.logs)
        log.close()
        self.alive[proc.pid] = (proc, time.monotonic())
        return proc

    def kill_one(self, rng: random.Random, busy: set[int]) -> int | None:
        """SIGKILL a random busy worker (not one still importing), and start a replacement."""
        ripe = [pid for pid in self.alive if pid in busy]
        if not ripe:
            return None
        pid = rng.choice(sorted(ripe))
        proc, _ = self.alive.pop(pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.killed.append(pid)
        self.start()
        return pid

    def crashed(self) -> list[tuple[int, int]]:
        """Workers that exited on their own: a crash the test did not cause."""
        return [(pid, p.returncode) for pid, (p, _) in self.alive.items() if p.poll() is not None]

    def stop_all(self) -> None:
        for proc, _ in self.alive.values():
            proc.send_signal(signal.SIGTERM)  # finish the jobs in hand
        for proc, _ in self.alive.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.alive.clear()

    def drain(self, timeout_s: float = 60) -> int:
        """Run one worker with --exit-when-idle to its end; its exit code."""
        proc = self.start("--exit-when-idle")
        try:
            return proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            raise
        finally:
            self.alive.pop(proc.pid, None)

    def tail(self, n: int = 3000) -> str:
        text = "".join(f"--- {p.name}\n{p.read_text(errors='replace')}"
                       for p in sorted(self.logs.glob("worker-*.log")))
        return text[-n:]


def busy_workers(downstream: psycopg.Connection, within_s: float = 1.0) -> set[int]:
    """Workers that delivered an action in the last second: past start-up, mid-run."""
    return {pid for (pid,) in downstream.execute(
        "SELECT DISTINCT pid FROM downstream.deliveries WHERE at > %s", (time.time() - within_s,))}


@pytest.fixture
def downstream(pg_url):
    """The downstream system's tables, in their own schema of the run's database."""
    conn = psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"),
                           autocommit=True)
    conn.execute(resolve(f"{APP / 'downstream.py'}:DDL"))
    yield conn
    conn.close()


def open_jobs(q: JobQueue) -> int:
    counts = q.counts()
    return counts.get(QUEUED, 0) + counts.get(RUNNING, 0)


@pytest.mark.timeout(400)
def test_chaos_sigkilled_workers_on_postgresql_act_once_and_lose_nothing(
        pg_url, downstream, tmp_path, monkeypatch):
    t0 = time.monotonic()
    rng = random.Random(20261125)
    downstream_url = pg_url.replace("postgresql+psycopg://", "postgresql://")
    env = {k: v for k, v in os.environ.items()
           if k not in ("SEAMLINE_DB", "SEAMLINE_REDIS_URL", "SEAMLINE_GLOBAL_DAILY_USD")}
    env.update(SEAMLINE_VAULT_KEY=VAULT_KEY, CHAOS_EMULATOR_KEY="sk-chaos-emulated",
               CHAOS_DOWNSTREAM_URL=downstream_url, CHAOS_DOWNSTREAM_FAIL_P="0.03",
               CHAOS_DOWNSTREAM_LINGER_S=str(LINGER_S), PYTHONUNBUFFERED="1")
    for k in ("SEAMLINE_DB", "SEAMLINE_REDIS_URL", "SEAMLINE_GLOBAL_DAILY_USD"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("SEAMLINE_VAULT_KEY", VAULT_KEY)
    monkeypatch.setenv("CHAOS_EMULATOR_KEY", "sk-chaos-emulated")

    with Emulator(model_answer, faults=FAULTS, seed=11).serve() as emu:
        # Size the cap from what one event costs, so the run reaches it near the end.
        per_event, estimate = calibrate(tmp_path, write_integration(tmp_path, emu.base_url, 1e6))
        lines, expect = event_lines(rng)
        # A SIGKILL strands the reservations of the calls in flight (they stay counted, on
        # the side of the cap), and so does each repair call (~2% of events here).
        stranded = (STRANDED_PER_KILL * MIN_KILLS + 0.02 * expect["valid"]) * estimate
        cap = per_event * expect["valid"] * CAP_SHARE + stranded
        integration_file = write_integration(tmp_path, emu.base_url, cap)
        emu.reset()

        inbox = tmp_path / "events.jsonl"
        inbox.write_text("\n".join(lines) + "\n")
        enq = subprocess.run([*SEAMLINE, "enqueue", str(integration_file), str(inbox),
                              "--db", pg_url], check=False, env=env, capture_output=True, text=True,
                             timeout=120)
        assert enq.returncode == 0, enq.stdout + enq.stderr

        store = open_store(pg_url)
        q = JobQueue(store)
        assert q.counts() == {QUEUED: EVENTS}
        fleet = Fleet(integration_file, pg_url, env, tmp_path)
        for _ in range(WORKERS):
            fleet.start()
        t_workers = time.monotonic()
        try:
            # The killer: a random worker at a random moment, until enough have died;
            # then the survivors drain the queue.
            while open_jobs(q) and time.monotonic() - t_workers < RUN_LIMIT_S:
                assert not fleet.crashed(), f"a worker crashed:\n{fleet.tail()}"
                if len(fleet.killed) < MIN_KILLS:
                    time.sleep(rng.uniform(0.4, 2.0))
                    fleet.kill_one(rng, busy_workers(downstream))
                else:
                    time.sleep(0.25)
        finally:
            fleet.stop_all()
        t_fleet = time.monotonic() - t_workers
        # The last word: a worker that exits when idle, run until no job is queued or
        # running (a job in backoff is not ready yet; a killed worker's lease must expire).
        drains = 0
        while drains == 0 or open_jobs(q) and time.monotonic() - t_workers < RUN_LIMIT_S + 30:
            if drains:
                time.sleep(0.5)
            drains += 1
            assert fleet.drain() == 0, fleet.tail()
        requests = emu.requests

    with store.read() as conn:
        job_rows = conn.execute(select(jobs.c.event_id, jobs.c.status, jobs.c.attempts,
                                       jobs.c.outcome)).all()
        event_rows = {r.id: r for r in conn.execute(
            select(events.c.id, events.c.state, events.c.stage, events.c.reason,
                   events.c.cost_usd))}
        outbox_rows = conn.execute(select(outbox.c.idempotency_key, outbox.c.event_id,
                                          outbox.c.status, outbox.c.params, outbox.c.intent_at,
                                          outbox.c.approval_reason, outbox.c.attempts)).all()
        dead_ids = set(conn.execute(select(dead_letters.c.event_id)).scalars())
        spent = float(conn.execute(select(func.coalesce(func.sum(events.c.cost_usd), 0.0)))
                      .scalar_one())
        counters = conn.execute(select(budget_counters.c.scope, budget_counters.c.spent_usd,
                                       budget_counters.c.cap_usd)).all()
        decisions = conn.execute(select(audit_log.c.event_id, audit_log.c.kind, audit_log.c.payload)
                                 .where(audit_log.c.kind.in_(("output", "actions_planned")))).all()
    chain = verify(store)
    store.close()
    deliveries = downstream.execute("SELECT idempotency_key, params, pid "
                                    "FROM downstream.deliveries ORDER BY id").fetchall()
    effects = dict(downstream.execute("SELECT idempotency_key, params FROM downstream.effects"))

    # ---- every event: exactly one terminal state, none mid-way ---------------------------
    assert fleet.killed and len(fleet.killed) >= MIN_KILLS
    assert len(job_rows) == EVENTS
    assert {j.status for j in job_rows} <= {DONE, DEAD}, collections.Counter(
        j.status for j in job_rows)
    enqueued = {j.event_id for j in job_rows}
    assert set(event_rows) == enqueued  # one row per enqueued event, no stray second event
    states = collections.Counter(event_rows[e].state for e in enqueued)
    assert not {PROCESSING, ACTING, RETRYING} & set(states), states
    assert set(states) <= set(TERMINAL), states
    for j in job_rows:  # the job's recorded outcome is its event's state
        assert j.outcome == event_rows[j.event_id].state, j
    assert states[DUPLICATE] == DUPLICATES
    ingest_dead = sum(1 for r in event_rows.values()
                      if r.state == DEAD_LETTERED and r.stage == "ingest")
    assert ingest_dead == INVALID + NOT_JSON
    assert all(e in dead_ids for e, r in event_rows.items() if r.state == DEAD_LETTERED)

    # A kill may cost a second model call, never a second decision: one valid output and
    # one outbox plan per event, whatever the workers went through.
    decided = collections.Counter((e, k) for e, k, p in decisions
                                  if k == "actions_planned" or json.loads(p)["valid"])
    assert max(decided.values()) == 1, [ek for ek, n in decided.items() if n > 1][:5]

    # ---- every planned action: effected exactly once downstream --------------------------
    by_status = collections.Counter(o.status for o in outbox_rows)
    assert set(by_status) <= {"done", "awaiting_approval", "failed"}, by_status
    for o in outbox_rows:
        if o.status == "failed":
            assert event_rows[o.event_id].state == DEAD_LETTERED and o.event_id in dead_ids
        if o.status == "awaiting_approval":
            assert event_rows[o.event_id].state == AWAITING_APPROVAL
    done = {o.idempotency_key: json.loads(o.params) for o in outbox_rows if o.status == "done"}
    doubtful = {o.idempotency_key for o in outbox_rows
                if o.status == "awaiting_approval" and o.intent_at is not None}
    sent = collections.Counter(k for k, _, _ in deliveries)
    # The receiver does not dedupe: every delivery is an effect. None twice, ever.
    twice = {k: n for k, n in sent.items() if n > 1}
    assert not twice, f"{len(twice)} key(s) took effect more than once: {list(twice)[:5]}"
    assert set(done) <= set(sent)  # each done action took effect...
    assert set(sent) <= set(done) | doubtful  # ...and only those, or ones held in doubt
    assert all(effects[k] == params for k, params in done.items())
    for o in outbox_rows:  # in doubt: held for a person, saying when and whose worker died
        if o.idempotency_key in doubtful:
            assert o.approval_reason.startswith("in doubt: may have run at "), o
            assert event_rows[o.event_id].state == AWAITING_APPROVAL
    succeeded = [e for e, r in event_rows.items() if r.state == SUCCEEDED]
    assert succeeded and 1 <= states[AWAITING_APPROVAL] <= expect["approvals"] + len(doubtful)

    # ---- the audit chain and the money ---------------------------------------------------
    assert chain.ok, chain.problems[:5]
    daily = [c for c in counters if "|day|" in c.scope]
    assert daily and all(c.spent_usd <= c.cap_usd + 1e-9 for c in counters), counters
    # The cap is per UTC day. A run that crosses midnight (CI once did: spend $0.3403 over
    # a $0.3322 cap, every counter under its cap) spends under two daily counters, each
    # capped; what holds on every day is spend <= the days' counters <= days x cap.
    assert spent <= sum(c.spent_usd for c in daily) + 1e-9  # a crashed reservation stays counted
    assert spent <= cap * len(daily) + 1e-9
    if len(daily) == 1:
        assert spent <= cap + 1e-9
    assert states[OVER_BUDGET] >= 1 and spent >= cap * 0.7  # the run did reach its cap

    faults = collections.Counter(r.fault or "ok" for r in requests)
    print(f"\nchaos on PostgreSQL: {EVENTS} events, {WORKERS} workers x {CONCURRENCY}, "
          f"{len(fleet.killed)} SIGKILLs, {fleet.started} worker starts ({drains} final drains); "
          f"fleet {t_fleet:.1f} s, whole test {time.monotonic() - t0:.1f} s")
    later_dead = collections.Counter(f"{r.stage}: {r.reason[:70]}" for r in event_rows.values()
                                     if r.state == DEAD_LETTERED and r.stage != "ingest")
    print(f"  states: {dict(states.most_common())}; dead letters past ingest: {dict(later_dead)}")
    print(f"  actions: {dict(by_status)}; {len(deliveries)} deliveries for {len(sent)} keys, "
          f"{len(twice)} key(s) delivered more than once; {len(doubtful)} in doubt, held for "
          f"a person ({sum(1 for k in doubtful if k in sent)} of them had taken effect)")
    print(f"  emulator: {len(requests)} requests, {dict(faults.most_common())}")
    counted = sum(c.spent_usd for c in daily)
    print(f"  spend ${spent:.4f} of the ${cap:.4f} daily cap (counter ${counted:.4f}: "
          f"${counted - spent:.4f} in stranded reservations); per event ${per_event:.6f}, "
          f"reserved ${estimate:.6f}; audit chain of {chain.rows:,} rows verifies")
