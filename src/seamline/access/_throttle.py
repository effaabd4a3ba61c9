"""Login rate limiting: failures counted per username and per client address.

In memory, per server process (several uvicorn workers each count on their own): the
limit is there to make guessing slow, and argon2 already makes each guess cost.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    """At most ``max_failures`` failed logins per ``window_s`` for a username or an address."""

    def __init__(self, max_failures: int = 5, window_s: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.max_failures, self.window_s, self.clock = max_failures, window_s, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int:
        """Seconds until a login for these keys may be tried again; 0 if it may be now."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                seen = self._recent(key, now)
                if len(seen) >= self.max_failures:
                    wait = max(wait, seen[0] + self.window_s - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > 100_000:  # a spray of usernames must not grow memory forever
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        seen = self._failures.setdefault(key, deque())
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        return seen
