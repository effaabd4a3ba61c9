"""The provider emulator in its own process, for the gateway benchmarks.

The machine the numbers come from has two cores: an emulator thread in the measured
process would share its GIL and slow the client down, so it is served from a spawned
process. The parent gets the base URL back, and at the end every arrival the emulator
saw: ``(time.time() on arrival, fault kind or None)``; ``last_request()`` hands back the
most recent request as sent (path and JSON body), so a bare SDK call can replay exactly
what the pipeline sent.

``rpm`` makes the emulator enforce a provider-style limit itself: a GCRA bucket of
``rpm`` requests a minute with ``tolerance_s`` seconds of burst (stricter than "at most
``rpm`` in any sliding minute"); a request over it is answered 429 with ``retry-after``,
exactly as a ``rate_limit`` fault is, and recorded with the fault ``"limit_429"``.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from typing import Any, Self


def _serve(conn: Any, plan: dict, rpm: float | None, tolerance_s: float, seed: int,
           answer: dict | None) -> None:
    from seamline.emulator import Emulator, FaultPlan
    from seamline.emulator._wire import new_id

    class LimitedEmulator(Emulator):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._limit_lock = threading.Lock()
            self._tat = 0.0
            self.refused: list[float] = []

        def _over_limit(self) -> float:
            """0 when the request fits the bucket (and takes its slot), else seconds to wait."""
            if not rpm:
                return 0.0
            interval = 60.0 / rpm
            with self._limit_lock:
                now = time.monotonic()
                tat = max(self._tat, now)
                if tat - now > tolerance_s:
                    self.refused.append(time.time())
                    return tat - now - tolerance_s
                self._tat = tat + interval
                return 0.0

        async def _handle(self, request, wire):  # type: ignore[override]
            wait = self._over_limit()
            if wait > 0:
                await request.body()
                return self._error(wire, wire.fault_error("rate_limit"), new_id("req_"),
                                   retry_after=max(wait, 0.05))
            return await super()._handle(request, wire)

    backend = (lambda request: answer) if answer is not None else None
    emu = LimitedEmulator(backend, faults=FaultPlan.model_validate(plan), seed=seed)
    emu.start()
    conn.send(emu.base_url)
    try:
        while True:
            cmd = conn.recv()
            if cmd == "records":
                conn.send([(r.at, r.fault) for r in emu.requests]
                          + [(t, "limit_429") for t in emu.refused])
            elif cmd == "last":
                last = emu.requests[-1] if emu.requests else None
                conn.send((last.provider, last.path, last.body) if last else None)
            elif cmd == "reset":
                emu.reset()
                emu.refused.clear()
                conn.send(True)
            else:
                break
    finally:
        emu.stop()


class EmulatorProcess:
    """``with EmulatorProcess(plan) as emu: emu.base_url ... emu.records()``.

    ``answer``: the JSON object every reply carries (default: the emulator's echo backend).
    """

    def __init__(self, plan: Any = None, *, rpm: float | None = None, tolerance_s: float = 2.0,
                 seed: int = 0, answer: dict | None = None) -> None:
        if plan is None:
            plan = {}
        elif hasattr(plan, "model_dump"):
            plan = plan.model_dump(mode="json")
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, plan, rpm, tolerance_s, seed, answer),
                                 daemon=True, name="seamline-emulator")
        self.base_url: str = ""

    def __enter__(self) -> Self:
        self._proc.start()
        if not self._conn.poll(30):
            self._proc.kill()
            raise RuntimeError("the emulator process did not start within 30 s")
        self.base_url = self._conn.recv()
        return self

    def records(self) -> list[tuple[float, str | None]]:
        self._conn.send("records")
        return sorted(self._conn.recv())

    def last_request(self) -> tuple[str, str, Any] | None:
        """``(provider, path, parsed JSON body)`` of the latest request received, or None."""
        self._conn.send("last")
        return self._conn.recv()

    def reset(self) -> None:
        self._conn.send("reset")
        self._conn.recv()

    def __exit__(self, *exc: object) -> None:
        try:
            self._conn.send("stop")
        except (BrokenPipeError, OSError):
            pass
        self._proc.join(15)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)


def max_window(times: list[float], window: float) -> int:
    """The most arrivals in any ``window`` seconds (sliding, anchored at each arrival)."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - window:
            j += 1
        best = max(best, i - j + 1)
    return best
