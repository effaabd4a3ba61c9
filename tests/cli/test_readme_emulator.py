"""The README's "same on a remote model" walkthrough runs as written: a new integration for
Claude, `seamline emulate` in a second terminal, and `seamline run` against it, with no key
and no network beyond 127.0.0.1.

The lines between ``<!-- emulator:begin`` and ``<!-- emulator:end -->`` run in order in an
empty folder, each in bash with the exports before it; the line that serves until Ctrl-C
runs in the background (the second terminal) until the others are done. The one rewrite:
the port written (8787) becomes a free one, everywhere it appears, so that the test never
meets another process's server.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BANNER = "Emulating Anthropic at http://"


def walkthrough(readme: str) -> list[str]:
    match = re.search(r"<!-- emulator:begin.*?-->\s*```sh\n(.*?)```\s*<!-- emulator:end -->",
                      readme, re.DOTALL)
    assert match, "README.md has no <!-- emulator:begin --> … <!-- emulator:end --> section"
    return [line.strip() for line in match.group(1).splitlines()
            if line.strip() and not line.strip().startswith("#")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SEAMLINE_", "ANTHROPIC_", "OPENAI_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "80"
    return env


def _start(script: str, cwd: Path) -> tuple[subprocess.Popen, str]:
    """The second terminal: the server line, running until it printed where it listens."""
    proc = subprocess.Popen(["bash", "-c", script], cwd=cwd, env=_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if BANNER in " ".join("".join(seen).split()):
            return proc, "".join(seen)
    _stop(proc)
    pytest.fail(f"the emulator never said {BANNER!r}:\n{''.join(seen)[-2000:]}")


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in that terminal: the server we started
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.timeout(900)
def test_the_readme_s_own_integration_runs_on_the_emulator_as_written(tmp_path):
    port = str(free_port())
    lines = [line.replace("8787", port)
             for line in walkthrough((REPO / "README.md").read_text(encoding="utf-8"))]
    assert any("seamline init" in line and "--provider anthropic" in line for line in lines)
    prelude = ["set -eo pipefail"]
    server = None
    outputs: list[str] = []
    try:
        for line in lines:
            if line.startswith("export "):
                prelude.append(line)
                continue
            script = "\n".join([*prelude, line])
            if "Ctrl-C stops" in line:
                server, _ = _start(script, tmp_path)
                continue
            done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=_env(),
                                  capture_output=True, text=True, timeout=600, check=False)
            assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
            outputs.append(done.stdout)
        assert server is not None, "the walkthrough starts no emulator"
        # What the walkthrough ran: the emulated Claude answered, not the local fallback.
        listed = subprocess.run(
            ["bash", "-c", "seamline events list --integration lead_claude --json"],
            cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120, check=True)
        events = json.loads(listed.stdout)
    finally:
        if server is not None:
            _stop(server)
    answered = [e for e in events if e["state"] == "succeeded"]
    assert len(answered) >= 15, [e["state"] for e in events]
    assert {e["model"] for e in answered} == {"claude-haiku-4-5"}
    assert "lead_claude" in outputs[-1]  # the last line listed the integration's events
