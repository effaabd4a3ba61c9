"""Small pieces the benchmarks share: percentiles, a free port, ``seamline serve`` in a subprocess.

The server runs as users run it (the CLI, uvicorn, its own process), so what a benchmark
measures against it includes HTTP, the event loop and the thread hand-offs, not only the
pipeline.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Self

import httpx


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank, as the other benchmarks read it."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def free_port() -> int:
    """A TCP port nobody listens on right now (a small race with other processes is accepted)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    """``with ServeProcess(["integration.yaml"], db=..., env=...) as srv: srv.base_url``.

    Starts ``python -m seamline serve`` on a free port, waits for ``/healthz``, and stops it
    with SIGTERM (uvicorn's graceful shutdown) at the end. Its output goes to ``log``.
    """

    def __init__(self, integrations: list[str], *, db: str, log: Path,
                 env: dict[str, str] | None = None, extra_args: list[str] | None = None,
                 start_timeout_s: float = 60) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._args = [sys.executable, "-m", "seamline", "serve", *integrations,
                      "--port", str(self.port), "--db", db, *(extra_args or [])]
        self._env = {**os.environ, **(env or {})}
        self._log_path, self._timeout = log, start_timeout_s
        self._log: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self._log = self._log_path.open("wb")
        self._proc = subprocess.Popen(self._args, env=self._env, stdout=self._log,
                                      stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"seamline serve exited with {self._proc.returncode}:\n"
                                   + self._log_path.read_text(errors="replace")[-3000:])
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"seamline serve did not answer /healthz within {self._timeout:g} s")

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        if self._log is not None:
            self._log.close()
