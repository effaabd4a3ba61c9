"""Circuit breaker: a failing model stops being called, then is probed after a cooldown."""

from __future__ import annotations

import pytest

from seamline.errors import CircuitOpen, ProviderUnavailable, RateLimited, RequestRejected
from seamline.inference import Message, ModelRequest, ScriptedModel
from seamline.inference._breaker import BreakerBoard, BreakerState, Breaking, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def request(model: str = "m1") -> ModelRequest:
    return ModelRequest(messages=(Message("user", "hi"),), model=model)


class Switchable:
    """A model whose next outcome the test sets: an error to raise, or None to answer."""

    def __init__(self) -> None:
        self.error: Exception | None = None
        self.model = ScriptedModel(self._answer)

    def _answer(self, _request):
        if self.error is not None:
            raise self.error
        return "ok"


def breaking(**settings):
    clock, backend = Clock(), Switchable()
    board = BreakerBoard(clock=clock, **settings)
    return Breaking(backend.model, board), board, backend, clock


def test_the_breaker_opens_after_five_consecutive_503s_calls_nothing_then_half_opens():
    wrapped, board, backend, clock = breaking(failure_threshold=5, cooldown=30)
    backend.error = ProviderUnavailable("503", status=503)
    for _ in range(5):
        with pytest.raises(ProviderUnavailable) as info:
            wrapped.complete(request())
        assert not isinstance(info.value, CircuitOpen)
    assert board.states() == {"scripted:m1": BreakerState.OPEN}

    for _ in range(10):
        with pytest.raises(CircuitOpen) as info:
            wrapped.complete(request())
    assert len(backend.model.requests) == 5  # nothing was sent while open
    assert info.value.retry_after == 30 and info.value.model == "m1"

    clock.now = 29.9
    with pytest.raises(CircuitOpen):
        wrapped.complete(request())
    clock.now = 30.0
    assert board.states()["scripted:m1"] is BreakerState.HALF_OPEN
    backend.error = None
    assert wrapped.complete(request()).text == "ok"  # the probe
    assert board.states()["scripted:m1"] is BreakerState.CLOSED
    assert len(backend.model.requests) == 6


def test_a_failed_probe_opens_the_circuit_again_for_another_cooldown():
    wrapped, board, backend, clock = breaking(failure_threshold=2, cooldown=10)
    backend.error = ProviderUnavailable("503")
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            wrapped.complete(request())
    clock.now = 10.0
    with pytest.raises(ProviderUnavailable) as info:
        wrapped.complete(request())  # the probe fails
    assert not isinstance(info.value, CircuitOpen)
    assert board.states()["scripted:m1"] is BreakerState.OPEN
    clock.now = 19.0
    with pytest.raises(CircuitOpen):
        wrapped.complete(request())
    assert len(backend.model.requests) == 3


def test_half_open_lets_only_the_configured_number_of_probes_through():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown=5, half_open_probes=2, clock=clock)
    breaker.record_failure()
    clock.now = 5.0
    breaker.before_call()
    breaker.before_call()
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # two probes already in flight


def test_an_error_rate_over_the_window_opens_the_breaker_without_a_long_streak():
    wrapped, board, backend, _ = breaking(failure_threshold=5, error_rate=0.5, window=20)
    for i in range(20):
        backend.error = RateLimited("429") if i % 2 else None
        try:
            wrapped.complete(request())
        except RateLimited:
            pass
        if i < 19:
            assert board.states()["scripted:m1"] is BreakerState.CLOSED
    assert board.states()["scripted:m1"] is BreakerState.OPEN  # 10 of 20 failed


def test_rejected_requests_do_not_count_against_the_model():
    wrapped, board, backend, _ = breaking(failure_threshold=3)
    backend.error = RequestRejected("400", status=400)
    for _ in range(10):
        with pytest.raises(RequestRejected):
            wrapped.complete(request())
    assert board.states()["scripted:m1"] is BreakerState.CLOSED
    assert len(backend.model.requests) == 10


def test_each_model_has_its_own_breaker():
    wrapped, board, backend, _ = breaking(failure_threshold=1)
    backend.error = ProviderUnavailable("503")
    with pytest.raises(ProviderUnavailable):
        wrapped.complete(request("m1"))
    backend.error = None
    assert wrapped.complete(request("m2")).text == "ok"
    assert board.states() == {"scripted:m1": BreakerState.OPEN,
                              "scripted:m2": BreakerState.CLOSED}


def test_a_success_resets_the_consecutive_count():
    wrapped, board, backend, _ = breaking(failure_threshold=3, window=100)
    for _ in range(3):
        for error in (ProviderUnavailable("503"), ProviderUnavailable("503"), None):
            backend.error = error
            try:
                wrapped.complete(request())
            except ProviderUnavailable:
                pass
    assert board.states()["scripted:m1"] is BreakerState.CLOSED
