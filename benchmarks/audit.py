"""What the signed audit chain costs, and how fast it verifies (docs/audit.md, "Numbers"):

    python benchmarks/audit.py [--rows 1000000] [--append-rows 200000]

1. Appending, per row, on SQLite (WAL, synchronous=NORMAL), 10 rows per transaction as an
   event writes them: the chain as it was (an unsalted hash over the payload, no digest
   column) against the chain as it is (a salted payload digest, its column), and the chain
   as it is with the background signer running (a checkpoint every 10,000 rows / 5 s),
   interleaved round by round.
2. One checkpoint: Ed25519 signing alone, and the whole of it (read the head, check the
   last signed row, sign, keep the copy, publish a file with fsync).
3. Verifying ``--rows`` rows with their checkpoints (one every 10,000 rows), from the store
   and from an export; target 1,000,000 rows in at most 30 s.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

from seamline.audit import (
    AuditEntry,
    DirectorySink,
    Signer,
    _chain,  # the benchmark swaps in the old row format for its baseline
    append,
    checkpoint,
    export,
    start_checkpoints,
    stop_checkpoints,
    verify,
    verify_export,
)
from seamline.store import open_store

TARGET_S = 30.0
PAYLOAD = {"stage": "outputs", "output": {"intent": "billing", "urgency": "normal",
                                          "summary": "Customer <EMAIL_1> asks about invoice 4411"},
           "tokens": {"input": 412, "output": 57}, "cost_usd": 0.00042, "ms": 3.1}


def _old_rows(entries, head, created):
    """The chain before this change: the payload hashed inside the row hash, no salt."""
    seq, prev = head
    secrets = _chain.configured_secrets()
    rows = []
    for e in entries:
        seq += 1
        payload = _chain.canonical_json(_chain._clean(e.payload, secrets))
        h = _chain.row_hash(prev, seq, e.event_id, e.integration, e.kind, created, payload)
        rows.append({"seq": seq, "event_id": e.event_id, "integration": e.integration,
                     "kind": e.kind, "payload": payload, "created_at": created,
                     "prev_hash": prev, "hash": h, "payload_hash": None, "payload_salt": None})
        prev = h
    return rows, (seq, prev)


def append_us_per_row(tmp: Path, name: str, rows: int, *, old: bool = False,
                      signed: Signer | None = None) -> float:
    store = open_store(tmp / f"{name}.db")
    if signed is not None:
        start_checkpoints(store, signer=signed, sink=DirectorySink(tmp / f"{name}-cps"),
                          every_rows=10_000, every_s=5.0)
    entries = [AuditEntry(f"evt-{i}", "support_triage", "step", PAYLOAD) for i in range(10)]
    real = _chain._chain_rows
    if old:
        _chain._chain_rows = _old_rows
    try:
        t0 = time.perf_counter()
        for _ in range(rows // 10):
            with store.write() as conn:
                append(conn, entries)
        elapsed = time.perf_counter() - t0
    finally:
        _chain._chain_rows = real
        if signed is not None:
            stop_checkpoints(store)
        store.close()
    return elapsed / rows * 1e6


def chain_cpu_us_per_row(rows: int, *, old: bool) -> float:
    """CPU only: building the rows of 10-entry appends (scrub, canonical JSON, hashes), no database."""
    entries = [AuditEntry(f"evt-{i}", "support_triage", "step", PAYLOAD) for i in range(10)]
    make = _old_rows if old else _chain._chain_rows
    head = (0, "0" * 64)
    t0 = time.process_time()
    for _ in range(rows // 10):
        _, head = make(entries, head, 1.0)
    return (time.process_time() - t0) / rows * 1e6


def build(path: Path, rows: int, signer: Signer, sink: DirectorySink) -> float:
    store = open_store(path)
    entries = [AuditEntry(f"evt-{i}", "support_triage", "step", PAYLOAD) for i in range(1000)]
    t0 = time.perf_counter()
    for n in range(rows // 1000):
        with store.write() as conn:
            append(conn, entries)
        if (n + 1) % 10 == 0:
            checkpoint(store, signer, sink)
    store.close()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--append-rows", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    signer = Signer.generate()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print(f"1. append, µs per row ({args.append_rows:,} rows a run, 10 rows a transaction, "
              f"{args.rounds} interleaved rounds)")
        runs: dict[str, list[float]] = {"before (unsalted, payload in the row hash)": [],
                                        "now (salted digest)": [],
                                        "now + background signer (10,000 rows / 5 s)": []}
        for r in range(args.rounds):
            for k, (label, values) in enumerate(runs.items()):
                values.append(append_us_per_row(
                    tmp, f"a{r}-{k}", args.append_rows,
                    old=label.startswith("before"), signed=signer if "signer" in label else None))
        for label, values in runs.items():
            print(f"   {label:48s} median {statistics.median(values):6.2f} µs  "
                  f"(runs: {', '.join(f'{v:.2f}' for v in values)})")
        cpu: dict[str, list[float]] = {"before": [], "now": []}
        for _ in range(args.rounds):
            for label, values in cpu.items():
                values.append(chain_cpu_us_per_row(args.append_rows, old=label == "before"))
        b, n = statistics.median(cpu["before"]), statistics.median(cpu["now"])
        print(f"   CPU of building a row, no database: before {b:.2f} µs, now {n:.2f} µs "
              f"(+{n - b:.2f} µs a row; runs before {', '.join(f'{v:.2f}' for v in cpu['before'])}; "
              f"now {', '.join(f'{v:.2f}' for v in cpu['now'])})")
        body = hashlib.sha256(b"x").digest() * 4
        t0 = time.perf_counter()
        for _ in range(2000):
            signer.sign(body)
        sign_us = (time.perf_counter() - t0) / 2000 * 1e6
        print(f"2. Ed25519 sign: {sign_us:.1f} µs", end="")
        store = open_store(tmp / "cp.db")
        sink = DirectorySink(tmp / "cp-sink")
        times = []
        for i in range(50):
            with store.write() as conn:
                append(conn, [AuditEntry("e", "i", "step", {"i": i})])
            t0 = time.perf_counter()
            checkpoint(store, signer, sink)
            times.append(time.perf_counter() - t0)
        store.close()
        print(f"; a whole checkpoint (head, check, sign, copy, publish + fsync): median "
              f"{statistics.median(times) * 1000:.2f} ms, p90 {sorted(times)[44] * 1000:.2f} ms")
        print(f"   at 10,000 rows a checkpoint that is {statistics.median(times) * 1e6 / 10_000:.3f} µs "
              "per row, spent on the signer's thread")

        print(f"3. verify {args.rows:,} rows, checkpoints every 10,000 rows")
        big_sink = DirectorySink(tmp / "big-sink")
        built = build(tmp / "big.db", args.rows, signer, big_sink)
        print(f"   (built in {built:.1f} s)")
        store = open_store(tmp / "big.db")
        t0, c0 = time.perf_counter(), time.process_time()
        report = verify(store, checkpoints=big_sink, keys=[signer.public])
        from_store, store_cpu = time.perf_counter() - t0, time.process_time() - c0
        assert report.ok and report.rows == args.rows, report.problems[:3]
        out = tmp / "chain.jsonl"
        t0 = time.perf_counter()
        with out.open("w", encoding="utf-8") as fh:
            export(store, fh)
        exported = time.perf_counter() - t0
        store.close()
        t0, c0 = time.perf_counter(), time.process_time()
        with out.open(encoding="utf-8") as fh:
            report = verify_export(fh, checkpoints=big_sink, keys=[signer.public])
        from_export, export_cpu = time.perf_counter() - t0, time.process_time() - c0
        assert report.ok and report.rows == args.rows
        print(f"   from the store: {from_store:.1f} s wall, {store_cpu:.1f} s CPU "
              f"({from_store / args.rows * 1e6:.1f} µs/row wall, {report.checkpoints} checkpoints "
              "held against it)")
        print(f"   export: {exported:.1f} s; from the export: {from_export:.1f} s wall, "
              f"{export_cpu:.1f} s CPU ({from_export / args.rows * 1e6:.1f} µs/row wall)")
        scaled = max(from_store, from_export) * 1_000_000 / args.rows
        ok = scaled <= TARGET_S
        print(f"   target: 1,000,000 rows in ≤ {TARGET_S:.0f} s — {'met' if ok else 'NOT met'} "
              f"({scaled:.1f} s for 1,000,000 at this rate)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
