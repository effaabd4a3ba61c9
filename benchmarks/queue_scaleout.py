"""Scale-out of the background shape: 1, 2, 4 and 8 ``seamline worker`` processes on PostgreSQL.

Each run gets a throwaway PostgreSQL database and its own batch of events; the model is
the provider emulator (its own process, OpenAI wire, a fixed ~200 ms per answer, no
faults); every worker runs with ``--concurrency 1``, so processes are the unit of scale.
The workers are started first and the events enqueued once every one of them is up, so
start-up (imports on two cores) is not measured. Throughput is events from the first
event admitted to the last job finished (the store's own timestamps); the speed-up is
against one worker. The queue's own cost is measured twice: the workers' time in claim
and settle statements (their summary's "queue ms per job"), and ``JobQueue.claim`` +
``finish`` in a tight loop with no pipeline at all.

    python benchmarks/queue_scaleout.py [--workers 1 2 4 8] [--seconds 15] [--latency 0.2]

The PostgreSQL server is ``SEAMLINE_BENCH_PG`` (an admin URL; default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres, trust auth).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _emuproc import EmulatorProcess

from seamline.emulator import FaultPlan, Latency
from seamline.queue import DONE, JobQueue
from seamline.store import open_store
from seamline.store.tables import events, jobs

ADMIN_URL = os.environ.get("SEAMLINE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
VAULT_KEY = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="
SEAMLINE = [sys.executable, "-m", "seamline"]  # the CLI, as `seamline ...` runs it
ANSWER = {"label": "refund", "confidence": 0.9, "amount": 20.0}

INTEGRATION = """\
name: scaleout
checklist:
  workflow: Tag refund requests (the queue scale-out benchmark).
  owner: benchmarks
  baseline_metric: none
  monthly_cost_ceiling_usd: 1000
input_schema:
  name: Ticket
  fields:
    ticket_id: {{type: str, min_length: 1}}
    tenant: {{type: str, default: t1}}
    body: {{type: str, min_length: 1}}
output_schema:
  name: Verdict
  fields:
    label: {{enum: [refund, other]}}
    confidence: {{type: float, ge: 0, le: 1}}
    amount: {{type: float, default: 0.0}}
pii: {{ticket_id: allow, tenant: allow, body: redact}}
prompt:
  system: Classify the ticket; answer JSON only.
  user: "Ticket {{{{ ticket_id }}}}: {{{{ body }}}}"
model:
  provider: openai
  model: gpt-4.1-mini
  base_url: {base_url}/v1
  api_key_env: SCALEOUT_EMULATOR_KEY
  max_output_tokens: 60
  context_window: 2000
actions:
  - name: tag
    handler: app.py:tag
    params: {{ticket: input.ticket_id, label: output.label}}
rollout: {{flag: scaleout.ai, default: "on", baseline: app.py:baseline}}
queue: {{lease_s: 30}}
idempotency_key: ticket_id
tenant_key: tenant
"""

APP = '''\
def tag(params, *, idempotency_key):
    return {"ok": True}


def baseline(data):
    return {"label": "other", "confidence": 0.5}
'''


@contextmanager
def throwaway_database() -> Iterator[str]:
    name = f"seamline_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def tickets(n: int, prefix: str) -> list[dict]:
    return [{"ticket_id": f"{prefix}-{i}", "tenant": f"t{i % 4}",
             "body": f"Please refund order {i}; reach me at buyer{i}@example.com."}
            for i in range(n)]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU a process has used so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_workers(workdir: Path, db: str, env: dict[str, str], workers: int, n: int,
                timeout_s: float) -> dict:
    """Start ``workers`` processes, wait until each is up, enqueue ``n`` events, wait for
    them all to finish, stop the workers (SIGTERM) and read what they and the store say."""
    store = open_store(db)  # migrates the fresh database before the workers race to
    logs = [workdir / f"w{workers}-{i}.log" for i in range(workers)]
    procs = []
    for log in logs:
        with log.open("wb") as out:
            procs.append(subprocess.Popen(
                [*SEAMLINE, "worker", str(workdir / "integration.yaml"), "--db", db,
                 "--concurrency", "1"], env=env, cwd=workdir, stdout=out,
                stderr=subprocess.STDOUT))
    try:
        deadline = time.monotonic() + 120
        while not all("1 at a time" in log.read_text(errors="replace") for log in logs):
            if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
                raise RuntimeError("a worker did not start:\n" + "\n".join(
                    log.read_text(errors="replace")[-1500:] for log in logs))
            time.sleep(0.1)
        cpu_ready = [cpu_seconds(p.pid) for p in procs]
        q = JobQueue(store)
        q.enqueue_many("scaleout", tickets(n, f"w{workers}"))
        deadline = time.monotonic() + timeout_s
        while q.counts().get(DONE, 0) < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{workers} worker(s) did not finish {n} events in "
                                   f"{timeout_s:.0f} s: {q.counts()}")
            time.sleep(0.2)
        cpu_end = [cpu_seconds(p.pid) for p in procs]
        used = [b - a for a, b in zip(cpu_ready, cpu_end) if a is not None and b is not None]
        cpu_ms = sum(used) / n * 1000 if len(used) == len(procs) else None
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
    with store.read() as conn:
        first = conn.execute(select(func.min(events.c.created_at))).scalar_one()
        last = conn.execute(select(func.max(jobs.c.updated_at))
                            .where(jobs.c.status == DONE)).scalar_one()
        lat = [u - c for c, u in conn.execute(select(events.c.created_at, events.c.updated_at))]
        states = dict(conn.execute(select(events.c.state, func.count())
                                   .group_by(events.c.state)).all())
    store.close()
    per_job = []
    for log in logs:
        m = re.search(r"queue ms per job\s*\S\s*([0-9.]+)", log.read_text(errors="replace"))
        if m:
            per_job.append(float(m.group(1)))
    return {"workers": workers, "events": n, "window": last - first, "states": states,
            "latency_p50": statistics.median(lat), "queue_ms": per_job, "cpu_ms": cpu_ms}


def _drain(db: str, name: str, start_at: float) -> tuple[float, float, int, float]:
    """One claimer process: claim + finish until the queue is empty, from ``start_at``
    (time.time()) on; returns (claim s, finish s, jobs, time.time() at the end)."""
    store = open_store(db)
    q = JobQueue(store)
    claim_s = finish_s = 0.0
    done = 0
    time.sleep(max(0.0, start_at - time.time()))
    while True:
        t = time.perf_counter()
        got = q.claim(name, ["tight"], lease_s=30)
        claim_s += time.perf_counter() - t
        if not got:
            break
        t = time.perf_counter()
        q.finish(got[0], "succeeded")
        finish_s += time.perf_counter() - t
        done += 1
    end = time.time()
    store.close()
    return claim_s, finish_s, done, end


def claim_loop(db: str, claimers: int, n: int) -> tuple[float, float, float]:
    """``JobQueue.claim`` + ``finish`` alone, no pipeline, from ``claimers`` processes that
    start together: (µs per claim, µs per finish, jobs per second overall)."""
    store = open_store(db)
    JobQueue(store).enqueue_many("tight", [{"ticket_id": f"t{i}", "body": "x"} for i in range(n)])
    store.close()
    start_at = time.time() + 3 + claimers  # after every process has imported and connected
    with ProcessPoolExecutor(claimers, mp_context=mp.get_context("spawn")) as pool:
        spent = list(pool.map(_drain, [db] * claimers, [f"loop-{i}" for i in range(claimers)],
                              [start_at] * claimers))
    assert sum(r[2] for r in spent) == n, spent
    elapsed = max(r[3] for r in spent) - start_at
    return (sum(r[0] for r in spent) / n * 1e6, sum(r[1] for r in spent) / n * 1e6,
            n / elapsed)


def claim_by_depth(db: str, depths: tuple[int, ...], probes: int = 30) -> list[tuple[int, float]]:
    """Median µs of one claim (+ its finish) with this many jobs ready in the table."""
    store = open_store(db)
    q = JobQueue(store)
    out, depth = [], 0
    for target in depths:
        while depth < target:
            k = min(5000, target - depth)
            q.enqueue_many("deep", [{"ticket_id": f"d{depth + i}", "body": "x"} for i in range(k)])
            depth += k
        with store.write() as conn:
            conn.execute(text("ANALYZE jobs"))
        took = []
        for _ in range(probes):
            t = time.perf_counter()
            (job,) = q.claim("probe", ["deep"], lease_s=30)
            took.append(time.perf_counter() - t)
            q.finish(job, "succeeded")
        depth -= probes
        out.append((target, statistics.median(took) * 1e6))
    store.close()
    return out


def commit_cost(db: str, n: int = 200) -> float:
    """µs for a one-row UPDATE and its commit: the floor under every queue statement."""
    engine = create_engine(db)
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE probe (id int PRIMARY KEY, v int)"))
        conn.execute(text("INSERT INTO probe VALUES (1, 0)"))
        conn.commit()
        t = time.perf_counter()
        for _ in range(n):
            conn.execute(text("UPDATE probe SET v = v + 1 WHERE id = 1"))
            conn.commit()
        elapsed = time.perf_counter() - t
    engine.dispose()
    return elapsed / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--seconds", type=float, default=15.0,
                    help="size each run to take about this long at linear scaling")
    ap.add_argument("--latency", type=float, default=0.2, help="the emulated model's latency, s")
    ap.add_argument("--per-event-s", type=float, default=0.24,
                    help="one worker's seconds per event, for sizing the runs")
    ap.add_argument("--loop-jobs", type=int, default=2000)
    args = ap.parse_args()
    console = Console(width=140)
    env = {k: v for k, v in os.environ.items()
           if k not in ("SEAMLINE_DB", "SEAMLINE_REDIS_URL", "SEAMLINE_GLOBAL_DAILY_USD")}
    env.update(SEAMLINE_VAULT_KEY=VAULT_KEY, SCALEOUT_EMULATOR_KEY="sk-scaleout")
    os.environ["SEAMLINE_VAULT_KEY"] = VAULT_KEY
    plan = FaultPlan(latency=Latency.fixed(args.latency))

    results = []
    with tempfile.TemporaryDirectory() as tmp, \
            EmulatorProcess(plan.model_dump(mode="json"), answer=ANSWER) as emu:
        workdir = Path(tmp)
        (workdir / "integration.yaml").write_text(INTEGRATION.format(base_url=emu.base_url))
        (workdir / "app.py").write_text(APP)
        for w in args.workers:
            n = max(20, round(args.seconds / args.per_event_s * w))
            with throwaway_database() as db:
                r = run_workers(workdir, db, env, w, n, timeout_s=args.seconds * 8 + 60)
            results.append(r)
            console.print(f"  {w} worker(s): {n} events in {r['window']:.1f} s")
        loops = []
        for claimers in (1, 4, 8):
            with throwaway_database() as db:
                loops.append((claimers, *claim_loop(db, claimers, args.loop_jobs)))
        with throwaway_database() as db:
            commit_us = commit_cost(db)
        with throwaway_database() as db:
            depths = claim_by_depth(db, (1_000, 10_000, 50_000))

    base = results[0]["events"] / results[0]["window"]
    table = Table(title=f"Queue scale-out on PostgreSQL: worker processes with --concurrency 1, "
                        f"emulated model {args.latency * 1000:.0f} ms, no faults")
    for col in ("workers", "events", "window s", "events/s", "speed-up", "per worker",
                "event p50 ms", "queue ms/job", "worker CPU ms/event"):
        table.add_column(col, justify="right")
    for r in results:
        rate = r["events"] / r["window"]
        speed = rate / base
        bad = {s: c for s, c in r["states"].items() if s != "succeeded"}
        table.add_row(str(r["workers"]), f"{r['events']:,}" + (f" {bad}" if bad else ""),
                      f"{r['window']:.1f}", f"{rate:.2f}", f"{speed:.2f}x",
                      f"{speed / r['workers'] * results[0]['workers']:.0%}",
                      f"{r['latency_p50'] * 1000:.0f}",
                      f"{statistics.mean(r['queue_ms']):.2f}" if r["queue_ms"] else "?",
                      f"{r['cpu_ms']:.1f}" if r["cpu_ms"] is not None else "?")
    console.print(table)

    lt = Table(title=f"The queue alone: JobQueue.claim + finish in a tight loop "
                     f"({args.loop_jobs:,} jobs, no pipeline)")
    for col in ("claimer processes", "claim µs", "finish µs", "µs per job", "jobs/s"):
        lt.add_column(col, justify="right")
    for claimers, claim_us, finish_us, rate in loops:
        lt.add_row(str(claimers), f"{claim_us:,.0f}", f"{finish_us:,.0f}",
                   f"{claim_us + finish_us:,.0f}", f"{rate:,.0f}")
    console.print(lt)
    console.print(f"One-row UPDATE + COMMIT on this server: {commit_us:,.0f} µs (the WAL flush "
                  "every queue statement waits for).")
    console.print("One claim with N jobs ready: " + ", ".join(
        f"{d:,} → {us:,.0f} µs" for d, us in depths))

    four = next((r for r in results if r["workers"] == 4), None)
    if four is not None and results[0]["workers"] == 1:
        speed = four["events"] / four["window"] / base
        console.print(f"4 workers vs 1: {speed:.2f}x (target at least 3.5x): "
                      f"{'meets' if speed >= 3.5 else 'MISSES'}")


if __name__ == "__main__":
    main()
