"""How fast the command line answers: ``seamline --help`` and the listing commands against a
bare ``python -c pass``.

Each case is a fresh process, timed from spawn to exit (wall clock, and the CPU time the
child used, which depends less on what else the machine runs), its output discarded:

    python benchmarks/startup.py [--rounds 15] [--db DEMO.db] [--src OTHER/src]

The listing commands (``approvals list``, ``dlq list``, ``events list``, ``queue status``)
read a demo store: the support-triage inbox through ``seamline run`` (built first, in a
temporary folder, unless ``--db`` names one to copy). ``--src`` runs every case against
another checkout's ``src`` (``git archive HEAD src examples | tar -x -C /tmp/base``), store
included, to compare before and after a change on the same machine.

The cases run interleaved, round by round after one warm-up round, so a drift in machine
load hits all of them alike. The warm-up also writes the bytecode (into a temporary
``PYTHONPYCACHEPREFIX``, whatever ``PYTHONDONTWRITEBYTECODE`` says here): an installed
package runs from its bytecode, and compiling Seamline's modules again in every process
would add ~0.2 s that no user pays. Target: ``seamline --help`` and each listing command
under 500 ms wall at the median. Also checked (exit 1 if not): ``import seamline`` and
``seamline --help`` load none of the heavy libraries that only commands need, and the
listing commands none that only running an event needs.
"""

from __future__ import annotations

import argparse
import json
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import percentile

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "support_triage"
TARGET_MS = 500
HEAVY = ("sqlalchemy", "alembic", "httpx", "fastapi", "sklearn", "openai", "anthropic")
# A listing reads the store (SQLAlchemy) and prints a table; it runs no event, no action,
# no migration and no model.
LISTING_HEAVY = ("alembic", "httpx", "fastapi", "sklearn", "spacy", "numpy", "jinja2",
                 "cryptography", "openai", "anthropic")
LISTINGS = (("approvals", "list"), ("dlq", "list"), ("events", "list"), ("queue", "status"))

# A command run in-process, as the console script runs it (main() exits at the end).
PROBE = ("from seamline.cli import main\nsys.argv = ['seamline', *{args!r}]\n"
         "try:\n    main()\nexcept SystemExit:\n    pass")


def seamline_command() -> list[str]:
    """The installed console script beside this interpreter, as users run it."""
    script = Path(sys.executable).with_name("seamline")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "seamline"]


def cases() -> dict[str, list[str]]:
    cli = seamline_command()
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import seamline": [sys.executable, "-c", "import seamline"],
        "seamline --help": [*cli, "--help"],
        "seamline check --help": [*cli, "check", "--help"],
        **{f"seamline {' '.join(args)}": [*cli, *args] for args in LISTINGS},
    }


def child_env(work: Path, src: Path | None) -> dict[str, str]:
    """The environment every case runs in: the demo store, bytecode kept, maybe another tree."""
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(work / "pycache"),
           "SEAMLINE_DB": str(work / "seamline.db"),
           "SUPPORT_TRIAGE_HELPDESK_DB": str(work / "helpdesk.db"), "COLUMNS": "120"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


def demo_store(work: Path, env: dict[str, str], copy_of: Path | None) -> None:
    if copy_of is not None:
        shutil.copy(copy_of, work / "seamline.db")
        return
    print("Building the demo store (the inbox through seamline run)...", flush=True)
    done = subprocess.run([*seamline_command(), "run", str(EXAMPLE / "integration.yaml"),
                           "--input", str(EXAMPLE / "data" / "inbox.jsonl")], env=env,
                          cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"seamline run failed:\n{done.stderr[-2000:]}")


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall ms and CPU ms (user + system) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env=env, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall * 1000, cpu * 1000


def loaded(code: str, heavy: tuple[str, ...], env: dict[str, str], cwd: Path) -> list[str]:
    """The ``heavy`` top-level packages in ``sys.modules`` after ``code`` ran in a fresh process."""
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, env=env, cwd=cwd)
    names = {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}
    return [name for name in heavy if name in names]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (after one warm-up)")
    parser.add_argument("--db", type=Path, help="a demo store to copy instead of building one")
    parser.add_argument("--src", type=Path, help="run against this source tree instead")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="seamline-bench-startup-") as tmp:
        work = Path(tmp)
        env = child_env(work, args.src.resolve() if args.src else None)
        demo_store(work, env, args.db)
        runs = cases()
        wall: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        load_before = os.getloadavg()[0]
        for round_ in range(args.rounds + 1):
            for name, argv in runs.items():
                wall_ms, cpu_ms = timed(argv, env, work)
                if round_:  # round 0 warms the caches and writes the bytecode
                    wall[name].append(wall_ms)
                    cpu[name].append(cpu_ms)
        checks = [("import seamline", "import seamline", HEAVY),
                  ("seamline --help", PROBE.format(args=["--help"]), HEAVY),
                  *[(f"seamline {' '.join(a)}", PROBE.format(args=list(a)), LISTING_HEAVY)
                    for a in LISTINGS]]
        found = {what: loaded(code, heavy, env, work) for what, code, heavy in checks}

    console = Console()
    base = statistics.median(wall["python -c pass"])
    tree = f"; source: {args.src}" if args.src else ""
    table = Table(title=f"Start-up, {args.rounds} interleaved rounds, a fresh process each",
                  caption=f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f} "
                          f"on {os.cpu_count()} cores; cpu = user + system time of the "
                          f"process{tree}")
    for column in ("case", "median ms", "p90 ms", "× baseline", "cpu median ms"):
        table.add_column(column, justify="left" if column == "case" else "right")
    for name, values in wall.items():
        median = statistics.median(values)
        table.add_row(name, f"{median:.0f}", f"{percentile(values, 0.9):.0f}",
                      f"{median / base:.1f}", f"{statistics.median(cpu[name]):.0f}")
    console.print(table)

    targeted = ["seamline --help", *[f"seamline {' '.join(a)}" for a in LISTINGS]]
    for name in targeted:
        median = statistics.median(wall[name])
        met = "met" if median < TARGET_MS else "NOT met"
        console.print(f"Target: {name} under {TARGET_MS} ms wall at the median: {met} "
                      f"({median:.0f} ms; cpu {statistics.median(cpu[name]):.0f} ms).")

    for what, code, heavy in checks:
        console.print(f"Heavy modules after {what}: {', '.join(found[what]) or 'none'} "
                      f"(checked: {', '.join(heavy)}).")
    return 1 if any(found.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
