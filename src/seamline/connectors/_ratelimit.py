"""Vendors that say "wait" in ``X-RateLimit-Reset`` instead of ``Retry-After``.

The shared transport honours ``Retry-After`` only (the standard header). Pipedrive sends
the seconds until its window resets and Intercom the Unix time it resets at, each in
``X-RateLimit-Reset`` on a 429; this httpx response hook copies that wait into
``Retry-After`` so the same bounded retry policy applies to them. Hand-written because it
is six lines and no library maps vendor headers onto Retry-After.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import httpx

Kind = Literal["seconds", "epoch"]


def reset_as_retry_after(kind: Kind, header: str = "x-ratelimit-reset", *,
                         clock: Callable[[], float] = time.time
                         ) -> Callable[[httpx.Response], None]:
    """An httpx response hook: on a 429 without Retry-After, derive it from ``header``.

    ``kind`` says what the header holds: ``seconds`` until the reset, or the ``epoch``
    second of the reset. A garbled value is left alone (the transport then backs off).
    """

    def hook(response: httpx.Response) -> None:
        if response.status_code != 429 or "retry-after" in response.headers:
            return
        try:
            value = float(response.headers.get(header, ""))
        except ValueError:
            return
        wait = value - clock() if kind == "epoch" else value
        response.headers["Retry-After"] = str(max(0, int(wait + 0.999)))

    return hook


def install(client: httpx.Client, kind: Kind, header: str = "x-ratelimit-reset") -> None:
    """Add the hook to ``client``'s response hooks (keeping any already there)."""
    client.event_hooks = {**client.event_hooks, "response": [
        *client.event_hooks.get("response", []), reset_as_retry_after(kind, header)]}
