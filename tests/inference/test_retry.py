"""Retries: only what can help is retried, with capped full jitter, Retry-After and a deadline."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.errors import (
    CircuitOpen,
    ContextTooLong,
    InferenceError,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
)
from seamline.inference import Message, ModelReply, ModelRequest, ScriptedModel
from seamline.inference._retry import Retrying, RetryPolicy

REQUEST = ModelRequest(messages=(Message("user", "hi"),), model="m1")


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def failing(*errors: Exception, then: str = "ok"):
    """A scripted model raising ``errors`` in turn, then answering ``then``."""
    queue = list(errors)

    def fn(_request):
        if queue:
            raise queue.pop(0)
        return then

    return ScriptedModel(fn)


def retrying(model, policy=None, seed=0):
    t = FakeTime()
    return Retrying(model, policy, sleep=t.sleep, clock=t.clock, rng=random.Random(seed)), t


def test_a_429_storm_ends_in_exactly_three_retries_each_waiting_at_least_retry_after():
    model = ScriptedModel(lambda r: (_ for _ in ()).throw(
        RateLimited("429", status=429, retry_after=2.0)))
    wrapped, t = retrying(model, RetryPolicy(max_retries=3, base_delay=0.1, deadline=None))
    with pytest.raises(RateLimited) as info:
        wrapped.complete(REQUEST)
    assert len(model.requests) == 4  # the first call and 3 retries
    assert len(t.sleeps) == 3 and all(s >= 2.0 for s in t.sleeps)
    assert "4 attempts" in "".join(info.value.__notes__)
    assert [a.outcome for a in wrapped.last_attempts] == ["RateLimited"] * 4


def test_a_transient_failure_is_retried_and_the_attempts_are_recorded():
    wrapped, t = retrying(failing(ProviderUnavailable("503", status=503),
                                  ProviderUnavailable("503", status=503)))
    reply = wrapped.complete(REQUEST)
    assert reply.text == "ok"
    assert [(a.number, a.outcome, a.status) for a in wrapped.last_attempts] == [
        (0, "ProviderUnavailable", 503), (1, "ProviderUnavailable", 503), (2, "ok", None)]
    assert [a.waited for a in wrapped.last_attempts][1:] == t.sleeps


@pytest.mark.parametrize("error", [RequestRejected("400", status=400),
                                   ContextTooLong("too long", status=400),
                                   InferenceError("not a provider error"),
                                   ValueError("a bug")])
def test_a_non_retryable_error_is_raised_at_once(error):
    model = failing(error)
    wrapped, t = retrying(model)
    with pytest.raises(type(error)):
        wrapped.complete(REQUEST)
    assert len(model.requests) == 1 and t.sleeps == []


@given(retry=st.integers(0, 40), seed=st.integers(0, 2**32))
def test_full_jitter_never_waits_longer_than_the_cap(retry, seed):
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0)
    delay = policy.backoff(retry, random.Random(seed))
    assert 0.0 <= delay <= min(30.0, 0.5 * 2 ** retry)


def test_full_jitter_spreads_waits_over_the_whole_range():
    policy, rng = RetryPolicy(base_delay=1.0, max_delay=8.0), random.Random(7)
    delays = [policy.backoff(5, rng) for _ in range(2000)]  # cap 8: uniform in [0, 8]
    assert max(delays) <= 8.0 and min(delays) < 0.5 and max(delays) > 7.5


def test_retry_after_wins_only_when_longer_than_the_jittered_wait():
    policy, rng = RetryPolicy(base_delay=10.0, max_delay=10.0), random.Random(1)
    short = RateLimited("429", retry_after=0.001)
    waits = [policy.wait_before(0, short, rng) for _ in range(200)]
    assert any(w > 1.0 for w in waits)  # the jitter, not 1 ms
    assert policy.wait_before(0, RateLimited("429", retry_after=45.0), rng) == 45.0


def test_the_deadline_stops_retries_early():
    model = ScriptedModel(lambda r: (_ for _ in ()).throw(
        RateLimited("429", status=429, retry_after=25.0)))
    wrapped, t = retrying(model, RetryPolicy(max_retries=10, deadline=60.0))
    with pytest.raises(RateLimited) as info:
        wrapped.complete(REQUEST)
    # 0s: call, wait 25; 25s: call, wait 25; 50s: call, a third wait would end at 75s.
    assert len(model.requests) == 3 and t.now == 50.0
    assert "deadline" in "".join(info.value.__notes__)


def test_last_attempts_are_kept_per_call():
    wrapped, _ = retrying(failing(ProviderUnavailable("503")))
    wrapped.complete(REQUEST)
    assert len(wrapped.last_attempts) == 2
    wrapped.complete(REQUEST)
    assert len(wrapped.last_attempts) == 1


def test_a_retrying_provider_is_a_provider_with_the_same_name():
    wrapped, _ = retrying(ScriptedModel(lambda r: ModelReply("x", model="m1")))
    assert wrapped.name == "scripted" and wrapped.complete(REQUEST).model == "m1"


def test_an_open_circuit_is_not_retried_so_a_fallback_can_move_on():
    model = failing(CircuitOpen("open", retry_after=20.0))
    wrapped, t = retrying(model)
    with pytest.raises(CircuitOpen):
        wrapped.complete(REQUEST)
    assert len(model.requests) == 1 and t.sleeps == []
