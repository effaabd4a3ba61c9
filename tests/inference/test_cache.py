"""Response cache: the same call within the TTL is answered from the store, at no cost."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from seamline.errors import ConfigError, ProviderUnavailable
from seamline.inference import Message, ModelReply, ModelRequest, ScriptedModel, Usage
from seamline.inference._cache import CachedReply, Caching, cache_key, response_cache
from seamline.store import Store


@pytest.fixture
def store(store):
    # PENDING migration 0002 (see seamline/inference/_cache.py): until it is in the
    # store's migrations, these tests create the table themselves; then this is a no-op.
    response_cache.create(store.engine, checkfirst=True)
    return store


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def request(text: str = "classify this", **changes) -> ModelRequest:
    fields = {"messages": (Message("system", "You triage."), Message("user", text)),
              "model": "m1", "params": {"temperature": 0}}
    fields.update(changes)
    return ModelRequest(**fields)


def caching(store, ttl: float = 60.0):
    """A cache over a model that numbers its answers, so a fresh one is told from a stored one."""
    calls = []

    def answer(r):
        calls.append(r)
        return ModelReply(f"answer {len(calls)}", usage=Usage(100, 20), model=r.model,
                          stop_reason="end_turn")

    model, clock = ScriptedModel(answer), Clock()
    return Caching(model, store, ttl, clock=clock), model, clock


def test_a_cache_hit_does_not_call_the_provider_and_costs_nothing(store):
    cached, model, _ = caching(store)
    first = cached.complete(request())
    again = cached.complete(request())
    assert len(model.requests) == 1
    assert isinstance(again, CachedReply) and again.cached
    assert (again.text, again.model, again.stop_reason) == (first.text, "m1", "end_turn")
    assert again.usage == Usage() and again.original_usage == Usage(100, 20)
    assert not getattr(first, "cached", False)


def test_an_expired_entry_calls_the_provider_and_is_overwritten(store):
    cached, model, clock = caching(store, ttl=60.0)
    cached.complete(request())
    clock.now += 60.0
    fresh = cached.complete(request())
    assert len(model.requests) == 2 and not isinstance(fresh, CachedReply)
    clock.now += 30.0
    hit = cached.complete(request())
    assert len(model.requests) == 2 and hit.text == fresh.text  # the new entry answers
    with store.read() as conn:
        rows = conn.execute(select(response_cache.c.expires_at)).all()
    assert rows == [(clock.now - 30.0 + 60.0,)]


def test_anything_that_shapes_the_reply_changes_the_key(store):
    cached, model, _ = caching(store)
    variants = [request(), request("another ticket"), request(model="m2"),
                request(params={"temperature": 0.7}),
                request(output_schema={"type": "object"}), request(max_tokens=64)]
    for r in variants:
        cached.complete(r)
    assert len(model.requests) == len(variants)
    assert len({cache_key("scripted", r) for r in variants}) == len(variants)
    assert cache_key("scripted", request()) != cache_key("other", request())


def test_the_cache_survives_a_new_wrapper_on_the_same_store(store):
    first, _, _ = caching(store)
    first.complete(request())
    second, model, _ = caching(store)  # a fresh model and wrapper, e.g. after a restart
    assert isinstance(second.complete(request()), CachedReply)
    assert len(model.requests) == 0


def test_failures_are_not_cached(store):
    calls = []

    def flaky(r):
        calls.append(r)
        if len(calls) == 1:
            raise ProviderUnavailable("503")
        return "ok"

    cached = Caching(ScriptedModel(flaky), store, 60.0)
    try:
        cached.complete(request())
    except ProviderUnavailable:
        pass
    assert cached.complete(request()).text == "ok" and len(calls) == 2


def test_only_chosen_stop_reasons_are_stored(store):
    truncated = ScriptedModel(lambda r: ModelReply("cut", model="m1", stop_reason="max_tokens"))
    cached = Caching(truncated, store, 60.0, store_stop_reasons=frozenset({"end", "end_turn"}))
    cached.complete(request())
    cached.complete(request())
    assert len(truncated.requests) == 2


def test_a_store_without_the_cache_table_is_refused_up_front():
    bare = Store("sqlite:///:memory:", migrate=False)
    try:
        with pytest.raises(ConfigError, match="response_cache"):
            Caching(ScriptedModel(lambda r: "x"), bare, 60.0)
    finally:
        bare.close()
