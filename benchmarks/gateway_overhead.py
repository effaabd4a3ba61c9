"""What the gateway costs per call: the same calls through ``build_gateway`` and through the bare SDK.

The emulator runs in its own process with no added latency (``--latency-ms`` to add
some), so what is measured is client-side work: the gateway's retry, breaker and
fallback bookkeeping plus the provider adapter (request building, error
classification, usage and stop-reason extraction) against a bare official SDK call
with the same arguments, on the same SDK client and connection pool.

    python benchmarks/gateway_overhead.py [--calls 500] [--repeats 3] [--provider both]

The loops run interleaved call by call, in rotating order, so a drift in machine load
(two cores, the emulator busy on one) hits all of them alike; each loop's time is the
sum of its ``--calls`` calls, the whole run is repeated and the median ratio taken.
Target: gateway time / bare time <= 1.10.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _emuproc import EmulatorProcess

from seamline.emulator import FaultPlan, Latency
from seamline.inference import Message, ModelRequest
from seamline.inference._gateway import build_gateway
from seamline.integration import Integration, ModelRoute, PromptSpec, RetrySpec

TARGET = 1.10


class In(BaseModel):
    text: str


class Out(BaseModel):
    intent: str
    urgency: str


SCHEMA = Out.model_json_schema()
SYSTEM = "You triage support e-mails. Answer with the intent and the urgency."
USER = "Subject: charged twice\n\nI was charged twice for my March invoice, please refund one."


def integration(provider: str, model: str, base_url: str) -> Integration:
    # Retries and the breaker on (the defaults, short delays), no rate limit, no cache.
    route = ModelRoute(provider=provider, model=model, base_url=base_url, timeout_s=10,
                       max_output_tokens=100,
                       retry=RetrySpec(max_retries=3, base_delay_s=0.05, max_delay_s=1))
    return Integration(name="bench-overhead", input_schema=In, output_schema=Out,
                       prompt=PromptSpec(system=SYSTEM, user="{{ text }}"), model=route)


def loops(provider: str, base_url: str) -> tuple[Callable[[], object], Callable[[], object],
                                                 Callable[[], object]]:
    """(bare SDK call, provider adapter alone, full gateway), all on one SDK client."""
    if provider == "openai":
        import openai

        from seamline.inference.openai import OpenAIModel

        model = "gpt-4.1-mini"
        client = openai.OpenAI(api_key="sk-bench-0000000000", base_url=base_url + "/v1",
                               max_retries=0, timeout=10)
        adapter = OpenAIModel(model, client=client)
        url = base_url + "/v1"
    else:
        import anthropic

        from seamline.inference.anthropic import AnthropicModel

        model = "claude-bench-1"  # a name the SDK does not warn about as deprecated on every call
        client = anthropic.Anthropic(api_key="sk-ant-bench-0000000000", base_url=base_url,
                                     max_retries=0, timeout=10)
        adapter = AnthropicModel(model, client=client)
        url = base_url
    # (No sampling params on the Anthropic wire: the installed anthropic SDK 2.x has dropped
    # ``temperature`` from messages.create.)
    params = {"temperature": 0} if provider == "openai" else {}
    request = ModelRequest((Message("system", SYSTEM), Message("user", USER)), model,
                           params, SCHEMA, max_tokens=100)
    args = adapter._arguments(request)  # exactly what the adapter sends
    create = client.chat.completions.create if provider == "openai" else client.messages.create
    gateway = build_gateway(integration(provider, model, url), provider=adapter)
    return (lambda: create(**args)), (lambda: adapter.complete(request)), \
        (lambda: gateway.complete(request))


def measure(provider: str, base_url: str, calls: int, warmup: int) -> dict[str, list[float]]:
    """Per-call seconds for each loop, the loops interleaved call by call in rotating order,
    so drift in machine load (two cores, the emulator on one) hits all of them alike."""
    bare, adapter, gateway = loops(provider, base_url)
    named = {"bare": bare, "adapter": adapter, "gateway": gateway}
    names = list(named)
    for _ in range(warmup):  # connections, lazy imports, pydantic caches
        for fn in named.values():
            fn()
    out: dict[str, list[float]] = {k: [] for k in named}
    clock = time.perf_counter
    for i in range(calls):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            fn = named[name]
            t = clock()
            fn()
            out[name].append(clock() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=500, help="calls per loop (per repeat)")
    ap.add_argument("--repeats", type=int, default=3, help="repeat the interleaved run; the "
                    "ratio reported is the median over repeats")
    ap.add_argument("--provider", choices=["openai", "anthropic", "both"], default="both")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="fixed emulator latency")
    args = ap.parse_args()
    providers = ["openai", "anthropic"] if args.provider == "both" else [args.provider]
    plan = FaultPlan(latency=Latency.fixed(args.latency_ms / 1000) if args.latency_ms else None)
    console = Console(width=170)
    results: dict[str, list[dict[str, list[float]]]] = {}
    with EmulatorProcess(plan) as emu:
        for p in providers:
            results[p] = [measure(p, emu.base_url, args.calls, 30) for _ in range(args.repeats)]
    table = Table(title=f"Gateway overhead: {args.calls} calls per loop x {args.repeats} repeats, "
                        f"interleaved call by call, emulator latency {args.latency_ms:g} ms")
    for col in ("provider", "loop", "total s (median)", "µs/call mean", "µs/call p50",
                "µs/call p99", "time vs bare", "ratio per repeat"):
        table.add_column(col, justify="left" if col in ("provider", "loop") else "right")
    labels = {"bare": "bare official SDK, same arguments",
              "adapter": "Seamline provider adapter alone",
              "gateway": "build_gateway (retry, breaker) + adapter"}
    verdicts = []
    for p, reps in results.items():
        totals = {k: [sum(r[k]) for r in reps] for k in labels}
        ratios = {k: [t / b for t, b in zip(totals[k], totals["bare"])] for k in labels}
        for name, label in labels.items():
            every = sorted(x for r in reps for x in r[name])
            table.add_row(p, label, f"{statistics.median(totals[name]):.3f}",
                          f"{statistics.mean(every) * 1e6:,.0f}",
                          f"{every[len(every) // 2] * 1e6:,.0f}",
                          f"{every[min(len(every) - 1, int(len(every) * 0.99))] * 1e6:,.0f}",
                          f"{statistics.median(ratios[name]):.3f}",
                          " ".join(f"{x:.3f}" for x in ratios[name]))
        ratio = statistics.median(ratios["gateway"])
        extra = (ratio - 1) * statistics.median(totals["bare"]) / args.calls * 1e6
        verdicts.append(f"{p}: gateway time / bare time <= {TARGET:.2f}: "
                        f"{'meets' if ratio <= TARGET else 'MISSES'} ({ratio:.3f}, "
                        f"{extra:+,.0f} µs/call)")
    console.print(table)
    for v in verdicts:
        console.print(v)


if __name__ == "__main__":
    os.environ.setdefault("OPENAI_API_KEY", "sk-bench-0000000000")
    main()
