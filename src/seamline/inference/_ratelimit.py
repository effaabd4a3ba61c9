"""Layer 3, inference: pacing calls under a provider's requests- and tokens-per-minute.

Calls wait here, before they are sent, so that at steady state the provider never
answers 429. In one process a lock is enough; across processes, the store or Redis.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select, update

from seamline.errors import RateLimited
from seamline.inference._types import ModelReply, ModelRequest, Provider
from seamline.store import Store, insert_ignore
from seamline.store.tables import rate_buckets

if TYPE_CHECKING:  # pragma: no cover
    import redis


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A rate: ``rpm`` requests and ``tpm`` tokens a minute (None: not limited).

    Paced as a GCRA token bucket: capacity flows back continuously, and up to ``burst``
    seconds' worth of it may be spent at once after a quiet spell. A single request larger
    than that burst is admitted when the bucket is full and paid off afterwards.
    """

    rpm: float | None = None
    tpm: float | None = None
    burst: float = 1.0

    def costs(self, requests: int, tokens: int) -> list[tuple[str, float, float]]:
        """(suffix, seconds per unit, units) for each limited resource."""
        out = []
        if self.rpm and requests:
            out.append(("req", 60.0 / self.rpm, float(requests)))
        if self.tpm and tokens:
            out.append(("tok", 60.0 / self.tpm, float(tokens)))
        return out


class RateLimiter(Protocol):
    """Blocks until ``requests`` and ``tokens`` fit ``limit`` for ``key``.

    Raises :class:`seamline.errors.RateLimited` (retryable, with ``retry_after``) when the
    wait would exceed ``timeout`` seconds (None: wait as long as it takes).
    """

    def acquire(self, key: str, limit: RateLimit, *, requests: int = 1, tokens: int = 0,
                timeout: float | None = None) -> None: ...


def _wait_or_give_up(key: str, wait: float, started: float, now: float,
                     timeout: float | None) -> None:
    if timeout is not None and now - started + wait > timeout:
        raise RateLimited(f"rate limit for {key} would need a {wait:.2f}s wait "
                          f"(timeout {timeout:g}s)", retry_after=wait)


def _acquire(limiter: Any, key: str, limit: RateLimit, requests: int, tokens: int,
             timeout: float | None) -> None:
    """The waiting loop every limiter shares: try, and sleep for as long as it says."""
    started = limiter._clock()
    while (wait := limiter._try(key, limit, requests, tokens)) > 0:
        _wait_or_give_up(key, wait, started, limiter._clock(), timeout)
        limiter._sleep(wait)


class LocalRateLimiter:
    """A :class:`RateLimiter` for one process; thread-safe."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._clock, self._sleep = clock, sleep
        self._tat: dict[str, float] = {}  # theoretical arrival time per key:resource
        self._lock = threading.Lock()

    def _try(self, key: str, limit: RateLimit, requests: int, tokens: int) -> float:
        """0.0 and the capacity taken, or the seconds to wait (nothing taken)."""
        with self._lock:
            now = self._clock()
            wait, new = 0.0, {}
            for suffix, interval, units in limit.costs(requests, tokens):
                slot = f"{key}:{suffix}"
                tat = max(self._tat.get(slot, now), now)
                wait = max(wait, tat - limit.burst - now)
                new[slot] = tat + units * interval
            if wait <= 0:
                self._tat.update(new)
                return 0.0
            return wait

    def acquire(self, key: str, limit: RateLimit, *, requests: int = 1, tokens: int = 0,
                timeout: float | None = None) -> None:
        _acquire(self, key, limit, requests, tokens, timeout)


# Both resources are checked and taken in one step, against the server's clock, so every
# process sharing the Redis shares one bucket. Times are integer microseconds.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local burst = tonumber(ARGV[1])
local wait = 0
local new = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[i * 2])
  local units = tonumber(ARGV[i * 2 + 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local w = tat - burst - now
  if w > wait then wait = w end
  new[i] = tat + units * interval
end
if wait > 0 then return math.ceil(wait) end
for i = 1, #KEYS do
  local ttl = math.ceil((new[i] - now) / 1000) + 1000
  redis.call('SET', KEYS[i], string.format('%.0f', new[i]), 'PX', ttl)
end
return 0
"""


class RedisRateLimiter:
    """A :class:`RateLimiter` shared by every process that uses the same Redis and prefix."""

    def __init__(self, redis_url: str = "redis://127.0.0.1:6379/0", *,
                 client: redis.Redis | None = None, prefix: str = "seamline:ratelimit:",
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if client is None:
            import redis

            client = redis.Redis.from_url(redis_url)
        self.client, self.prefix = client, prefix
        self._clock, self._sleep = clock, sleep
        self._script: Any = client.register_script(_GCRA)

    def _try(self, key: str, limit: RateLimit, requests: int, tokens: int) -> float:
        costs = limit.costs(requests, tokens)
        if not costs:
            return 0.0
        # The braces are a Redis Cluster hash tag: both buckets of a key live on one node.
        keys = [f"{self.prefix}{{{key}}}:{suffix}" for suffix, _, _ in costs]
        args: list[float | int] = [round(limit.burst * 1e6)]
        for _, interval, units in costs:
            args += [interval * 1e6, units]
        return int(self._script(keys=keys, args=args)) / 1e6

    def acquire(self, key: str, limit: RateLimit, *, requests: int = 1, tokens: int = 0,
                timeout: float | None = None) -> None:
        _acquire(self, key, limit, requests, tokens, timeout)


class StoreRateLimiter:
    """A :class:`RateLimiter` shared through the store: every process (and, on PostgreSQL,
    every machine) using the same database shares one bucket per key. Slower than Redis
    (a write transaction per call), so meant for the embedded default and modest rates."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store, self._clock, self._sleep = store, clock, sleep

    def _try(self, key: str, limit: RateLimit, requests: int, tokens: int) -> float:
        costs = limit.costs(requests, tokens)
        if not costs:
            return 0.0
        slots = [f"{key}:{suffix}" for suffix, _, _ in costs]
        with self.store.write() as conn:  # the write lock (or row locks) make this atomic
            now = self._clock()
            found = dict(conn.execute(
                select(rate_buckets.c.slot, rate_buckets.c.tat)
                .where(rate_buckets.c.slot.in_(slots)).with_for_update()).all())
            wait, new = 0.0, {}
            for slot, (_, interval, units) in zip(slots, costs):
                tat = max(found.get(slot, now), now)
                wait = max(wait, tat - limit.burst - now)
                new[slot] = tat + units * interval
            if wait > 0:
                return wait
            for slot, tat in new.items():
                if slot in found:
                    conn.execute(update(rate_buckets).where(rate_buckets.c.slot == slot)
                                 .values(tat=tat))
                elif not insert_ignore(conn, rate_buckets, {"slot": slot, "tat": tat}):
                    return 0.001  # another process made the row meanwhile: look again
        return 0.0

    def acquire(self, key: str, limit: RateLimit, *, requests: int = 1, tokens: int = 0,
                timeout: float | None = None) -> None:
        _acquire(self, key, limit, requests, tokens, timeout)


def estimate_tokens(request: ModelRequest) -> int:
    """Prompt tokens (about four characters each) plus the output cap: providers such as
    OpenAI count ``max_tokens`` against the limit when the request arrives."""
    return sum(len(m.content) for m in request.messages) // 4 + 1 + request.max_tokens


class Throttling:
    """A provider that waits for ``limiter`` capacity before each call.

    (Not named ``RateLimited``: that is the 429 error in :mod:`seamline.errors`.)
    The bucket key is ``provider:model:account``, so one limiter serves many routes;
    ``account`` tells apart API keys or organisations with their own limits.
    """

    def __init__(self, provider: Provider, limiter: RateLimiter, rpm: float | None = None,
                 tpm: float | None = None, *, burst: float = 1.0, account: str = "",
                 estimate_tokens: Callable[[ModelRequest], int] = estimate_tokens,
                 timeout: float | None = None) -> None:
        self.provider, self.limiter = provider, limiter
        self.limit = RateLimit(rpm, tpm, burst)
        self.account, self.timeout = account, timeout
        self.estimate_tokens = estimate_tokens
        self.name = provider.name

    def complete(self, request: ModelRequest) -> ModelReply:
        key = f"{self.provider.name}:{request.model}:{self.account}"
        tokens = self.estimate_tokens(request) if self.limit.tpm else 0
        self.limiter.acquire(key, self.limit, requests=1, tokens=tokens, timeout=self.timeout)
        return self.provider.complete(request)
