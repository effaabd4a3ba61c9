"""Chaos drill through the public CLI only, on SQLite and PostgreSQL (``make bench-chaos``).

Per database: ``seamline emulate`` serves the model with ~20% injected faults (429 +
Retry-After, 500, 503, 529, malformed and truncated JSON, resets, hangs); ``seamline
enqueue`` queues 1,050 events; several ``seamline worker`` processes drain them while a
killer SIGKILLs a random worker at random moments (at least ten times) and starts a
replacement; the daily cap is sized to be reached mid-run; and mid-run the store's volume
fills up (a size-limited tmpfs: the SQLite file lives on it, or the PostgreSQL database's
tablespace does) for a few seconds and is then freed.

The receiver does NOT dedupe: every call appends its idempotency key to a log and fsyncs
it before returning, so every effect is counted, twice if it happened twice.

It prints: enqueued, per terminal state, lost, effects per key (0 / 1 / >1), actions in
doubt held for a person, faults injected by kind (the emulator's ``/_emulator/stats``),
spend vs cap, what ``seamline queue status`` said while the disk was full, the WAL's
peak size (SQLite), and whether ``seamline audit verify`` passes.
Target: 0 lost, 0 keys with more than one effect, every in-doubt action visible, spend <= cap.

    python benchmarks/chaos.py [--db sqlite|postgresql|both] [--events 1050] [--kills 12]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _common import free_port  # noqa: E402

SEAMLINE = [sys.executable, "-m", "seamline"]
VAULT_KEY = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="
PG_ADMIN = os.environ.get("SEAMLINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TERMINAL = {"succeeded", "dead_lettered", "awaiting_approval", "over_budget", "baseline",
            "duplicate", "rejected"}

FAULTS = """
seed: 17
latency: {kind: uniform, low: 0.005, high: 0.02}
rules:
  - {kind: rate_limit, p: 0.08, retry_after: 0.2}
  - {kind: unavailable, p: 0.03}
  - {kind: server_error, p: 0.03}
  - {kind: overloaded, p: 0.02}
  - {kind: malformed_json, p: 0.02}
  - {kind: malformed_content, p: 0.02}
  - {kind: truncated_json, p: 0.01}
  - {kind: reset, p: 0.01}
  - {kind: hang, p: 0.003, seconds: 2.5}
"""

MODEL = '''
import re
_AMOUNT = re.compile(r"\\(amount ([0-9.]+)\\)")

def answer(request):
    m = _AMOUNT.search(request.user)
    return {"label": "refund" if "refund" in request.user.lower() else "other",
            "confidence": 0.9, "amount": float(m.group(1)) if m else 0.0}
'''

RECEIVER = '''
"""A receiver that does NOT dedupe: every call is an effect, appended and fsynced."""
import os, random, time

def deliver(params, *, idempotency_key):
    if random.random() < float(os.environ.get("CHAOS_FAIL_P", "0")):
        raise ConnectionError("the receiver blinked")  # before anything was done
    fd = os.open(os.environ["CHAOS_EFFECTS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{idempotency_key}\\t{os.getpid()}\\t{time.time():.6f}\\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    time.sleep(float(os.environ.get("CHAOS_LINGER_S", "0.03")))  # effect done, not yet recorded
    return {"ok": True}
'''

BASELINE = '''
def keyword(data):
    refund = "refund" in str(data.get("body", "")).lower()
    return {"label": "refund" if refund else "other", "confidence": 0.5,
            "amount": data.get("amount", 0.0) if refund else 0.0}
'''

INTEGRATION = """
name: chaos_bench
checklist:
  workflow: Route refund requests and notify the customer, under SIGKILLs, faults and a full disk.
  owner: benchmarks
  baseline_metric: none (a benchmark)
  monthly_cost_ceiling_usd: 1000
input_schema:
  name: ChaosTicket
  fields:
    ticket_id: {{type: str, min_length: 1}}
    tenant: {{type: str, default: t1}}
    customer: {{type: str, default: c1}}
    amount: {{type: float, default: 0.0}}
    body: {{type: str, min_length: 1}}
output_schema:
  name: ChaosVerdict
  fields:
    label: {{enum: [refund, other]}}
    confidence: {{type: float, ge: 0, le: 1}}
    amount: {{type: float, default: 0.0}}
pii: {{ticket_id: allow, tenant: allow, customer: allow, amount: allow, body: redact}}
prompt:
  system: Classify the ticket as refund or other; answer JSON only.
  user: "Ticket {{{{ ticket_id }}}} (amount {{{{ amount }}}}): {{{{ body }}}}"
model:
  provider: openai
  model: gpt-4.1-mini
  base_url: {base_url}
  api_key_env: CHAOS_EMULATOR_KEY
  input_usd_per_mtok: 3.0
  output_usd_per_mtok: 15.0
  max_output_tokens: 60
  context_window: 2000
  timeout_s: 2
  retry: {{max_retries: 2, base_delay_s: 0.05, max_delay_s: 0.5, deadline_s: 5}}
  breaker: {{failure_threshold: 8, cooldown_s: 0.5}}
  budgets: {{daily_usd: {cap}}}
actions:
  - name: notify
    handler: {app}/receiver.py:deliver
    params: {{action: "'notify'", ticket: input.ticket_id, label: output.label}}
  - name: refund
    handler: {app}/receiver.py:deliver
    when: output.label == 'refund'
    params: {{action: "'refund'", ticket: input.ticket_id, amount: output.amount}}
    approval: {{amount_field: amount, above_amount: 900}}
rollout:
  flag: chaos_bench.ai
  default: "on"
  sticky_key: customer
  baseline: {app}/baseline.py:keyword
  baseline_on_failure: false
queue:
  attempts: {{inference: 6, actions: 8}}
  backoff_s: 0.1
  backoff_max_s: 1.0
  max_claims: 12
  lease_s: 2
idempotency_key: ticket_id
tenant_key: tenant
"""


def ticket(i: int) -> dict:
    refund = i % 5 < 3
    body = (f"Please refund order {i}; reach me at buyer{i}@example.com." if refund
            else f"Where is parcel {i}? It has been a week.")
    return {"ticket_id": f"T{i:05d}", "tenant": f"t{i % 5}", "customer": f"c{i % 37}",
            "amount": 950.0 if i % 97 == 0 else float(20 + i % 50), "body": body}


def event_lines(n: int, rng: random.Random) -> list[str]:
    invalid, not_json, dupes = 8, 2, 10
    valid = n - invalid - not_json - dupes
    lines = [json.dumps(ticket(i)) for i in range(valid)]
    lines += [json.dumps({**ticket(100_000 + i), "body": ""}) for i in range(invalid)]
    lines += ["{not json at all"] * not_json
    lines += [lines[rng.randrange(valid)] for _ in range(dupes)]
    rng.shuffle(lines)
    return lines


# ---- a volume that can be filled -----------------------------------------------------------


class Volume:
    """A size-limited tmpfs (root only); ``fill()`` takes every free byte, ``free()`` gives
    them back. Without root, ``ok`` is False and the drill says the full disk was skipped."""

    def __init__(self, path: Path, size_mb: int) -> None:
        self.path, self.ok, self.why = path, False, ""
        path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0777",
                               "tmpfs", str(path)], capture_output=True, text=True, check=False)
        self.ok = done.returncode == 0
        self.why = done.stderr.strip()
        self.filler = path / "filler.bin"

    def fill(self) -> int:
        written = 0
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            for size in (1 << 20, 4096, 512):
                chunk = b"\0" * size
                try:
                    while True:
                        written += os.write(fd, chunk)
                except OSError:
                    pass
        finally:
            os.close(fd)
        return written

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def close(self) -> None:
        self.free()
        if self.ok:
            subprocess.run(["umount", "-l", str(self.path)], check=False, capture_output=True)


# ---- the drill -----------------------------------------------------------------------------


class Fleet:
    def __init__(self, integration: Path, db: str, env: dict[str, str], logs: Path,
                 concurrency: int) -> None:
        self.args = [*SEAMLINE, "worker", str(integration), "--db", db, "--concurrency",
                     str(concurrency), "--quiet"]
        self.env, self.logs = env, logs
        self.alive: dict[int, subprocess.Popen] = {}
        self.killed: list[int] = []
        self.started = 0
        self.exits: list[int] = []

    def start(self, *extra: str) -> subprocess.Popen:
        self.started += 1
        with (self.logs / f"worker-{self.started:02d}.log").open("wb") as log:
            proc = subprocess.Popen(self.args + list(extra), env=self.env, stdout=log,
                                    stderr=subprocess.STDOUT, cwd=self.logs)
        self.alive[proc.pid] = proc
        return proc

    def kill_one(self, rng: random.Random, busy: set[int]) -> int | None:
        ripe = sorted(pid for pid in self.alive if pid in busy)
        if not ripe:
            return None
        pid = rng.choice(ripe)
        proc = self.alive.pop(pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.killed.append(pid)
        self.start()
        return pid

    def stop_all(self) -> None:
        for proc in self.alive.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.alive.values():
            try:
                self.exits.append(proc.wait(60))
            except subprocess.TimeoutExpired:
                proc.kill()
                self.exits.append(proc.wait(5))
        self.alive.clear()


def busy_pids(effects: Path, within_s: float = 1.5) -> set[int]:
    """Workers that delivered an action in the last moments: past start-up, mid-run."""
    try:
        tail = effects.read_bytes()[-20_000:].decode(errors="replace").splitlines()
    except FileNotFoundError:
        return set()
    now = time.time()
    out = set()
    for line in tail[1:]:
        parts = line.split("\t")
        if len(parts) == 3 and now - float(parts[2]) < within_s:
            out.add(int(parts[1]))
    return out


def read_store(url: str):
    from sqlalchemy import func, select

    from seamline.store import open_store
    from seamline.store.tables import budget_counters, events, jobs, outbox

    store = open_store(url)
    with store.read() as conn:
        job_rows = conn.execute(select(jobs.c.event_id, jobs.c.status)).all()
        ev = {r.id: r for r in conn.execute(select(events.c.id, events.c.state,
                                                   events.c.cost_usd))}
        ob = conn.execute(select(outbox.c.idempotency_key, outbox.c.status, outbox.c.intent_at,
                                 outbox.c.approval_reason, outbox.c.attempts)).all()
        spent = float(conn.execute(select(func.coalesce(func.sum(events.c.cost_usd), 0.0)))
                      .scalar_one())
        counters = conn.execute(select(budget_counters.c.scope, budget_counters.c.spent_usd,
                                       budget_counters.c.cap_usd)).all()
    store.close()
    return job_rows, ev, ob, spent, counters


def calibrate(app: Path, work: Path, env: dict[str, str]) -> float:
    """Median cost of one event, from 10 events run by `seamline run` against a fault-free
    emulator on a scratch SQLite store."""
    port = free_port()
    emu = subprocess.Popen([*SEAMLINE, "emulate", "--port", str(port), "--script",
                            f"{app}/model.py:answer"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/_emulator/stats")
        spec = work / "calibrate.yaml"
        spec.write_text(INTEGRATION.format(base_url=f"http://127.0.0.1:{port}/v1", cap=1e6,
                                           app=app))
        sample = work / "calibrate.jsonl"
        sample.write_text("\n".join(json.dumps(ticket(50_000 + i)) for i in range(10)) + "\n")
        db = work / "calibrate.db"
        subprocess.run([*SEAMLINE, "run", str(spec), "--input", str(sample), "--db", str(db)],
                       env={**env, "CHAOS_EFFECTS": str(work / "calibrate-effects.log")},
                       check=True, capture_output=True, timeout=300)
        _, ev, _, _, _ = read_store(str(db))
        costs = [r.cost_usd for r in ev.values() if r.state == "succeeded" and r.cost_usd > 0]
        return statistics.median(costs)
    finally:
        emu.send_signal(signal.SIGINT)
        emu.wait(20)


def wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            httpx.get(url, timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout_s:g} s")


def pg_database(volume: Volume, name: str) -> tuple[str, str | None]:
    """A fresh PostgreSQL database; on the volume (a tablespace) when the volume is mounted."""
    import psycopg

    tablespace = None
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if volume.ok:
            tablespace = f"{name}_ts"
            conn.execute(f'DROP TABLESPACE IF EXISTS "{tablespace}"')
            loc = volume.path / "pg"
            loc.mkdir(exist_ok=True)
            shutil.chown(loc, "postgres", "postgres")
            conn.execute(f"CREATE TABLESPACE \"{tablespace}\" LOCATION '{loc}'")
            conn.execute(f'CREATE DATABASE "{name}" TABLESPACE "{tablespace}"')
        else:
            conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    return url.replace("postgresql://", "postgresql+psycopg://", 1), tablespace


def drop_pg(name: str, tablespace: str | None) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if tablespace:
            conn.execute(f'DROP TABLESPACE IF EXISTS "{tablespace}"')


def drill(kind: str, n_events: int, min_kills: int, workers: int, concurrency: int,
          seed: int) -> dict:
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix=f"seamline-chaos-{kind}-"))
    work.chmod(0o755)  # PostgreSQL's server (its own user) must reach the tablespace in it
    app = work / "app"
    app.mkdir()
    (app / "model.py").write_text(textwrap.dedent(MODEL))
    (app / "receiver.py").write_text(textwrap.dedent(RECEIVER))
    (app / "baseline.py").write_text(textwrap.dedent(BASELINE))
    (work / "drill.yaml").write_text(FAULTS)
    effects = work / "effects.log"
    env = {k: v for k, v in os.environ.items()
           if k not in ("SEAMLINE_DB", "SEAMLINE_REDIS_URL", "SEAMLINE_GLOBAL_DAILY_USD")}
    env.update(SEAMLINE_VAULT_KEY=VAULT_KEY, CHAOS_EMULATOR_KEY="sk-chaos", PYTHONUNBUFFERED="1",
               CHAOS_EFFECTS=str(effects), CHAOS_FAIL_P="0.03", CHAOS_LINGER_S="0.03")
    volume = Volume(work / "volume", 160 if kind == "sqlite" else 256)
    pg = None
    wal_peak = 0
    try:
        per_event = calibrate(app, work, env)
        lines = event_lines(n_events, rng)
        valid = n_events - 20
        cap = round(per_event * valid * 0.75, 6)  # reached about three quarters through
        if kind == "sqlite":
            folder = volume.path if volume.ok else work
            db = f"{folder}/chaos.db"
        else:
            name = f"seamline_chaos_{os.getpid()}"
            db, ts = pg_database(volume, name)
            pg = (name, ts)
        port = free_port()
        emu_log = (work / "emulator.log").open("wb")
        emu = subprocess.Popen([*SEAMLINE, "emulate", "--port", str(port), "--script",
                                f"{app}/model.py:answer", "--faults", str(work / "drill.yaml")],
                               env=env, stdout=emu_log, stderr=subprocess.STDOUT)
        wait_http(f"http://127.0.0.1:{port}/_emulator/stats")
        spec = work / "integration.yaml"
        spec.write_text(INTEGRATION.format(base_url=f"http://127.0.0.1:{port}/v1", cap=cap,
                                           app=app))
        inbox = work / "events.jsonl"
        inbox.write_text("\n".join(lines) + "\n")
        subprocess.run([*SEAMLINE, "enqueue", str(spec), str(inbox), "--db", db], env=env,
                       check=True, capture_output=True, timeout=300)
        fleet = Fleet(spec, db, env, work, concurrency)
        t0 = time.monotonic()
        for _ in range(workers):
            fleet.start()
        full_said, full_at, filled = "", None, 0
        statuses = []
        while time.monotonic() - t0 < 600:
            jobs_left = open_jobs(db)
            statuses.append(jobs_left)
            if kind == "sqlite":
                wal = Path(db + "-wal")
                wal_peak = max(wal_peak, wal.stat().st_size if wal.exists() else 0)
            if not jobs_left and len(fleet.killed) >= min_kills:
                break
            done_share = 1 - jobs_left / n_events
            if volume.ok and full_at is None and done_share > 0.35:
                filled = volume.fill()
                full_at = time.monotonic()
            if full_at is not None and filled and time.monotonic() - full_at > 6:
                time.sleep(0)
                st = subprocess.run([*SEAMLINE, "queue", "status", "--db", db],
                                    env={**env, "COLUMNS": "400"}, capture_output=True,
                                    text=True, timeout=60)
                full_said = (st.stdout + st.stderr).strip().splitlines()
                full_said = "\n".join(sorted((x for x in full_said if "worker" in x),
                                              key=lambda x: not x.startswith("unhealthy")))
                volume.free()
                filled = 0
            if len(fleet.killed) < min_kills and rng.random() < 0.5:
                fleet.kill_one(rng, busy_pids(effects))
            time.sleep(rng.uniform(0.3, 1.5))
        fleet.stop_all()
        # The last word: a worker that exits when the queue is drained.
        drain = fleet.start("--exit-when-idle")
        drain_rc = drain.wait(300)
        fleet.alive.pop(drain.pid, None)
        elapsed = time.monotonic() - t0
        stats = httpx.get(f"http://127.0.0.1:{port}/_emulator/stats", timeout=5).json()
        emu.send_signal(signal.SIGINT)
        emu.wait(20)
        emu_log.close()
        summary_line = next((x for x in (work / "emulator.log").read_text().splitlines()
                             if x.startswith("emulator: ")), "")
        verify = subprocess.run([*SEAMLINE, "audit", "verify", "--db", db], env=env,
                                capture_output=True, text=True, timeout=600)
        approvals = subprocess.run([*SEAMLINE, "approvals", "list", "--db", db],
                                   env={**env, "COLUMNS": "400"}, capture_output=True,
                                   text=True, timeout=120)
        job_rows, ev, ob, spent, counters = read_store(db)
        db_mb = (round(Path(db).stat().st_size / 1e6, 2) if kind == "sqlite"
                 and Path(db).exists() else None)
    finally:
        volume.close() if kind == "sqlite" else None
    enqueued = {j.event_id for j in job_rows}
    states = collections.Counter(ev[e].state if e in ev else "missing" for e in enqueued)
    lost = sum(n for s, n in states.items() if s not in TERMINAL)
    per_key = collections.Counter(line.split("\t")[0] for line in
                                  (effects.read_text().splitlines() if effects.exists() else []))
    planned = [o.idempotency_key for o in ob]
    effects_hist = collections.Counter(min(per_key.get(k, 0), 2) for k in planned)
    doubt = [o for o in ob if o.status == "awaiting_approval" and o.intent_at is not None]
    shown = approvals.stdout.count("in doubt: may have run at")
    daily = [c for c in counters if "|day|" in c.scope]
    result = {
        "db": kind, "events": n_events, "elapsed_s": round(elapsed, 1),
        "workers": workers, "concurrency": concurrency, "kills": len(fleet.killed),
        "worker_starts": fleet.started, "drain_exit": drain_rc,
        "stopped_exits": collections.Counter(fleet.exits),
        "states": dict(states.most_common()), "lost": lost,
        "effects_per_key": {"0": effects_hist.get(0, 0), "1": effects_hist.get(1, 0),
                            ">1": effects_hist.get(2, 0)},
        "effects_total": sum(per_key.values()),
        "in_doubt": len(doubt), "in_doubt_with_effect": sum(1 for o in doubt
                                                            if per_key.get(o.idempotency_key)),
        "in_doubt_visible_in_cli": shown,
        "in_doubt_samples": [o.approval_reason for o in doubt[:3]],
        "emulator": stats, "emulator_summary": summary_line,
        "spent": round(spent, 6), "cap": cap, "days": len(daily),
        "counters": [(c.scope, round(c.spent_usd, 6), c.cap_usd) for c in daily],
        "full_disk": (f"{filled and 'held' or 'filled'} the volume for ~6 s" if volume.ok
                      else f"skipped (no size-limited volume: {volume.why or 'not root'})"),
        "queue_status_while_full": full_said,
        "wal_peak_mb": round(wal_peak / 1e6, 2) if kind == "sqlite" else None,
        "db_mb": db_mb,
        "chain_verified": verify.returncode == 0,
        "verify_said": (verify.stdout + verify.stderr).strip().splitlines()[-1:],
        "work": str(work),
    }
    if pg:
        drop_pg(*pg)
        volume.close()
    return result


def open_jobs(db: str) -> int:
    from sqlalchemy import func, select

    from seamline.store.tables import jobs

    with _cached_store(db).read() as conn:
        return conn.execute(select(func.count()).select_from(jobs).where(
            jobs.c.status.in_(("queued", "running")))).scalar_one()


_STORES: dict = {}


def _cached_store(db: str):
    from seamline.store import open_store

    if db not in _STORES:
        _STORES[db] = open_store(db)
    return _STORES[db]


def report(r: dict) -> None:
    print(f"\n== chaos on {r['db']}: {r['events']:,} events, {r['workers']} workers x "
          f"{r['concurrency']}, {r['kills']} SIGKILLs ({r['worker_starts']} worker starts), "
          f"{r['elapsed_s']} s; final drain exit {r['drain_exit']}")
    print(f"  per terminal state: {r['states']}")
    print(f"  lost: {r['lost']}")
    e = r["effects_per_key"]
    print(f"  effects per planned action key at a receiver that does not dedupe: "
          f"0: {e['0']}, 1: {e['1']}, >1: {e['>1']} ({r['effects_total']} effects)")
    print(f"  in doubt, held for a person: {r['in_doubt']} ({r['in_doubt_with_effect']} had "
          f"taken effect); shown by `seamline approvals list`: {r['in_doubt_visible_in_cli']}")
    for s in r["in_doubt_samples"]:
        print(f"    - {s}")
    st = r["emulator"]
    print(f"  faults injected: {st['faulted']:,} of {st['requests']:,} requests "
          f"({st['fault_share']:.1%}): {st['faults']}")
    print(f"  emulator on stop: {r['emulator_summary']}")
    print(f"  spend ${r['spent']:.4f} vs daily cap ${r['cap']:.4f} "
          f"({'within' if r['spent'] <= r['cap'] * max(1, r['days']) + 1e-9 else 'OVER'}; "
          f"{r['days']} UTC day(s): {r['counters']})")
    print(f"  full disk mid-run: {r['full_disk']}")
    if r["queue_status_while_full"]:
        print("  `seamline queue status` while full:")
        for line in r["queue_status_while_full"].splitlines()[:8]:
            print(f"    {line}")
    if r["wal_peak_mb"] is not None:
        print(f"  SQLite WAL peak {r['wal_peak_mb']} MB beside a {r['db_mb']} MB database")
    print(f"  workers stopped with SIGTERM exited: {dict(r['stopped_exits'])}")
    print(f"  audit chain verified: {r['chain_verified']} {r['verify_said']}")
    ok = (r["lost"] == 0 and e[">1"] == 0 and r["in_doubt_visible_in_cli"] >= r["in_doubt"]
          and r["spent"] <= r["cap"] * max(1, r["days"]) + 1e-9 and r["chain_verified"])
    print(f"  target (0 lost, 0 keys >1 effect, in doubt visible, spend <= cap, chain): "
          f"{'MET' if ok else 'NOT MET'}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--events", type=int, default=1050)
    ap.add_argument("--kills", type=int, default=12)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--json", type=Path, help="Also write the figures here")
    a = ap.parse_args()
    kinds = ["sqlite", "postgresql"] if a.db == "both" else [a.db]
    results = []
    for kind in kinds:
        r = drill(kind, a.events, a.kills, a.workers, a.concurrency, a.seed)
        report(r)
        results.append(r)
    if a.json:
        a.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
