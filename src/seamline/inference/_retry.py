"""Layer 3, inference: retrying a provider with capped, fully jittered backoff.

A :class:`Provider` wrapping a provider. Only errors that say retrying can help are
retried; the provider's own Retry-After is honoured; a total deadline bounds the wait.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from seamline.backoff import Backoff
from seamline.errors import CircuitOpen, ProviderError
from seamline.inference._types import ModelReply, ModelRequest, Provider
from seamline.telemetry import RETRIES


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry one call.

    ``max_retries`` counts retries after the first attempt (3 means up to 4 calls).
    ``deadline`` bounds the whole call, waits included, in seconds (None: unbounded).
    ``attempt_timeout`` is not enforced here: an SDK provider reads it from the policy
    when it builds its client (the SDK's own timeout is the only one that can stop a
    request mid-flight).
    """

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    attempt_timeout: float | None = None
    deadline: float | None = 60.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**retry)]."""
        return Backoff(self.base_delay, self.max_delay).delay(retry, rng)

    def wait_before(self, retry: int, error: ProviderError, rng: random.Random) -> float:
        """The jittered backoff, or the provider's Retry-After when that is longer."""
        return Backoff(self.base_delay, self.max_delay).delay(retry, rng,
                                                              retry_after=error.retry_after)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One call the policy made: what it waited before it and how it ended."""

    number: int  # 0 for the first call
    waited: float  # seconds slept before this call
    outcome: str  # "ok" or the error class name
    status: int | None = None


def is_retryable(error: BaseException) -> bool:
    """Only a provider error that says so is worth trying again."""
    return isinstance(error, ProviderError) and error.retryable


class Retrying:
    """A provider that retries ``provider`` on retryable errors under ``policy``.

    Non-retryable errors are raised at once, and so is :class:`CircuitOpen`: the breaker
    decided not to call, so a :class:`Fallback` outside can move on at once (its
    ``retry_after`` says when the model will be probed). When retries run out, or the next wait
    would cross the deadline, the last error is raised with a note of the attempts.
    ``last_attempts`` holds the calling thread's most recent attempts, for the audit.
    """

    def __init__(self, provider: Provider, policy: RetryPolicy | None = None, *,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        self.provider = provider
        self.policy = policy or RetryPolicy()
        self.name = provider.name
        self._sleep, self._clock = sleep, clock
        self._rng = rng or random.Random()
        self._local = threading.local()

    @property
    def last_attempts(self) -> tuple[Attempt, ...]:
        return getattr(self._local, "attempts", ())

    def complete(self, request: ModelRequest) -> ModelReply:
        policy = self.policy
        started = self._clock()
        attempts: list[Attempt] = []
        self._local.attempts = ()
        waited = 0.0
        for number in range(policy.max_retries + 1):
            try:
                reply = self.provider.complete(request)
            except Exception as error:
                attempts.append(Attempt(number, waited, type(error).__name__,
                                        getattr(error, "status", None)))
                self._local.attempts = tuple(attempts)
                if not is_retryable(error) or isinstance(error, CircuitOpen):
                    raise
                assert isinstance(error, ProviderError)
                if number == policy.max_retries:
                    error.add_note(f"gave up after {len(attempts)} attempts "
                                   f"({policy.max_retries} retries)")
                    raise
                waited = policy.wait_before(number, error, self._rng)
                elapsed = self._clock() - started
                if policy.deadline is not None and elapsed + waited > policy.deadline:
                    error.add_note(f"gave up after {len(attempts)} attempts: waiting "
                                   f"{waited:.2f}s more would cross the {policy.deadline:g}s "
                                   f"deadline ({elapsed:.2f}s spent)")
                    raise
                RETRIES.labels(getattr(self.provider, "name", "?"), type(error).__name__).inc()
                self._sleep(waited)
                continue
            attempts.append(Attempt(number, waited, "ok"))
            self._local.attempts = tuple(attempts)
            return reply
        raise AssertionError("unreachable")  # pragma: no cover
