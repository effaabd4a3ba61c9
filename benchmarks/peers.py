"""Seamline against its peers: the same structured call, side by side, in one process.

Every contender turns one support e-mail into a validated ``Triage`` object through the
same local OpenAI-format endpoint (the emulator, in its own process, at a fixed model
latency), on the official ``openai`` SDK:

- bare: ``client.chat.completions.create`` with a JSON-schema ``response_format``, then
  ``Triage.model_validate_json`` (the naive call every other row is divided by);
- Instructor (``instructor.from_openai``, JSON-schema mode: the same wire as bare);
- ``litellm.completion`` and a LiteLLM ``Router`` with one deployment;
- Seamline: all seven layers on SQLite with the durable audit (validate, redact, render,
  budget reservation, the call, parse and validate, an outbox action, ten audit rows).

    python benchmarks/peers.py [--rounds 300] [--latency-ms 0,50,200] [--no-rss]

Rounds are interleaved (each round calls every contender once, in rotating order), so a
drift in machine load hits all alike; each row shows the median per-call time, its
p10–p90 range, the median process CPU per call, and both as ratios to bare in the same
run. Then Seamline's own CPU per event above the SDK call, and the peak RSS of a
``seamline worker`` on the demo (local model) and on a remote route.

Instructor and LiteLLM come with the ``bench`` extra (``pip install -e '.[bench]'``); a
missing one is left out of the table with a sentence.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _emuproc import EmulatorProcess

from seamline.emulator import FaultPlan, Latency
from seamline.integration import (
    ActionSpec,
    Checklist,
    Integration,
    ModelRoute,
    PromptSpec,
    RolloutSpec,
)
from seamline.runtime import Pipeline
from seamline.store import open_store

ROOT = Path(__file__).resolve().parent.parent
MODEL = "gpt-4.1-mini"
KEY = "sk-bench-0000000000"


class Email(BaseModel):
    message_id: str = Field(min_length=1)
    tenant_id: str
    customer_id: str
    subject: str
    body: str


class Triage(BaseModel):
    intent: Literal["billing", "refund", "technical", "other"]
    urgency: Literal["low", "normal", "high", "critical"]


ANSWER = {"intent": "billing", "urgency": "normal"}
SYSTEM = "You triage support e-mails. Answer with the intent and the urgency."
BODY = ("Hello team,\n\nI was charged twice for my March invoice. My card ending 4242 shows two "
        "identical payments of $49.00 on the 3rd. Please refund the duplicate; you can reach me "
        "at jamie.lee@example.com or +1 415-555-0132.\n\nThanks,\nJamie")


def event(i: int) -> dict:
    return {"message_id": f"m-{i}", "tenant_id": f"t{i % 4}", "customer_id": f"c{i % 97}",
            "subject": f"Charged twice (#{i})", "body": BODY}


def user_text(e: dict) -> str:
    return f"Subject: {e['subject']}\n\n{e['body']}"


def messages(e: dict) -> list[dict]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user_text(e)}]


RESPONSE_FORMAT = {"type": "json_schema", "json_schema": {
    "name": "Triage", "strict": True,
    "schema": {**Triage.model_json_schema(), "additionalProperties": False}}}


def tag(params: dict, *, idempotency_key: str) -> dict:
    return {"ok": True}


def integration(base_url: str) -> Integration:
    return Integration(
        name="bench-peers", input_schema=Email, output_schema=Triage,
        checklist=Checklist(workflow="bench", owner="bench", baseline_metric="none",
                            monthly_cost_ceiling_usd=1e9),
        pii={"message_id": "allow", "tenant_id": "allow", "customer_id": "allow"},
        prompt=PromptSpec(system=SYSTEM, user="Subject: {{ subject }}\n\n{{ body }}"),
        model=ModelRoute(provider="openai", model=MODEL, base_url=base_url, timeout_s=10,
                         max_output_tokens=100, input_usd_per_mtok=0.4, output_usd_per_mtok=1.6),
        actions=(ActionSpec(name="tag", handler=tag,
                            params={"ticket": "input.message_id", "tags": "[output.intent]"}),),
        rollout=RolloutSpec(flag="bench.ai", sticky_key="customer_id", baseline=lambda d: None),
        idempotency_key="message_id", tenant_key="tenant_id",
    )


Contender = Callable[[int], object]


def contenders(base_url: str, db: Path, console: Console) -> dict[str, Contender]:
    import openai

    v1 = base_url + "/v1"
    client = openai.OpenAI(api_key=KEY, base_url=v1, max_retries=0, timeout=10)

    def bare(i: int) -> object:
        reply = client.chat.completions.create(model=MODEL, messages=messages(event(i)),
                                               response_format=RESPONSE_FORMAT,
                                               max_completion_tokens=100)
        return Triage.model_validate_json(reply.choices[0].message.content or "")

    out: dict[str, Contender] = {"bare openai SDK + pydantic": bare}
    try:
        import instructor

        patched = instructor.from_openai(
            openai.OpenAI(api_key=KEY, base_url=v1, max_retries=0, timeout=10),
            mode=instructor.Mode.JSON_SCHEMA)

        def with_instructor(i: int) -> object:
            return patched.chat.completions.create(model=MODEL, messages=messages(event(i)),
                                                   response_model=Triage, max_retries=0,
                                                   max_completion_tokens=100)

        out["Instructor"] = with_instructor
    except ImportError:
        console.print("Instructor is not installed (pip install -e '.[bench]'): left out.")
    try:
        import litellm
        from litellm import Router

        litellm.suppress_debug_info = True
        litellm.telemetry = False

        def with_litellm(i: int) -> object:
            reply = litellm.completion(model=f"openai/{MODEL}", api_base=v1, api_key=KEY,
                                       messages=messages(event(i)),
                                       response_format=RESPONSE_FORMAT, max_tokens=100,
                                       num_retries=0)
            return Triage.model_validate_json(reply.choices[0].message.content or "")

        router = Router(model_list=[{"model_name": "triage", "litellm_params": {
            "model": f"openai/{MODEL}", "api_base": v1, "api_key": KEY}}], num_retries=0)

        def with_router(i: int) -> object:
            reply = router.completion(model="triage", messages=messages(event(i)),
                                      response_format=RESPONSE_FORMAT, max_tokens=100)
            return Triage.model_validate_json(reply.choices[0].message.content or "")

        out["litellm.completion"] = with_litellm
        out["LiteLLM Router"] = with_router
    except ImportError:
        console.print("LiteLLM is not installed (pip install -e '.[bench]'): left out.")

    store = open_store(db)
    pipeline = Pipeline(integration(v1), store)

    def seamline(i: int) -> object:
        result = pipeline.process(event(i))
        if result.state != "succeeded":
            raise RuntimeError(f"Seamline ended an event {result.state}: {result}")
        return result

    out["Seamline, all seven layers, durable audit"] = seamline
    return out


def measure(named: dict[str, Contender], rounds: int, warmup: int
            ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per-call wall and process-CPU seconds, rounds interleaved in rotating order."""
    names = list(named)
    serial = 10_000_000  # distinct events: Seamline dedupes a repeated idempotency key
    for _ in range(warmup):
        for fn in named.values():
            serial += 1
            fn(serial)
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    clock, cpu_clock = time.perf_counter, time.process_time
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            serial += 1
            t, c = clock(), cpu_clock()
            named[name](serial)
            cpu[name].append(cpu_clock() - c)
            wall[name].append(clock() - t)
    return wall, cpu


def q(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def peak_rss_mb(args: list[str], env: dict[str, str]) -> float:
    """Peak resident set of one child process, read from the kernel's rusage of a wrapper."""
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
             "stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", probe, *args], env=env, check=True,
                          capture_output=True, text=True)
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def worker_rss(base_url: str, console: Console) -> list[tuple[str, float, int]]:
    """(route, peak RSS MB, events) for ``seamline worker`` draining the demo's inbox."""
    demo = ROOT / "examples" / "support_triage"
    inbox = demo / "data" / "inbox.jsonl"
    n = sum(1 for line in inbox.read_text().splitlines() if line.strip())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        remote = Path(tmp) / "remote.yaml"
        text = (demo / "integration.yaml").read_text()
        text = text.replace("  provider: local\n  model: local-linear\n  examples: data/train.jsonl\n",
                            f"  provider: openai\n  model: {MODEL}\n  base_url: {base_url}/v1\n")
        remote.write_text(text)
        for name in ("schemas.py", "helpdesk.py", "baseline.py", "prompt_system.j2",
                     "prompt_user.j2"):
            (Path(tmp) / name).write_text((demo / name).read_text())
        env = {**os.environ, "OPENAI_API_KEY": KEY, "SEAMLINE_AUDIT_KEY": "",
               "PYTHONWARNINGS": "ignore"}
        for label, spec in (("demo, on-device model", str(demo / "integration.yaml")),
                            ("remote route (OpenAI format)", str(remote))):
            db = str(Path(tmp) / f"{label[:4]}.db")
            subprocess.run([sys.executable, "-m", "seamline", "enqueue", spec, str(inbox),
                            "--db", db], env=env, check=True, capture_output=True)
            mb = peak_rss_mb([sys.executable, "-m", "seamline", "worker", spec, "--db", db,
                              "--exit-when-idle", "--quiet"], env)
            rows.append((label, mb, n))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=300, help="rounds at 0 ms (fewer when slower)")
    ap.add_argument("--latency-ms", default="0,50,200", help="model latencies, comma-separated")
    ap.add_argument("--no-rss", action="store_true", help="skip the worker RSS measurement")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    console = Console(width=150)
    latencies = [float(x) for x in args.latency_ms.split(",") if x.strip()]
    summary: list[str] = []
    for latency in latencies:
        rounds = max(20, int(args.rounds * (1 if latency == 0 else 20 / (20 + latency))))
        plan = FaultPlan(latency=Latency.fixed(latency / 1000) if latency else None)
        with EmulatorProcess(plan, answer=ANSWER) as emu, tempfile.TemporaryDirectory() as tmp:
            named = contenders(emu.base_url, Path(tmp) / "peers.db", console)
            wall, cpu = measure(named, rounds, warmup=10)
            if not args.no_rss and latency == 0:
                rss_rows = worker_rss(emu.base_url, console)
            else:
                rss_rows = []
        bare = next(iter(named))
        b_wall, b_cpu = statistics.median(wall[bare]), statistics.median(cpu[bare])
        table = Table(title=f"Per call at {latency:g} ms model latency: {rounds} interleaved "
                            "rounds, one process, emulator in its own")
        for col in ("contender", "p50 ms", "p10–p90 ms", "time ÷ bare", "+ms over bare (p50)",
                    "CPU ms (p50)", "CPU ÷ bare"):
            table.add_column(col, justify="left" if col == "contender" else "right")
        for name in named:
            w, c = statistics.median(wall[name]), statistics.median(cpu[name])
            table.add_row(name, f"{w * 1e3:.2f}",
                          f"{q(wall[name], .1) * 1e3:.2f}–{q(wall[name], .9) * 1e3:.2f}",
                          f"{w / b_wall:.2f}", f"{(w - b_wall) * 1e3:+.2f}",
                          f"{c * 1e3:.2f}", f"{c / b_cpu:.2f}")
        console.print(table)
        ours = "Seamline, all seven layers, durable audit"
        w_ours, c_ours = statistics.median(wall[ours]), statistics.median(cpu[ours])
        summary.append(f"{latency:g} ms: Seamline ÷ bare {w_ours / b_wall:.2f} (+{(w_ours - b_wall) * 1e3:.2f} ms p50); "
                       + "; ".join(f"÷ {n} {w_ours / statistics.median(wall[n]):.2f}"
                                   for n in named if n not in (bare, ours))
                       + f"; Seamline CPU above the SDK call {(c_ours - b_cpu) * 1e6:,.0f} µs/event")
        if rss_rows:
            rss = Table(title="Peak RSS of `seamline worker` draining the demo's inbox")
            for col in ("route", "events", "peak RSS MB"):
                rss.add_column(col, justify="left" if col == "route" else "right")
            for label, mb, n in rss_rows:
                rss.add_row(label, str(n), f"{mb:,.0f}")
            console.print(rss)
            summary.append("worker peak RSS: " + "; ".join(f"{lbl} {mb:,.0f} MB"
                                                          for lbl, mb, _ in rss_rows))
    console.print("\n".join(summary))
    console.print("Targets (issue 20): at 0 ms Seamline ÷ bare ≤ 1.0 and ≤ 0.5 × Instructor "
                  "and LiteLLM; at 50 ms ≤ +1 ms p50; Seamline CPU above the call ≤ 300 µs; "
                  "worker on a remote route ≤ 150 MB.")


if __name__ == "__main__":
    os.environ.setdefault("OPENAI_API_KEY", KEY)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no fetch at import
    main()
