"""Layer 3, inference: the gateway, every call policy composed around the route's providers.

For each model of the route (the primary, then its fallbacks):
``Breaking(TracedCall(Retrying(Throttling(TracedAttempt(provider)))))``; a ``Fallback`` over
those; ``Caching`` outside when the route opts in. The two ``Traced`` layers make the
OpenTelemetry GenAI span of each call and a child span per attempt (a call the breaker
refuses, or the cache answers, sends nothing, so it has none). Breakers and local rate
limits are per process and shared by every pipeline in it; rate limits are shared through
Redis when ``SEAMLINE_REDIS_URL`` is set, else through the store, so every process using it
shares one bucket.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from seamline.errors import ConfigError
from seamline.inference._breaker import BreakerBoard, Breaking
from seamline.inference._cache import Caching
from seamline.inference._fallback import Fallback
from seamline.inference._ratelimit import (
    LocalRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    StoreRateLimiter,
    Throttling,
)
from seamline.inference._retry import Retrying, RetryPolicy
from seamline.inference._route import models_dir_for, provider_for_route
from seamline.inference._traced import TracedAttempt, TracedCall
from seamline.inference._types import ModelReply, ModelRequest, Provider
from seamline.integration import Integration, ModelRoute
from seamline.store import Store
from seamline.telemetry import track_breakers

_shared_lock = threading.Lock()
_boards: dict[tuple, BreakerBoard] = {}
_limiters: dict[str, RateLimiter] = {}


def _board(route: ModelRoute) -> BreakerBoard:
    b = route.breaker
    key = (b.failure_threshold, b.error_rate, b.window, b.cooldown_s)
    with _shared_lock:
        if key not in _boards:
            _boards[key] = BreakerBoard(b.failure_threshold, b.error_rate, b.window, b.cooldown_s)
            track_breakers(_boards[key])
        return _boards[key]


def _limiter(shared_by: str, store: Store | None) -> RateLimiter:
    url = os.environ.get("SEAMLINE_REDIS_URL", "")
    if shared_by == "auto":
        shared_by = "redis" if url else ("store" if store is not None else "process")
    if shared_by == "redis" and not url:
        raise ConfigError("rate_limit.shared_by is redis but SEAMLINE_REDIS_URL is not set.")
    if shared_by == "store":
        if store is None:
            raise ConfigError("rate_limit.shared_by is store but the gateway was built without one.")
        return StoreRateLimiter(store)
    key = url if shared_by == "redis" else ""
    with _shared_lock:
        if key not in _limiters:
            _limiters[key] = RedisRateLimiter(url) if key else LocalRateLimiter()
        return _limiters[key]


class Gateway:
    """The provider the pipeline calls; ``trace()`` tells what the last call went through."""

    def __init__(self, provider: Provider, links: list[Retrying], fallback: Fallback | None) -> None:
        self.provider, self._links, self._fallback = provider, links, fallback
        self.name = provider.name

    def complete(self, request: ModelRequest) -> ModelReply:
        return self.provider.complete(request)

    def warm(self) -> None:
        for link in self._links:
            inner = link.provider
            while not hasattr(inner, "warm") and hasattr(inner, "provider"):
                inner = inner.provider
            warm = getattr(inner, "warm", None)
            if callable(warm):
                warm()

    def batch_provider(self) -> Provider:
        """The primary model's own provider: batches go to it directly, not through the
        per-call policies (the batch API has its own queueing and limits)."""
        inner: Any = self._links[0]
        while hasattr(inner, "provider"):
            inner = inner.provider
        return inner

    def trace(self) -> dict[str, Any]:
        """The attempts of the calling thread's last call, for the audit trail."""
        out: dict[str, Any] = {"attempts": [
            {"model": link.provider.name, "number": a.number, "waited_s": round(a.waited, 3),
             "outcome": a.outcome, "status": a.status}
            for link in self._links for a in link.last_attempts]}
        if self._fallback is not None:
            out["chain"] = [{"provider": c.provider, "model": c.model, "outcome": c.outcome}
                            for c in self._fallback.last_chain]
        return out


def _link(route: ModelRoute, integration: Integration, provider: Provider | None,
          store: Store | None, models_dir: Path) -> Retrying:
    inner: Provider = TracedAttempt(provider or provider_for_route(route, integration, models_dir))
    if route.rate_limit is not None:
        rl = route.rate_limit
        inner = Throttling(inner, _limiter(rl.shared_by, store), rl.rpm, rl.tpm, burst=rl.burst_s, timeout=rl.max_wait_s,
                           account=route.api_key_env or "")
    r = route.retry
    retrying = Retrying(inner, RetryPolicy(r.max_retries, r.base_delay_s, r.max_delay_s,
                                           route.timeout_s, r.deadline_s))
    return retrying


def build_gateway(integration: Integration, store: Store | None = None, *,
                  provider: Provider | None = None, models_dir: Path | None = None) -> Gateway:
    """The route's providers wrapped in every policy it declares.

    ``provider`` replaces the primary route's own (a scripted model in tests, say).
    ``models_dir``: where on-device models' fits are kept (default: beside the store).
    """
    route = integration.model
    routes = [route, *route.fallbacks]
    folder = models_dir or models_dir_for(store.url if store is not None else None)
    links = [_link(r, integration, provider if i == 0 else None, store, folder)
             for i, r in enumerate(routes)]
    chain = [(Breaking(TracedCall(link), _board(r)), r.model) for link, r in zip(links, routes)]
    fallback = Fallback(chain) if len(chain) > 1 else None
    top: Provider = fallback if fallback is not None else chain[0][0]
    if route.cache_ttl_s is not None and store is not None:
        # Only the on-device model reads the event's fields beyond the prompt.
        top = Caching(top, store, route.cache_ttl_s, reads_source=route.provider == "local"
                      and provider is None)
    return Gateway(top, links, fallback)
