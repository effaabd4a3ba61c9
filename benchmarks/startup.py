"""How fast the command line answers: ``seamline --help`` against a bare ``python -c pass``.

Each case is a fresh process, timed from spawn to exit (wall clock, and the CPU time the
child used, which depends less on what else the machine runs), its output discarded:

    python benchmarks/startup.py [--rounds 15]

The cases run interleaved, round by round after one warm-up round (bytecode and page
cache), so a drift in machine load hits all of them alike. Target: ``seamline --help``
under 500 ms wall at the median. Also checked (exit 1 if not): ``import seamline`` and
``seamline --help`` load none of the heavy libraries that only commands need.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import percentile

TARGET_MS = 500
HEAVY = ("sqlalchemy", "alembic", "httpx", "fastapi", "sklearn", "openai", "anthropic")

# `seamline --help` in-process, as the console script runs it (main() exits after the help).
HELP_PROBE = ("from seamline.cli import main\nsys.argv = ['seamline', '--help']\n"
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
    }


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall ms and CPU ms (user + system) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall * 1000, cpu * 1000


def heavy_loaded(code: str) -> list[str]:
    """The heavy top-level packages in ``sys.modules`` after ``code`` ran in a fresh process."""
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}
    return [name for name in HEAVY if name in loaded]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (after one warm-up)")
    args = parser.parse_args()

    runs = cases()
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    load_before = os.getloadavg()[0]
    for round_ in range(args.rounds + 1):
        for name, argv in runs.items():
            wall_ms, cpu_ms = timed(argv)
            if round_:  # round 0 warms the caches
                wall[name].append(wall_ms)
                cpu[name].append(cpu_ms)

    console = Console()
    base = statistics.median(wall["python -c pass"])
    table = Table(title=f"Start-up, {args.rounds} interleaved rounds, a fresh process each",
                  caption=f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f} "
                          f"on {os.cpu_count()} cores; cpu = user + system time of the process")
    for column in ("case", "median ms", "p90 ms", "× baseline", "cpu median ms"):
        table.add_column(column, justify="left" if column == "case" else "right")
    for name, values in wall.items():
        median = statistics.median(values)
        table.add_row(name, f"{median:.0f}", f"{percentile(values, 0.9):.0f}",
                      f"{median / base:.1f}", f"{statistics.median(cpu[name]):.0f}")
    console.print(table)

    help_ms = statistics.median(wall["seamline --help"])
    met = "met" if help_ms < TARGET_MS else "NOT met"
    console.print(f"Target: seamline --help under {TARGET_MS} ms wall at the median: {met} "
                  f"({help_ms:.0f} ms).")

    failed = False
    for what, code in (("import seamline", "import seamline"), ("seamline --help", HELP_PROBE)):
        loaded = heavy_loaded(code)
        failed = failed or bool(loaded)
        console.print(f"Heavy modules after {what}: {', '.join(loaded) or 'none'} "
                      f"(checked: {', '.join(HEAVY)}).")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
