"""Throughput under a provider rate limit: does the gateway's pacing use the limit and avoid 429s?

The emulator (its own process) answers in about 200 ms and enforces R requests a minute
itself, as a provider does: a bucket of R/min with 2 s of burst, answering 429 to any
request over it. Many client threads call through ``build_gateway`` with the route's
``rate_limit: {rpm: R}``, so they would go well past R without the gateway's pacing.

    python benchmarks/gateway_ratelimit.py [--rpm 600] [--seconds 45] [--threads 12]
                                           [--redis redis://127.0.0.1:6379/0]

Reported for each limiter (in one process; with ``--redis``, also two processes sharing
one Redis bucket): sustained throughput as a fraction of R, measured from the emulator's
arrival times after the first 5 s (target >= 95%); the 429s the emulator returned
(target 0); and the most arrivals in any sliding minute, against R. A control run with
no rate limit on the route shows that the emulator's limit bites.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import threading
import time
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _emuproc import EmulatorProcess, max_window

from seamline.emulator import FaultPlan, Latency
from seamline.errors import SeamlineError
from seamline.inference import Message, ModelRequest
from seamline.integration import Integration, ModelRoute, PromptSpec, RetrySpec
from seamline.integration._spec import BreakerSpec, RateLimitSpec

WARM_S = 5.0  # arrivals before this are the start-up burst, left out of "sustained"


class In(BaseModel):
    text: str


class Out(BaseModel):
    model: str
    echo: str


def integration(base_url: str, model: str, rpm: float | None) -> Integration:
    route = ModelRoute(provider="openai", model=model, base_url=base_url + "/v1",
                       timeout_s=10, max_output_tokens=64,
                       retry=RetrySpec(max_retries=3, base_delay_s=0.05, max_delay_s=1),
                       rate_limit=RateLimitSpec(rpm=rpm, burst_s=1.0, max_wait_s=None) if rpm else None,
                       # The control run (no rate limit) keeps its breaker shut, so that it
                       # shows what unpaced callers meet rather than failing fast.
                       breaker=BreakerSpec() if rpm else BreakerSpec(failure_threshold=10**9,
                                                                     error_rate=1.0, window=10**6))
    return Integration(name="bench-ratelimit", input_schema=In, output_schema=Out,
                       prompt=PromptSpec(user="{{ text }}"), model=route)


def client(base_url: str, model: str, rpm: float | None, threads: int, start_at: float, stop_at: float,
           redis_url: str | None, out: mp.Queue | None = None) -> dict[str, int]:
    """Call through the gateway from ``threads`` threads until ``stop_at`` (time.time())."""
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-0000000000000000")
    if redis_url:
        os.environ["SEAMLINE_REDIS_URL"] = redis_url
    else:
        os.environ.pop("SEAMLINE_REDIS_URL", None)
    from seamline.inference._gateway import build_gateway

    gateway = build_gateway(integration(base_url, model, rpm))
    request = ModelRequest((Message("user", "Where is my parcel?"),), model, max_tokens=64)
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()

    def run() -> None:
        while time.time() < stop_at:
            try:
                gateway.complete(request)
                key = "ok"
            except SeamlineError:
                key = "failed"
            with lock:
                counts[key] += 1

    time.sleep(max(0.0, start_at - time.time()))
    workers = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=max(0.0, stop_at - time.time()) + 30)
    if out is not None:
        out.put(counts)
    return counts


def scenario(label: str, rpm: float, seconds: float, threads: int, latency: Latency,
             redis_url: str | None, processes: int, throttle: bool = True) -> dict:
    route_rpm = rpm if throttle else None
    model = f"gpt-bench-{os.getpid()}-{time.time_ns()}"  # a fresh bucket key every run
    with EmulatorProcess(FaultPlan(latency=latency), rpm=rpm, tolerance_s=2.0) as emu:
        start_at = time.time() + (3.0 if processes > 1 else 0.5)
        stop_at = start_at + seconds
        if processes == 1:
            counts = client(emu.base_url, model, route_rpm, threads, start_at, stop_at, redis_url)
        else:
            ctx = mp.get_context("spawn")
            q: mp.Queue = ctx.Queue()
            procs = [ctx.Process(target=client, args=(emu.base_url, model, route_rpm,
                                                      max(1, threads // processes), start_at,
                                                      stop_at, redis_url, q))
                     for _ in range(processes)]
            for p in procs:
                p.start()
            counts = {"ok": 0, "failed": 0}
            for _ in procs:
                got = q.get(timeout=seconds + 120)
                counts = {k: counts[k] + got[k] for k in counts}
            for p in procs:
                p.join(30)
        records = emu.records()
    admitted = [t for t, f in records if f != "limit_429"]
    refused = sum(1 for _, f in records if f == "limit_429")
    in_window = [t for t in admitted if start_at + WARM_S <= t < stop_at]
    sustained_rpm = len(in_window) / (seconds - WARM_S) * 60
    return {"label": label, "calls": counts["ok"], "failed": counts["failed"],
            "arrivals": len(records), "sustained_rpm": sustained_rpm,
            "fraction": sustained_rpm / rpm, "r429": refused,
            "max_minute": max_window(admitted, 60.0),
            "max_second": max_window([t for t in admitted if t >= start_at + WARM_S], 1.0)}


def redis_ok(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except Exception:  # noqa: BLE001 - any failure to reach it means "no Redis here"
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rpm", type=float, default=600, help="R, the provider's limit")
    ap.add_argument("--seconds", type=float, default=45, help="length of each scenario")
    ap.add_argument("--threads", type=int, default=12, help="client threads (split across processes)")
    ap.add_argument("--latency-ms", type=float, default=200, help="median emulator latency")
    ap.add_argument("--control-seconds", type=float, default=15,
                    help="length of the control run without the gateway's rate limit (0: skip)")
    ap.add_argument("--redis", default=None, metavar="URL",
                    help="also run two processes sharing this Redis (e.g. redis://127.0.0.1:6379/0)")
    args = ap.parse_args()
    if args.seconds <= WARM_S + 5:
        ap.error(f"--seconds must be more than {WARM_S + 5:g}")
    console = Console(width=170)
    latency = Latency.lognormal(args.latency_ms / 1000, 0.25)
    rows = [scenario("LocalRateLimiter, 1 process", args.rpm, args.seconds, args.threads,
                     latency, None, 1)]
    if args.redis:
        if redis_ok(args.redis):
            rows.append(scenario("RedisRateLimiter, 2 processes", args.rpm, args.seconds,
                                 args.threads, latency, args.redis, 2))
        else:
            console.print(f"[yellow]Redis at {args.redis} does not answer: skipped.[/]")
    if args.control_seconds > WARM_S:
        rows.append(scenario("control: no rate limit in the route", args.rpm, args.control_seconds,
                             args.threads, latency, None, 1, throttle=False))

    r = args.rpm
    table = Table(title=f"Throughput under R = {r:g} requests/min, emulator latency ~{args.latency_ms:g} ms "
                        f"(lognormal), {args.threads} client threads, {args.seconds:g} s each")
    for col in ("limiter", "calls ok", "failed", "arrivals", f"sustained/min after {WARM_S:g} s",
                "of R", "429s", "max in any 60 s", f"max in any 1 s after {WARM_S:g} s"):
        table.add_column(col, justify="left" if col == "limiter" else "right")
    for row in rows:
        table.add_row(row["label"], str(row["calls"]), str(row["failed"]), str(row["arrivals"]),
                      f"{row['sustained_rpm']:,.1f}", f"{row['fraction']:.1%}", str(row["r429"]),
                      f"{row['max_minute']} / {r:g}", f"{row['max_second']} / {r / 60:g}")
    console.print(table)
    for row in rows:
        if row["label"].startswith("control"):
            console.print(f"{row['label']} (retries honour retry-after): the emulator enforces "
                          f"R itself: {row['r429']:,} requests answered 429 in "
                          f"{args.control_seconds:g} s, {row['failed']:,} calls failed")
            continue
        ok_rate = row["fraction"] >= 0.95
        console.print(f"{row['label']}: throughput >= 95% of R: "
                      f"{'meets' if ok_rate else 'MISSES'} ({row['fraction']:.1%}); "
                      f"429s == 0: {'meets' if row['r429'] == 0 else 'MISSES'} ({row['r429']})")


if __name__ == "__main__":
    main()
