"""The stream shape: events per second through a window with durable state, and recovery
time after a SIGKILL.

    python benchmarks/stream_windows.py [--events 20000] [--keys 100] [--batch 200]

Throughput: the same Redis Stream is consumed three times, by three consumer groups, in
this run: once with XREADGROUP + XACK and nothing else (the baseline: what the broker and
the client cost), then twice through ``StreamRunner`` on the default SQLite store (each
batch applied to windows and marked applied in one transaction, events stored encrypted,
acked after the commit): with one window longer than the stream (state only, nothing
closes), and with tumbling 5-minute windows, every closed window decided once through
the pipeline with a scripted model. The ratios say what durable state, and state plus
decisions, cost on top of reading.

Recovery: a consumer process (``seamline stream``'s runner) is SIGKILLed from outside
once half the stream is applied; a new one starts with the same consumer name. Measured
from the restart (process start) to the first newly applied event, and to the whole
stream applied; and checked: every window counts each event once.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from seamline.inference import ScriptedModel
from seamline.integration import Checklist, Integration, ModelRoute, PromptSpec
from seamline.store import open_store
from seamline.store.tables import stream_progress, stream_windows
from seamline.streaming import StreamRunner, StreamSpec, TumblingWindow, WindowInput, open_source

REDIS_URL = "redis://127.0.0.1:6379/0"
SPEC = StreamSpec(key_field="customer", time_field="ts", window=TumblingWindow(size=300),
                  allowed_lateness=5)


class Risk(BaseModel):
    score: float
    level: str


def integration() -> Integration:
    return Integration(
        name="bench_risk",
        checklist=Checklist(workflow="benchmark", owner="bench", baseline_metric="none"),
        input_schema=WindowInput, output_schema=Risk,
        pii={"window_id": "allow", "stream": "allow", "key": "allow", "events": "allow"},
        prompt=PromptSpec(user="customer {{ key }}: {{ count }} payments in the window"),
        model=ModelRoute(provider="scripted", model="scripted-risk"),
        stream=SPEC)


def model() -> ScriptedModel:
    return ScriptedModel(lambda req: {"score": 0.3, "level": "low"})


def publish(client: redis.Redis, stream: str, n: int, keys: int) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        # Ten events a second of event time, in order; a payment-like payload.
        pipe.xadd(stream, {"data": json.dumps({"customer": f"cus_{i % keys:04d}", "ts": i / 10,
                                               "amount": round(5 + (i * 7919) % 500 / 3, 2),
                                               "currency": "EUR", "merchant": f"m{i % 37}"})})
        if i % 5000 == 4999:
            pipe.execute()
    pipe.execute()


def baseline(client: redis.Redis, stream: str, n: int, batch: int) -> float:
    """Read and ack every entry with a consumer group, keep nothing: events/s."""
    client.xgroup_create(stream, "baseline", id="0")
    seen, t = 0, time.perf_counter()
    while seen < n:
        reply = client.xreadgroup("baseline", "b1", {stream: ">"}, count=batch, block=1000)
        entries = reply[0][1] if reply else []
        for _id, fields in entries:
            json.loads(fields["data"])  # the decoding the runner does too
        if entries:
            client.xack(stream, "baseline", *[e[0] for e in entries])
        seen += len(entries)
    return n / (time.perf_counter() - t)


def stateful(db: Path, stream: str, n: int, batch: int, *, group: str = "stateful",
             spec: StreamSpec = SPEC) -> tuple[float, int]:
    """The same entries through StreamRunner on SQLite: events/s and windows decided."""
    store = open_store(db)
    runner = StreamRunner(integration(), store,
                          open_source(f"{REDIS_URL}?stream={stream}&group={group}", consumer="s1"),
                          spec=spec, provider=model(), batch=batch)
    t = time.perf_counter()
    runner.run(max_events=n, poll_s=1.0)
    rate = n / (time.perf_counter() - t)
    decided = sum(runner.stats.decisions.values())
    runner.close()
    store.close()
    return rate, decided


def applied(db: Path) -> int:
    store = open_store(db)
    try:
        with store.read() as conn:
            return conn.execute(select(stream_progress.c.applied)).scalar() or 0
    finally:
        store.close()


def spawn(db: Path, stream: str, batch: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--consume", "--db", str(db),
                             "--stream", stream, "--batch", str(batch)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def recovery(db: Path, stream: str, n: int, batch: int) -> dict[str, float]:
    victim = spawn(db, stream, batch)
    while applied(db) < n // 2:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    at_kill = applied(db)
    t0 = time.perf_counter()
    resumed = spawn(db, stream, batch)
    first = None
    while (done := applied(db)) < n:
        if first is None and done > at_kill:
            first = time.perf_counter() - t0
        if resumed.poll() is not None:
            raise SystemExit(f"the resumed consumer died: {resumed.stderr.read().decode()}")
        time.sleep(0.005)
    caught_up = time.perf_counter() - t0
    resumed.send_signal(signal.SIGTERM)
    resumed.wait()
    store = open_store(db)
    with store.read() as conn:
        total = conn.execute(select(func.sum(stream_windows.c.events_count))).scalar()
    store.close()
    return {"at_kill": at_kill, "first": first or caught_up, "caught_up": caught_up,
            "remaining": n - at_kill, "counted": total}


def consume(args: argparse.Namespace) -> None:
    """The child process of the recovery measurement: a runner until SIGTERM."""
    store = open_store(args.db)
    runner = StreamRunner(integration(), store,
                          open_source(f"{REDIS_URL}?stream={args.stream}&group=recovery",
                                      consumer="r1"), provider=model(), batch=args.batch)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    runner.run(poll_s=0.2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--consume", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--stream", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.consume:
        return consume(args)

    console = Console()
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    stream = f"seamline-bench-{uuid.uuid4().hex[:8]}"
    try:
        publish(client, stream, args.events, args.keys)
        with tempfile.TemporaryDirectory() as tmp:
            base = baseline(client, stream, args.events, args.batch)
            rate, decided = stateful(Path(tmp) / "throughput.db", stream, args.events, args.batch)
            # A window longer than the whole stream: state only, no window closes.
            state_only, _ = stateful(Path(tmp) / "state.db", stream, args.events, args.batch,
                                     group="state_only", spec=SPEC.model_copy(
                                         update={"window": TumblingWindow(size=10**7)}))
            rec = recovery(Path(tmp) / "recovery.db", stream, args.events, args.batch)
    finally:
        client.delete(stream)
        client.close()

    table = Table(title=f"Stream windows: {args.events:,} events, {args.keys} keys, tumbling "
                        f"5 min, batch {args.batch}, Redis Streams -> SQLite")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("baseline: XREADGROUP + XACK, no state", f"{base:,.0f} events/s")
    table.add_row("windows with durable state, none closing", f"{state_only:,.0f} events/s")
    table.add_row("  ratio to baseline", f"{state_only / base:.2f}")
    table.add_row("windows with durable state + decisions", f"{rate:,.0f} events/s")
    table.add_row("  ratio to baseline", f"{rate / base:.2f}")
    table.add_row("windows decided (one pipeline event each)", f"{decided:,}")
    table.add_row("killed (SIGKILL) after", f"{rec['at_kill']:,.0f} events applied")
    table.add_row("restart -> first new event applied", f"{rec['first']:.2f} s")
    table.add_row(f"restart -> caught up ({rec['remaining']:,.0f} events left)",
                  f"{rec['caught_up']:.2f} s")
    table.add_row("events counted in windows after recovery", f"{rec['counted']:,} of "
                                                               f"{args.events:,}")
    console.print(table)
    if rec["counted"] != args.events:
        raise SystemExit("double-counted or lost events after the kill")


if __name__ == "__main__":
    main()
