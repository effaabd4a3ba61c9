"""Admission control: a bounded number of requests of each kind in flight, the rest shed.

A request over its kind's limit is answered at once with 503 and Retry-After, before it
takes a thread or a store connection: a burst is refused in microseconds instead of
queueing behind the connection pool until every caller times out.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from seamline.errors import ConfigError
from seamline.server._errors import error_response

# The kinds of work, each with its own budget, so a flood of one cannot starve another
# (a sign-in storm leaves invokes alone, a burst of invokes leaves the console usable).
# "large" is counted on top of a request's own kind: bodies over LARGE_BODY_BYTES take
# seconds of CPU to decode and redact, and Python threads share one interpreter lock, so
# more of them at once than there are cores only slows every other request down.
KINDS = ("invoke", "webhooks", "login", "console", "reads", "ready", "large")
RETRY_AFTER_S = 1
LARGE_BODY_BYTES = 64 * 1024


def default_limits(max_workers: int) -> dict[str, int]:
    """In-flight limits sized from the invoke executor's threads.

    invoke (invoke, enqueue, feedback) and reads hold an executor thread each; a sign-in
    mostly waits its turn for a password check (a coroutine, no thread), so more may wait.
    """
    return {"invoke": max_workers, "webhooks": max_workers, "login": 2 * max_workers,
            "console": max_workers, "reads": max_workers, "ready": 4,
            "large": min(max_workers, max(1, os.cpu_count() or 1))}


def checked_limits(max_workers: int, given: Mapping[str, int] | None) -> dict[str, int]:
    limits = default_limits(max_workers)
    unknown = set(given or {}) - set(KINDS)
    if unknown:
        raise ConfigError(f"Unknown kinds of in-flight limit: {', '.join(sorted(unknown))}; "
                          f"the kinds are {', '.join(KINDS)}.")
    for kind, limit in (given or {}).items():
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ConfigError(f"The in-flight limit of {kind} must be a whole number of "
                              f"requests, at least 1, not {limit!r}.")
        limits[kind] = limit
    return limits


def kind_of(method: str, path: str) -> str | None:
    """Which budget a request counts against; None for the liveness probe (never shed)."""
    if path == "/healthz":
        return None
    if path == "/readyz":
        return "ready"
    if path.startswith("/v1/webhooks/"):
        return "webhooks"
    if path in ("/login", "/logout"):
        return "login"
    if path == "/console" or path.startswith("/console/"):
        return "console"
    if method == "POST" and path.startswith("/v1/"):
        return "invoke"
    return "reads"


class InFlightLimits:
    """ASGI middleware: counts requests in flight per kind; over the limit, 503 at once.

    The counters are touched only on the event loop, between awaits, so they need no lock.
    """

    def __init__(self, app: Any, limits: Mapping[str, int]) -> None:
        self.app, self.limits = app, dict(limits)
        self.in_flight = dict.fromkeys(self.limits, 0)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        kind = kind_of(scope.get("method", ""), scope.get("path", "")) \
            if scope["type"] == "http" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        kinds = ("large", kind) if _declared_length(scope) > LARGE_BODY_BYTES else (kind,)
        for k in kinds:
            limit = self.limits[k]
            if self.in_flight[k] >= limit:
                what = f"{kind} requests" if k == kind else \
                    f"requests with a body over {LARGE_BODY_BYTES // 1024} KB"
                shed = error_response(503, f"the server is already answering as many {what} "
                                           f"as it takes at once ({limit}); try again in "
                                           f"{RETRY_AFTER_S} s",
                                      {"Retry-After": str(RETRY_AFTER_S)})
                await shed(scope, receive, send)
                return
        for k in kinds:
            self.in_flight[k] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            for k in kinds:
                self.in_flight[k] -= 1


def _declared_length(scope: dict) -> int:
    """The request's Content-Length, 0 when it has none (or says nothing a number)."""
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0
