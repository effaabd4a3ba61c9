"""What an approval and an eval cost once the on-device model's fit is kept on disk.

    python benchmarks/approvals.py [--rounds 3] [--src OTHER/src]

Builds a demo store (the support-triage inbox through ``seamline run``, which fits the
on-device model once and keeps the fit in the store's ``models/`` folder), then times, in
fresh processes as users run them, interleaved round by round:

* ``seamline approvals approve ID`` with the kept fit deleted first -- what every approval
  cost before fits were kept (the model was fitted again in each process): the baseline;
* the same approval with the kept fit there (loaded, never fitted): the target is 1 s;
* ``seamline approvals list`` -- the same imports and store, no model: the floor any
  approvals command pays on this machine;
* ``seamline eval run`` of the triage golden set (72 examples), with no kept fit (cold)
  and with one (warm).

The store is restored from a copy before each approval, so every round approves the same
waiting action. Prints medians (wall, and the CPU time of the process, which depends less
on what else the machine runs), the ratio against the baseline measured in the same run,
and exits 1 when the cached approval's median is over the target.

Bytecode is kept between processes (a temporary ``PYTHONPYCACHEPREFIX``, whatever
``PYTHONDONTWRITEBYTECODE`` says here), as an installed package runs; the store build
writes it first. ``--src`` runs everything against another checkout's ``src`` (``git
archive HEAD src examples | tar -x -C /tmp/base``), to compare before and after a change.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "support_triage"
TARGET_S = 1.0


def seamline() -> list[str]:
    script = Path(sys.executable).with_name("seamline")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "seamline"]


CPU: dict[str, list[float]] = {}  # case -> CPU seconds (user + system) of each run


def timed(argv: list[str], env: dict[str, str], case: str = "") -> float:
    """Wall seconds of one run of ``argv``; its CPU seconds go to ``CPU[case]``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, check=False, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, cwd=ROOT)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    if case:
        CPU.setdefault(case, []).append(after.ru_utime - before.ru_utime
                                        + after.ru_stime - before.ru_stime)
    return took


def waiting_action(db: Path) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT id FROM outbox WHERE status = 'awaiting_approval' "
                           "ORDER BY id LIMIT 1").fetchone()
    if row is None:
        raise SystemExit("The demo run left no action waiting for approval.")
    return int(row[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--src", type=Path, help="run against this source tree instead")
    args = parser.parse_args()
    cli = seamline()
    with tempfile.TemporaryDirectory(prefix="seamline-bench-approvals-") as tmp:
        work = Path(tmp)
        db, pristine, models = work / "seamline.db", work / "pristine.db", work / "models"
        env = {**os.environ, "SEAMLINE_DB": str(db),
               "SUPPORT_TRIAGE_HELPDESK_DB": str(work / "helpdesk.db")}
        env.pop("SEAMLINE_MODELS", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        if args.src is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(args.src.resolve()),
                                                              env.get("PYTHONPATH")]))
        print("Building the demo store (the inbox through seamline run)...", flush=True)
        timed([*cli, "run", str(EXAMPLE / "integration.yaml"), "--input",
               str(EXAMPLE / "data" / "inbox.jsonl")], env)
        kept = sorted(models.glob("local-*.npz"))
        if not kept:
            raise SystemExit(f"seamline run kept no fit in {models}.")
        shutil.copy(db, pristine)
        action = waiting_action(db)
        approve = [*cli, "approvals", "approve", str(action), "--reviewer", "bench"]
        spare = work / "kept-fit"
        spare.mkdir()
        times: dict[str, list[float]] = {"refit": [], "cached": [], "list": [], "eval cold": [],
                                         "eval warm": []}
        eval_models = work / "eval-models"
        golden = [*cli, "eval", "run", str(EXAMPLE / "integration.yaml"), "--golden",
                  str(EXAMPLE / "data" / "golden.jsonl")]
        for n in range(args.rounds):
            print(f"round {n + 1}/{args.rounds}", flush=True)
            for path in kept:  # the baseline: no fit on disk, as before fits were kept
                shutil.move(path, spare / path.name)
            shutil.copy(pristine, db)
            times["refit"].append(timed(approve, env, "refit"))
            for path in models.glob("local-*.npz"):
                path.unlink()  # the one the refit wrote
            for path in kept:
                shutil.move(spare / path.name, path)
            shutil.copy(pristine, db)
            times["cached"].append(timed(approve, env, "cached"))
            times["list"].append(timed([*cli, "approvals", "list"], env, "list"))
            shutil.rmtree(eval_models, ignore_errors=True)
            eval_env = {**env, "SEAMLINE_MODELS": str(eval_models)}
            times["eval cold"].append(timed(golden, eval_env, "eval cold"))
            times["eval warm"].append(timed(golden, eval_env, "eval warm"))
    med = {k: statistics.median(v) for k, v in times.items()}
    tree = f"; source: {args.src}" if args.src else ""
    table = Table(title=f"Approvals and eval on the demo store ({args.rounds} rounds, medians)",
                  caption=f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
                          f"cpu = user + system time of the process{tree}")
    for col in ("case", "median s", "min s", "cpu median s", "vs baseline"):
        table.add_column(col, justify="left" if col == "case" else "right")
    rows = [("approve, fit deleted (baseline: refit)", "refit", "refit"),
            ("approve, fit kept (loaded)", "cached", "refit"),
            ("approvals list (imports + store, no model)", "list", "refit"),
            ("eval run 72 examples, no fit kept (cold)", "eval cold", "eval cold"),
            ("eval run 72 examples, fit kept (warm)", "eval warm", "eval cold")]
    for label, key, base in rows:
        table.add_row(label, f"{med[key]:.2f}", f"{min(times[key]):.2f}",
                      f"{statistics.median(CPU[key]):.2f}",
                      f"{med[base] / med[key]:.1f}x faster" if key != base else "baseline")
    console = Console()
    console.print(table)
    ok = med["cached"] <= TARGET_S
    console.print(f"approve with the fit kept: {med['cached']:.2f} s median "
                  f"(cpu {statistics.median(CPU['cached']):.2f} s), "
                  f"{med['refit'] / med['cached']:.1f}x faster than refitting; target "
                  f"{TARGET_S:g} s: {'met' if ok else 'NOT met'} (of it, {med['list']:.2f} s is "
                  "what any approvals command costs here: Python, imports, the store).")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
