"""Layer 3, inference: a circuit breaker per provider and model.

When a model keeps failing, calls stop being sent (``CircuitOpen`` at once) until a
cooldown has passed; then a few probes decide whether it is back.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import deque
from collections.abc import Callable

from seamline.errors import CircuitOpen, ProviderError
from seamline.inference._types import ModelReply, ModelRequest, Provider


class BreakerState(str, enum.Enum):
    CLOSED = "closed"  # calls go through
    OPEN = "open"  # calls are refused until the cooldown ends
    HALF_OPEN = "half_open"  # a few probe calls go through


def counts_as_failure(error: BaseException) -> bool:
    """A retryable provider error says the model is unwell; a rejected request does not.

    A ``CircuitOpen`` from an inner breaker was never sent, so it says nothing either.
    """
    return isinstance(error, ProviderError) and error.retryable \
        and not isinstance(error, CircuitOpen)


class CircuitBreaker:
    """The state of one provider+model: opens on ``failure_threshold`` consecutive failures,
    or when, over the last ``window`` calls (a full window), the share of failures reaches
    ``error_rate``. After ``cooldown`` seconds it lets ``half_open_probes`` calls through:
    a success closes it, a failure opens it again. Thread-safe.
    """

    def __init__(self, failure_threshold: int = 5, error_rate: float = 0.5, window: int = 20,
                 cooldown: float = 30.0, half_open_probes: int = 1, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold, self.error_rate, self.window = failure_threshold, error_rate, window
        self.cooldown, self.half_open_probes = cooldown, half_open_probes
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._outcomes: deque[bool] = deque(maxlen=window)  # True for a failure
        self._consecutive = 0
        self._opened_at = 0.0
        self._probes = 0  # probes in flight while half-open
        self.opened_count = 0  # times it opened, for metrics

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._current()

    def _current(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cooldown:
            self._state, self._probes = BreakerState.HALF_OPEN, 0
        return self._state

    def before_call(self, provider: str = "", model: str = "") -> None:
        """Raise :class:`CircuitOpen` unless a call may go out now (a probe counts as taken)."""
        with self._lock:
            state = self._current()
            if state is BreakerState.CLOSED:
                return
            if state is BreakerState.HALF_OPEN and self._probes < self.half_open_probes:
                self._probes += 1
                return
            left = max(0.0, self.cooldown - (self._clock() - self._opened_at))
        raise CircuitOpen(f"circuit open for {provider}:{model}; not sent",
                          retry_after=left if state is BreakerState.OPEN else None,
                          provider=provider, model=model)

    def record_success(self) -> None:
        with self._lock:
            state = self._current()
            if state is BreakerState.HALF_OPEN:
                self._close()
                return
            if state is BreakerState.OPEN:  # a call that started before it opened
                return
            self._consecutive = 0
            self._outcomes.append(False)

    def record_failure(self) -> None:
        with self._lock:
            state = self._current()
            if state is BreakerState.HALF_OPEN:
                self._open()
                return
            if state is BreakerState.OPEN:  # a call that started before it opened
                return
            self._consecutive += 1
            self._outcomes.append(True)
            full = len(self._outcomes) == self.window
            if self._consecutive >= self.failure_threshold or \
                    (full and sum(self._outcomes) / self.window >= self.error_rate):
                self._open()

    def release_probe(self) -> None:
        """A call ended in a way that says nothing about health: free its probe slot."""
        with self._lock:
            if self._current() is BreakerState.HALF_OPEN and self._probes > 0:
                self._probes -= 1

    def _open(self) -> None:
        self._state, self._opened_at = BreakerState.OPEN, self._clock()
        self._probes = 0
        self.opened_count += 1

    def _close(self) -> None:
        self._state, self._consecutive, self._probes = BreakerState.CLOSED, 0, 0
        self._outcomes.clear()


class BreakerBoard:
    """One :class:`CircuitBreaker` per key ("provider:model"), made on first use with the same
    settings. ``states()`` is the snapshot metrics read."""

    def __init__(self, failure_threshold: int = 5, error_rate: float = 0.5, window: int = 20,
                 cooldown: float = 30.0, half_open_probes: int = 1, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._make = lambda: CircuitBreaker(failure_threshold, error_rate, window, cooldown,
                                            half_open_probes, clock=clock)
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> CircuitBreaker:
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is None:
                breaker = self._breakers[key] = self._make()
            return breaker

    def states(self) -> dict[str, BreakerState]:
        with self._lock:
            breakers = dict(self._breakers)
        return {key: b.state for key, b in breakers.items()}


class Breaking:
    """A provider that refuses calls to a model whose breaker is open.

    Retryable failures count against the breaker; a rejected request counts as the model
    answering (it is up, the request was wrong).
    """

    def __init__(self, provider: Provider, breakers: BreakerBoard) -> None:
        self.provider, self.breakers = provider, breakers
        self.name = provider.name

    def key(self, request: ModelRequest) -> str:
        return f"{self.provider.name}:{request.model}"

    def complete(self, request: ModelRequest) -> ModelReply:
        key = self.key(request)
        breaker = self.breakers.get(key)
        breaker.before_call(self.provider.name, request.model)
        try:
            reply = self.provider.complete(request)
        except ProviderError as error:
            if counts_as_failure(error):
                breaker.record_failure()
            elif isinstance(error, CircuitOpen):
                breaker.release_probe()
            else:
                breaker.record_success()
            raise
        except BaseException:
            breaker.release_probe()
            raise
        breaker.record_success()
        return reply
