"""What the synchronous shape costs: ``POST /invoke`` on ``seamline serve`` against the bare SDK.

The emulator runs in its own process with a fixed model latency; ``seamline serve`` runs
as users run it (the CLI on uvicorn, its own process, SQLite in a temp dir) with the
support-triage demo integration routed at the emulator. Each request is timed end to end
by the caller: (a) the official SDK sending the emulator exactly the request the pipeline
sent (replayed from the emulator's record), (b) an httpx POST (keep-alive) to
``/v1/integrations/support_triage/invoke``, which adds validation, PII redaction, prompt
rendering, budget reservation, the gateway, output parsing and validation, the outbox and
its action, the hash-chained audit trail and the HTTP hop.

    python benchmarks/sync_invoke.py [--requests 300] [--latency-ms 50 200] [--clients 4]

One caller: SDK and invoke alternate call by call in rotating order. ``--clients``
callers: blocks of SDK calls and blocks of invokes alternate (each block with every
caller busy), so drift in machine load (two cores shared by the caller, the server and
the emulator) hits both alike.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ServeProcess, percentile
from _emuproc import EmulatorProcess

from seamline.emulator import FaultPlan, Latency

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "support_triage"
NAME = "support_triage"
API_KEY = "bench-key-0000000000"
PROVIDER_KEY_ENV = "SEAMLINE_BENCH_PROVIDER_KEY"
PROVIDER_KEY = "sk-bench-0000000000"
MODELS = {"openai": "gpt-4.1-mini", "anthropic": "claude-haiku-4-5"}
# Every reply: a valid triage, confident enough that tag_ticket runs without approval.
ANSWER = {"intent": "billing", "urgency": "normal",
          "summary": "The customer was charged twice for the March invoice.",
          "confidence": 0.91, "evidence": ["I was charged twice for my March invoice."]}
STAGES = ("ingest", "prompt", "store", "inference", "outputs")


def integration_file(tmp: Path, provider: str, base_url: str) -> Path:
    """The demo integration, its model routed at the emulator, its files referred to absolutely."""
    spec = yaml.safe_load((EXAMPLE / "integration.yaml").read_text())
    for key in ("input_schema", "output_schema"):
        spec[key] = f"{EXAMPLE / spec[key].split(':')[0]}:{spec[key].split(':')[1]}"
    for key in ("system_file", "user_file"):
        spec["prompt"][key] = str(EXAMPLE / spec["prompt"][key])
    for action in spec["actions"]:
        file, attr = action["handler"].split(":")
        action["handler"] = f"{EXAMPLE / file}:{attr}"
    file, attr = spec["rollout"]["baseline"].split(":")
    spec["rollout"]["baseline"] = f"{EXAMPLE / file}:{attr}"
    # The demo's caps (5 USD per tenant a day) would stop a long run: raised, still checked.
    spec["model"] = {"provider": provider, "model": MODELS[provider],
                     "base_url": base_url + ("/v1" if provider == "openai" else ""),
                     "api_key_env": PROVIDER_KEY_ENV, "context_window": 4096,
                     "max_output_tokens": 400, "oversize": "truncate", "timeout_s": 30,
                     "budgets": {"per_call_usd": 0.05, "per_tenant_daily_usd": 1000,
                                 "daily_usd": 1000}}
    path = tmp / "integration.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def sample_event() -> dict[str, Any]:
    """One golden e-mail (PII included); each request gets a fresh message_id."""
    line = (EXAMPLE / "data" / "golden.jsonl").read_text().splitlines()[0]
    return json.loads(line)["input"]


class Callers:
    """The two ways of getting the answer; each call returns its seconds, end to end."""

    def __init__(self, provider: str, emu: EmulatorProcess, server: str) -> None:
        self.provider, self.emu = provider, emu
        self.event = sample_event()
        self.http = httpx.Client(base_url=server, timeout=60,
                                 headers={"Authorization": f"Bearer {API_KEY}"},
                                 limits=httpx.Limits(max_keepalive_connections=64))
        self.invoke_url = f"/v1/integrations/{NAME}/invoke"
        self.event_ids: list[str] = []
        self.not_model: list[str] = []
        self._lock = threading.Lock()
        if provider == "openai":
            import openai

            client = openai.OpenAI(api_key=PROVIDER_KEY, base_url=emu.base_url + "/v1",
                                   max_retries=0, timeout=30)
            self._create: Callable[..., Any] = client.chat.completions.create
        else:
            import anthropic

            client = anthropic.Anthropic(api_key=PROVIDER_KEY, base_url=emu.base_url,
                                         max_retries=0, timeout=30)
            self._create = client.messages.create
        self._sdk_args: dict[str, Any] | None = None

    def invoke(self) -> float:
        body = {**self.event, "message_id": f"bench-{uuid.uuid4().hex}"}
        t = time.perf_counter()
        r = self.http.post(self.invoke_url, json=body)
        elapsed = time.perf_counter() - t
        answer = r.json()
        with self._lock:
            self.event_ids.append(answer.get("event_id", ""))
            if r.status_code != 200 or answer.get("source") != "model":
                self.not_model.append(f"{r.status_code} {answer.get('source')} "
                                      f"{answer.get('state')} {answer.get('reason') or ''}".strip())
        return elapsed

    def capture_sdk_request(self) -> None:
        """Exactly what the pipeline sent, as keyword arguments of the SDK's create()."""
        self.invoke()
        provider, _path, body = self.emu.last_request()
        assert provider == self.provider, (provider, self.provider)
        accepted = inspect.signature(self._create).parameters
        args = {k: v for k, v in body.items() if k in accepted}
        extra = {k: v for k, v in body.items() if k not in accepted}
        self._sdk_args = {**args, **({"extra_body": extra} if extra else {})}

    def sdk(self) -> float:
        assert self._sdk_args is not None
        t = time.perf_counter()
        self._create(**self._sdk_args)
        return time.perf_counter() - t


def sequential(c: Callers, n: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"sdk": [], "invoke": []}
    order = [("sdk", c.sdk), ("invoke", c.invoke)]
    for i in range(n):
        for name, fn in order[i % 2:] + order[:i % 2]:
            out[name].append(fn())
    return out


def concurrent(c: Callers, n: int, clients: int, blocks: int = 6) -> tuple[dict[str, list[float]],
                                                                          dict[str, float]]:
    """``n`` requests per path over ``clients`` callers; returns latencies and wall seconds."""
    out: dict[str, list[float]] = {"sdk": [], "invoke": []}
    wall = {"sdk": 0.0, "invoke": 0.0}
    per_block = max(clients, n // blocks)
    with ThreadPoolExecutor(clients) as pool:
        done = {"sdk": 0, "invoke": 0}
        b = 0
        while min(done.values()) < n:
            for name, fn in ([("sdk", c.sdk), ("invoke", c.invoke)] if b % 2 == 0
                             else [("invoke", c.invoke), ("sdk", c.sdk)]):
                k = min(per_block, n - done[name])
                if k <= 0:
                    continue
                t = time.perf_counter()
                out[name].extend(pool.map(lambda _i, fn=fn: fn(), range(k)))
                wall[name] += time.perf_counter() - t
                done[name] += k
            b += 1
    return out, wall


def stage_medians(db: Path, event_ids: list[str]) -> dict[str, float]:
    """Median ms per pipeline stage, as the server recorded them on those events."""
    conn = sqlite3.connect(db)
    try:
        marks = ",".join("?" * len(event_ids))
        rows = conn.execute(f"SELECT timings FROM events WHERE id IN ({marks})",
                            event_ids).fetchall()
    finally:
        conn.close()
    timings = [json.loads(t) for (t,) in rows if t]
    return {s: statistics.median(t.get(s, 0.0) for t in timings) for s in STAGES} if timings else {}


def run(provider: str, latency_ms: float, n: int, warmup: int, clients: int) -> dict[str, Any]:
    plan = FaultPlan(latency=Latency.fixed(latency_ms / 1000) if latency_ms else None)
    with tempfile.TemporaryDirectory(prefix="seamline-bench-") as d, \
            EmulatorProcess(plan, answer=ANSWER) as emu:
        tmp = Path(d)
        spec = integration_file(tmp, provider, emu.base_url)
        env = {"SEAMLINE_API_KEYS": API_KEY, PROVIDER_KEY_ENV: PROVIDER_KEY,
               "SUPPORT_TRIAGE_HELPDESK_DB": str(tmp / "helpdesk.db")}
        db = tmp / "seamline.db"
        with ServeProcess([str(spec)], db=str(db), env=env, log=tmp / "serve.log") as srv:
            c = Callers(provider, emu, srv.base_url)
            c.capture_sdk_request()
            for _ in range(warmup):  # connections, lazy imports, caches, SQLite pages
                c.sdk()
                c.invoke()
            c.event_ids.clear()
            seq = sequential(c, n)
            seq_ids = list(c.event_ids)
            conc, wall = concurrent(c, n, clients) if clients > 1 else ({}, {})
            stages = stage_medians(db, seq_ids)
            c.http.close()
        return {"provider": provider, "latency_ms": latency_ms, "seq": seq, "conc": conc,
                "wall": wall, "stages": stages, "not_model": c.not_model}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=300, help="timed requests per path and mode")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--latency-ms", type=float, nargs="+", default=[50.0, 200.0],
                    help="fixed emulator latencies, one run each")
    ap.add_argument("--clients", type=int, default=4,
                    help="concurrent callers (1: sequential only)")
    ap.add_argument("--provider", choices=["openai", "anthropic"], default="openai")
    args = ap.parse_args()
    console = Console(width=180)
    load_before = os.getloadavg()[0]
    results = []
    for latency in args.latency_ms:
        console.print(f"[dim]{args.provider}, model latency {latency:g} ms: "
                      f"{args.requests} requests per path ...[/]")
        results.append(run(args.provider, latency, args.requests, args.warmup, args.clients))

    table = Table(title=f"POST /invoke vs the bare {args.provider} SDK, same emulator, "
                        f"{args.requests} requests per row and path (ms, end to end at the caller)")
    for col in ("model latency", "callers", "SDK p50", "SDK p95", "SDK p99", "invoke p50",
                "invoke p95", "invoke p99", "ratio p50", "ratio p95", "ratio p99",
                "added p50", "added p99", "req/s SDK / invoke"):
        table.add_column(col, justify="right")
    for r in results:
        modes = [("1", r["seq"], None)]
        if r["conc"]:
            modes.append((str(args.clients), r["conc"], r["wall"]))
        for callers, lat, wall in modes:
            p = {k: {q: percentile(v, q) * 1000 for q in (0.5, 0.95, 0.99)} for k, v in lat.items()}
            rate = (" / ".join(f"{len(lat[k]) / wall[k]:.0f}" for k in ("sdk", "invoke"))
                    if wall else "-")
            table.add_row(f"{r['latency_ms']:g} ms", callers,
                          *(f"{p['sdk'][q]:.1f}" for q in (0.5, 0.95, 0.99)),
                          *(f"{p['invoke'][q]:.1f}" for q in (0.5, 0.95, 0.99)),
                          *(f"{p['invoke'][q] / p['sdk'][q]:.2f}" for q in (0.5, 0.95, 0.99)),
                          f"{p['invoke'][0.5] - p['sdk'][0.5]:+.1f}",
                          f"{p['invoke'][0.99] - p['sdk'][0.99]:+.1f}", rate)
    console.print(table)

    # The pipeline stores an event's timings with its outcome, so the outcome's own commit
    # and the action that follows are not among them: they fall in the last column.
    stages = Table(title="Inside the server, one caller: median ms per stage as recorded on each "
                         "event; inference includes the model latency")
    stages.add_column("model latency", justify="right")
    for s in STAGES:
        stages.add_column("store (admission)" if s == "store" else s, justify="right")
    stages.add_column("inference - SDK p50", justify="right")
    stages.add_column("rest: HTTP, threads, outcome commit, action",
                      justify="right")
    for r in results:
        st = r["stages"]
        sdk50, inv50 = (percentile(r["seq"][k], 0.5) * 1000 for k in ("sdk", "invoke"))
        stages.add_row(f"{r['latency_ms']:g} ms", *(f"{st.get(s, 0):.2f}" for s in STAGES),
                       f"{st.get('inference', 0) - sdk50:+.2f}",
                       f"{inv50 - sum(st.values()):.2f}")
    console.print(stages)
    # Two cores are shared by the caller, the server and the emulator: anything else
    # running shows in the tails, so say how busy the machine was.
    console.print(f"1-minute load average: {load_before:.2f} at the start, "
                  f"{os.getloadavg()[0]:.2f} at the end ({os.cpu_count()} CPUs).")
    for r in results:
        if r["not_model"]:
            console.print(f"[red]{r['latency_ms']:g} ms: {len(r['not_model'])} invocations not "
                          f"answered by the model[/], e.g. {r['not_model'][0]}")


if __name__ == "__main__":
    os.environ.setdefault(PROVIDER_KEY_ENV, PROVIDER_KEY)
    main()
