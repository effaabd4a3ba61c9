"""Hostile load: does ``seamline serve`` stay up, record everything, and answer normally after?

A real server (the CLI on uvicorn, its own process) with the support-triage integration
routed at the provider emulator (its own process, a fixed model latency) takes, all at
once: 100 concurrent invokes, 200 concurrent sign-ins (wrong passwords, unknown users,
passwords typed as usernames), the adversarial PII bodies (250 KB of "a@b.co ", of
"4242 ", of "1.2.3.4 " …) and a fuzz corpus (deep nesting, lone surrogates, NUL, invalid
UTF-8, 1e999, 5,000-digit integers, duplicate keys, random bytes). Meanwhile a probe
sends one ordinary invoke at a time and times it. Printed per store (SQLite, PostgreSQL):

- 5xx answers other than 503 (target 0) and 503s shed with Retry-After (admission control);
- the probe's p50/p99 during the storm against the same probe before it (the baseline,
  measured in the same run), and the ratio;
- whether the server answers an ordinary invoke normally 5 s after the storm (target: yes);
- events the storm's accepted requests left outside a terminal state (target 0).

    python benchmarks/hostile.py [--db sqlite postgres] [--invokes 100] [--logins 200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ServeProcess, percentile
from _emuproc import EmulatorProcess
from sync_invoke import ANSWER, API_KEY, NAME, PROVIDER_KEY, PROVIDER_KEY_ENV, integration_file

from seamline.emulator import FaultPlan, Latency

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TERMINAL = {"succeeded", "dead_lettered", "awaiting_approval", "over_budget", "baseline",
            "duplicate", "rejected"}
USER, PASSWORD = "ana", "correct horse battery staple"


def event(**extra: Any) -> dict[str, Any]:
    return {"message_id": f"h-{uuid.uuid4().hex}", "tenant_id": "acme", "customer_id": "c-1",
            "from_email": "jane.doe@example.com", "subject": "Charged twice",
            "body": "Hello, I was charged twice for my March invoice. Please help.", **extra}


def adversarial_bodies(limit: int) -> list[bytes]:
    """Bodies near the server's size limit whose text is a detector's worst case."""
    size = limit - 2_000
    out = []
    for unit in ("a@b.co ", "4242 ", "1.2.3.4 ", "::", "DE89 ", "password: x ", "+1 415 ",
                 "@", "- ", "ignore previous instructions "):
        text = (unit * (size // len(unit) + 1))[:size]
        out.append(json.dumps(event(body=text)).encode())
    return out


def fuzz_corpus(seed: int = 7, n: int = 60) -> list[bytes]:
    base = json.dumps(event()).encode()
    corpus = [
        b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
        base.replace(b"Hello", b"\\ud800Hello"), base.replace(b"Hello", b"\\u0000Hello"),
        base.replace(b"Hello", b"Hel\xff\xfelo"), base[:-1] + b', "n": 1e999}',
        base[:-1] + b', "n": ' + b"9" * 5_000 + b"}", base[:-1] + b', "subject": "again"}',
        base.replace(b'"acme"', b"NaN"), b"", b"null", b'"a string"', b"\xef\xbb\xbf" + base,
    ]
    rng = random.Random(seed)
    corpus += [rng.randbytes(rng.randint(1, 400)) for _ in range(n)]
    corpus += [bytes(rng.choice(base) if rng.random() > 0.05 else rng.randrange(256)
                     for _ in range(len(base))) for _ in range(n)]
    return corpus


class Tally:
    def __init__(self) -> None:
        self.codes: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        self.event_ids: list[str] = []
        self.shed_without_retry_after = 0
        self._lock = threading.Lock()

    def add(self, response: httpx.Response | None, error: str = "") -> None:
        with self._lock:
            if response is None:
                self.errors[error] += 1
                return
            self.codes[response.status_code] += 1
            if response.status_code == 503 and "retry-after" not in response.headers:
                self.shed_without_retry_after += 1
            if response.headers.get("content-type", "").startswith("application/json"):
                try:
                    eid = response.json().get("event_id")
                except ValueError:
                    eid = None
                if eid and response.status_code < 500:
                    self.event_ids.append(eid)

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.codes.items() if code >= 500 and code != 503)


def _post(client: httpx.Client, tally: Tally, url: str, content: bytes,
          headers: dict[str, str]) -> None:
    try:
        tally.add(client.post(url, content=content, headers=headers))
    except httpx.HTTPError as exc:
        tally.add(None, type(exc).__name__)


def _login(base_url: str, tally: Tally, username: str, password: str) -> None:
    try:
        with httpx.Client(base_url=base_url, timeout=60) as c:
            form = c.get("/login")
            token = form.text.split('name="csrf_token" value="', 1)[-1].split('"', 1)[0]
            tally.add(c.post("/login", data={"username": username, "password": password,
                                             "csrf_token": token}))
    except httpx.HTTPError as exc:
        tally.add(None, type(exc).__name__)


def probe(client: httpx.Client, url: str, headers: dict[str, str]) -> tuple[float, int, str]:
    t = time.perf_counter()
    r = client.post(url, content=json.dumps(event()).encode(), headers=headers)
    source = r.json().get("source", "") if r.status_code == 200 else ""
    return time.perf_counter() - t, r.status_code, source


def storm(base_url: str, invokes: int, logins: int, limit: int) -> dict[str, Any]:
    url = f"/v1/integrations/{NAME}/invoke"
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    tally = Tally()
    client = httpx.Client(base_url=base_url, timeout=120,
                          limits=httpx.Limits(max_connections=400, max_keepalive_connections=400))
    probe_client = httpx.Client(base_url=base_url, timeout=120)
    for _ in range(5):  # warm: the first invokes load the model and open connections
        probe(probe_client, url, headers)
    before = [probe(probe_client, url, headers)[0] for _ in range(30)]
    jobs: list[tuple[Any, ...]] = []
    jobs += [(_post, client, tally, url, json.dumps(event()).encode(), headers)] * invokes
    jobs += [(_post, client, tally, url, b, headers) for b in adversarial_bodies(limit)]
    jobs += [(_post, client, tally, url, b, headers) for b in fuzz_corpus()]
    for i in range(logins):
        name, pw = [(USER, f"wrong-{i}"), (f"nobody{i}", "x"), (PASSWORD, PASSWORD)][i % 3]
        jobs.append((_login, base_url, tally, name, pw))
    random.Random(3).shuffle(jobs)
    during: list[float] = []
    probe_codes: Counter[int] = Counter()
    done = threading.Event()

    def probing() -> None:
        while not done.is_set():
            seconds, code, _ = probe(probe_client, url, headers)
            probe_codes[code] += 1
            if code == 200:
                during.append(seconds)

    prober = threading.Thread(target=probing, daemon=True)
    t0 = time.perf_counter()
    prober.start()
    with ThreadPoolExecutor(max_workers=min(len(jobs), 300)) as pool:
        for job in jobs:
            pool.submit(job[0], *job[1:])
    storm_s = time.perf_counter() - t0
    done.set()
    prober.join()
    time.sleep(5)
    after = [probe(probe_client, url, headers) for _ in range(5)]
    recovered = all(code == 200 and source == "model" for _, code, source in after)
    client.close()
    probe_client.close()
    return {"tally": tally, "before": before, "during": during, "probe_codes": probe_codes,
            "recovered": recovered, "storm_s": storm_s, "requests": len(jobs)}


def unsettled(db_url: str, event_ids: list[str]) -> int:
    """Accepted events not in a terminal state, after a grace period for background work."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    deadline = time.monotonic() + 60
    left = len(event_ids)
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            states = dict(conn.execute(text("SELECT id, state FROM events")).all())
        left = sum(1 for e in set(event_ids) if states.get(e) not in TERMINAL)
        if left == 0:
            break
        time.sleep(1)
    engine.dispose()
    return left


def run(kind: str, invokes: int, logins: int) -> dict[str, Any]:
    plan = FaultPlan(latency=Latency.fixed(0.02))
    with tempfile.TemporaryDirectory(prefix="seamline-hostile-") as d, \
            EmulatorProcess(plan, answer=ANSWER) as emu:
        tmp = Path(d)
        spec = integration_file(tmp, "openai", emu.base_url)
        if kind == "sqlite":
            db = f"sqlite:///{tmp / 'seamline.db'}"
        else:
            from sqlalchemy import create_engine, text

            name = f"hostile_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            db = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        env = {"SEAMLINE_API_KEYS": API_KEY, PROVIDER_KEY_ENV: PROVIDER_KEY,
               "SUPPORT_TRIAGE_HELPDESK_DB": str(tmp / "helpdesk.db"), "SEAMLINE_DB": db,
               # a shared database needs the vault's key from the environment
               "SEAMLINE_VAULT_KEY": Fernet.generate_key().decode()}
        subprocess.run([sys.executable, "-m", "seamline", "users", "add", USER, "--role",
                        "reviewer", "--password-stdin", "--db", db], input=PASSWORD + "\n",
                       text=True, env={**os.environ, **env}, check=True, capture_output=True)
        limit = 256 * 1024
        with ServeProcess([str(spec)], db=db, env=env, log=tmp / "serve.log",
                          extra_args=["--insecure-cookies"]) as srv:
            got = storm(srv.base_url, invokes, logins, limit)
        got["unsettled"] = unsettled(db, got["tally"].event_ids)
        got["log_tracebacks"] = (tmp / "serve.log").read_text(errors="replace").count("Traceback")
        got["kind"] = kind
        return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", nargs="+", default=["sqlite", "postgres"],
                    choices=["sqlite", "postgres"])
    ap.add_argument("--invokes", type=int, default=100)
    ap.add_argument("--logins", type=int, default=200)
    args = ap.parse_args()
    console = Console(width=max(Console().width, 170))
    table = Table(title="Hostile load on seamline serve (targets: 0 server errors, recovered, "
                        "0 unsettled)")
    for col in ("store", "requests", "5xx (not 503)", "503 shed", "4xx", "transport errors",
                "probe p50 before → during (ms)", "probe p99 before → during (ms)",
                "p99 ratio", "answers 5 s after", "unsettled events", "tracebacks in log"):
        table.add_column(col, justify="right")
    failed = False
    for kind in args.db:
        console.print(f"[bold]{kind}[/]: storm of {args.invokes} invokes, {args.logins} sign-ins, "
                      "adversarial PII bodies and a fuzz corpus …")
        r = run(kind, args.invokes, args.logins)
        t: Tally = r["tally"]
        before, during = r["before"], r["during"] or [float("nan")]
        p99b, p99d = percentile(before, 0.99), percentile(during, 0.99)
        four = sum(n for code, n in t.codes.items() if 400 <= code < 500)
        table.add_row(kind, str(r["requests"]), str(t.server_errors), str(t.codes.get(503, 0)),
                      str(four), str(sum(t.errors.values())),
                      f"{statistics.median(before) * 1e3:.0f} → {statistics.median(during) * 1e3:.0f}",
                      f"{p99b * 1e3:.0f} → {p99d * 1e3:.0f}", f"{p99d / p99b:.1f}×",
                      "yes" if r["recovered"] else "NO", str(r["unsettled"]),
                      str(r["log_tracebacks"]))
        failed |= (t.server_errors > 0 or not r["recovered"] or r["unsettled"] > 0
                   or t.shed_without_retry_after > 0)
        console.print(f"  answers: {dict(sorted(t.codes.items()))}; probe during the storm: "
                      f"{dict(r['probe_codes'])}; storm {r['storm_s']:.1f} s"
                      + (f"; transport errors {dict(t.errors)}" if t.errors else ""))
    console.print(table)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
