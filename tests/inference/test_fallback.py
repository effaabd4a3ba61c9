"""Fallback: the next model answers when one is down; a rejected request does not move on."""

from __future__ import annotations

import pytest

from seamline.errors import (
    CircuitOpen,
    ContentRefused,
    ContextTooLong,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
)
from seamline.inference import Message, ModelReply, ModelRequest, ScriptedModel
from seamline.inference._breaker import BreakerBoard, Breaking
from seamline.inference._fallback import ChainAttempt, Fallback
from seamline.inference._retry import Retrying, RetryPolicy

REQUEST = ModelRequest(messages=(Message("user", "hi"),), model="primary-1")


def down(error: Exception, model: str = "a") -> ScriptedModel:
    def fn(_request):
        raise error
    return ScriptedModel(fn, model=model)


def answering(text: str, model: str) -> ScriptedModel:
    return ScriptedModel(lambda r: ModelReply(text, model=r.model), model=model)


def test_fallback_answers_from_the_second_model_when_the_first_is_down_and_records_it():
    first = down(ProviderUnavailable("503", status=503))
    second = answering("from b", "backup-2")
    chain = Fallback([first, (second, "backup-2")])
    reply = chain.complete(REQUEST)
    assert (reply.text, reply.model) == ("from b", "backup-2")
    assert second.requests[-1].model == "backup-2"  # the request was re-addressed
    assert chain.last_chain == (ChainAttempt("scripted", "primary-1", "ProviderUnavailable"),
                                ChainAttempt("scripted", "backup-2", "ok"))


@pytest.mark.parametrize("error", [RateLimited("429", status=429), CircuitOpen("open")])
def test_rate_limits_and_open_circuits_fall_through(error):
    chain = Fallback([down(error), (answering("b", "m"), "backup")])
    assert chain.complete(REQUEST).model == "backup"


@pytest.mark.parametrize("error", [RequestRejected("400", status=400), ContentRefused("no"),
                                   ContextTooLong("too long")])
def test_a_rejected_request_does_not_fall_back(error):
    second = answering("b", "backup")
    chain = Fallback([down(error), (second, "backup")])
    with pytest.raises(type(error)):
        chain.complete(REQUEST)
    assert len(second.requests) == 0


def test_context_too_long_falls_through_to_a_bigger_window_when_allowed():
    big = answering("fits", "big-window")
    chain = Fallback([down(ContextTooLong("too long")), (big, "big-window")],
                     on_context_too_long=True)
    assert chain.complete(REQUEST).model == "big-window"


def test_when_every_model_is_down_the_last_error_is_raised_with_the_chain():
    chain = Fallback([down(ProviderUnavailable("a down")), (down(RateLimited("b 429")), "b")])
    with pytest.raises(RateLimited) as info:
        chain.complete(REQUEST)
    assert "primary-1 -> ProviderUnavailable" in "".join(info.value.__notes__)
    assert [a.outcome for a in chain.last_chain] == ["ProviderUnavailable", "RateLimited"]


def test_the_reply_names_the_model_even_when_the_provider_left_it_blank():
    blank = ScriptedModel(lambda r: ModelReply("x", model=""))
    assert Fallback([(blank, "named")]).complete(REQUEST).model == "named"


def test_an_open_breaker_sends_calls_straight_to_the_backup():
    board = BreakerBoard(failure_threshold=1)
    primary = down(ProviderUnavailable("503"))
    backup = answering("b", "backup")
    chain = Fallback([Breaking(primary, board), (backup, "backup")])
    for _ in range(5):
        assert chain.complete(REQUEST).model == "backup"
    assert len(primary.requests) == 1  # then the breaker kept calls off it
    assert chain.last_chain[0].outcome == "CircuitOpen"


def test_the_policies_compose_retries_inside_each_link_then_the_backup():
    board = BreakerBoard(failure_threshold=10)
    primary = down(ProviderUnavailable("503", status=503))
    waits: list[float] = []
    retried = Retrying(Breaking(primary, board), RetryPolicy(max_retries=2), sleep=waits.append,
                       clock=lambda: 0.0)
    chain = Fallback([retried, (answering("b", "backup"), "backup")])
    assert chain.complete(REQUEST).model == "backup"
    assert len(primary.requests) == 3 and len(waits) == 2
    assert [a.outcome for a in retried.last_attempts] == ["ProviderUnavailable"] * 3
