"""The README's five-minute tour runs as written, on a fresh demo.

Every shell command between ``<!-- tour:begin`` and ``<!-- tour:end -->`` runs, in order, in
a temporary folder holding a copy of ``examples/`` and the demo's store (``seamline demo``,
as ``make demo`` leaves it), and must exit 0. Variables a line assigns (``E=$(…)``) carry to
the next lines, as in one shell. A command that serves until Ctrl-C (its comment says so)
must print its address, then is interrupted. The one rewrite: such servers get a free port
instead of the one written, so that the test never meets another process's server.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# What a server prints once it listens, by command.
BANNERS = {"emulate": "Emulating Anthropic at http://", "serve": "console is at http://"}


def tour_commands(readme: str) -> list[str]:
    """The tour's shell lines: continuation lines joined, blanks and comments left out."""
    match = re.search(r"<!-- tour:begin.*?-->\s*```sh\n(.*?)```\s*<!-- tour:end -->", readme, re.DOTALL)
    assert match, "README.md has no <!-- tour:begin --> … <!-- tour:end --> section"
    joined = match.group(1).replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serves_until_interrupted(line: str) -> str | None:
    if "Ctrl-C stops" not in line:
        return None
    words = shlex.split(line, comments=True)
    command = next(w for w in words if "=" not in w and w != "seamline")
    return command


def _with_port(line: str, port: int) -> str:
    code, sep, comment = line.partition("  #")
    if "--port" in code:
        code = re.sub(r"--port \d+", f"--port {port}", code)
    else:
        code = f"{code.rstrip()} --port {port}"
    return code + (f"  #{comment}" if sep else "")


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    """A folder as a new user has it after `make demo`: examples, .venv, the demo's store."""
    root = tmp_path_factory.mktemp("tour")
    shutil.copytree(REPO / "examples", root / "examples",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".venv").symlink_to(REPO / ".venv" if (REPO / ".venv").is_dir() else BIN.parent)
    done = subprocess.run([str(BIN / "seamline"), "demo"], check=False, cwd=root, env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SEAMLINE_", "SUPPORT_TRIAGE_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "80"  # the tables must read at 80 columns
    return env


def _run_server(script: str, root: Path, banner: str) -> tuple[bool, str]:
    proc = subprocess.Popen(["bash", "-c", script], cwd=root, env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    seen: list[str] = []
    deadline = time.monotonic() + 300
    ok = False
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if banner in " ".join("".join(seen).split()):
            ok = True
            break
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return ok, "".join(seen)


@pytest.mark.timeout(1500)
def test_every_command_of_the_readme_tour_exits_0_on_a_fresh_demo(demo_folder):
    lines = tour_commands((REPO / "README.md").read_text(encoding="utf-8"))
    assert len(lines) > 20
    prelude: list[str] = ["set -eo pipefail"]
    failures: list[str] = []
    for line in lines:
        if line.startswith((". ", "export ")):
            prelude.append(line)
            continue
        head = "\n".join(prelude)
        server = _serves_until_interrupted(line)
        if server is not None:
            ok, out = _run_server(f"{head}\n{_with_port(line, free_port())}", demo_folder,
                                  BANNERS[server])
            if not ok:
                failures.append(f"{line}\n  never printed {BANNERS[server]!r}:\n{out[-2000:]}")
            continue
        assigned = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=\$\((.*)\)\s*(#.*)?$", line)
        script = f"{head}\n{line}" + (f'\nprintf "%s" "${assigned.group(1)}"' if assigned else "")
        done = subprocess.run(["bash", "-c", script], check=False, cwd=demo_folder, env=_env(),
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            failures.append(f"{line}\n  exit {done.returncode}:\n{done.stdout[-1500:]}"
                            f"{done.stderr[-1500:]}")
            continue
        if assigned:
            value = done.stdout.strip()
            if not value:
                failures.append(f"{line}\n  assigned nothing")
            prelude.append(f"{assigned.group(1)}={shlex.quote(value)}")
    assert not failures, "\n\n".join(failures)


def test_the_tour_names_only_files_that_ship():
    for line in tour_commands((REPO / "README.md").read_text(encoding="utf-8")):
        for word in shlex.split(line, comments=True):
            if word.startswith("examples/"):
                assert (REPO / word).exists(), f"{word} (in: {line}) does not ship"
    assert "EVENT_ID" not in "\n".join(tour_commands((REPO / "README.md").read_text()))
