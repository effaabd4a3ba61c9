"""Rate limits: calls wait before they are sent, so bursts are smoothed to the provider's rate."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from seamline.errors import RateLimited
from seamline.inference import Message, ModelRequest, ScriptedModel
from seamline.inference._ratelimit import (
    LocalRateLimiter,
    RateLimit,
    RedisRateLimiter,
    Throttling,
    estimate_tokens,
)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def request(chars: int = 40, model: str = "m1") -> ModelRequest:
    return ModelRequest(messages=(Message("user", "x" * chars),), model=model)


def local():
    t = FakeTime()
    return LocalRateLimiter(clock=t.clock, sleep=t.sleep), t


def test_the_token_bucket_admits_r_requests_per_minute_at_steady_state():
    limiter, t = local()
    limit = RateLimit(rpm=120, burst=1.0)
    admitted_at = []
    while t.now < 600:  # ten minutes of callers that never pause
        limiter.acquire("k", limit)
        admitted_at.append(t.now)
    per_minute = [sum(1 for a in admitted_at if m * 60 <= a < (m + 1) * 60) for m in range(10)]
    assert per_minute[1:] == [120] * 9
    assert per_minute[0] <= 120 + 3  # only the burst allowance on top


def test_a_burst_is_smoothed_to_the_rate():
    limiter, t = local()
    limit = RateLimit(rpm=60, burst=2.0)  # one a second, three at once after a quiet spell
    times = []
    for _ in range(10):
        limiter.acquire("k", limit)
        times.append(t.now)
    assert times[:3] == [0.0, 0.0, 0.0]
    assert times[3:] == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])


def test_tokens_per_minute_paces_large_calls():
    limiter, t = local()
    limit = RateLimit(rpm=1000, tpm=6000, burst=0.0)  # 100 tokens a second
    for _ in range(5):
        limiter.acquire("k", limit, tokens=500)
    assert t.now == pytest.approx(20.0)  # 2,500 tokens at 100/s, the first one free


def test_keys_have_separate_budgets():
    limiter, t = local()
    limit = RateLimit(rpm=60, burst=0.0)
    limiter.acquire("openai:a", limit)
    limiter.acquire("openai:b", limit)
    assert t.now == 0.0
    limiter.acquire("openai:a", limit)
    assert t.now == pytest.approx(1.0)


def test_a_wait_longer_than_the_timeout_raises_rate_limited_and_takes_nothing():
    limiter, t = local()
    limit = RateLimit(rpm=6, burst=0.0)  # one every 10 s
    limiter.acquire("k", limit)
    with pytest.raises(RateLimited) as info:
        limiter.acquire("k", limit, timeout=5.0)
    assert info.value.retry_after == pytest.approx(10.0) and t.now == 0.0
    limiter.acquire("k", limit, timeout=10.0)  # the refused call took no capacity
    assert t.now == pytest.approx(10.0)


def test_the_local_limiter_is_thread_safe():
    limiter = LocalRateLimiter()  # real clock; nothing should need to wait
    limit = RateLimit(rpm=60, burst=60.0)  # a burst of 61 requests, then one a second
    admitted = []

    def worker():
        for _ in range(20):
            try:
                limiter.acquire("k", limit, timeout=0.0)
                admitted.append(1)
            except RateLimited:
                pass

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert 61 <= len(admitted) <= 62  # 160 tries, the burst admitted exactly once


def test_throttling_waits_before_the_call_and_keys_by_provider_model_and_account():
    t = FakeTime()
    limiter = LocalRateLimiter(clock=t.clock, sleep=t.sleep)
    sent_at = []
    model = ScriptedModel(lambda r: sent_at.append(t.now) or "ok")
    wrapped = Throttling(model, limiter, rpm=30, burst=0.0, account="key-1")
    for _ in range(3):
        wrapped.complete(request())
    assert sent_at == pytest.approx([0.0, 2.0, 4.0])
    assert wrapped.name == "scripted"
    wrapped.complete(request(model="m2"))  # another model, another bucket
    assert sent_at[-1] == pytest.approx(4.0)


def test_the_token_estimate_counts_the_prompt_and_the_output_allowance():
    req = ModelRequest(messages=(Message("user", "x" * 400),), model="m", max_tokens=50)
    assert estimate_tokens(req) == 101 + 50


# ------------------------------------------------------------------ Redis


@pytest.fixture
def redis_client():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"seamline-test:{uuid.uuid4().hex}:"
    yield client, prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def hammer(limiter, limit, seconds: float, admitted: list) -> None:
    """Try to acquire without waiting, as often as possible, for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            limiter.acquire("openai:m1:", limit, timeout=0.0)
            admitted.append(time.monotonic())
        except RateLimited:
            time.sleep(0.005)


def test_a_redis_limiter_admits_the_rate_and_no_more(redis_client):
    client, prefix = redis_client
    limiter = RedisRateLimiter(client=client, prefix=prefix)
    admitted: list[float] = []
    hammer(limiter, RateLimit(rpm=600, burst=0.0), 1.0, admitted)  # ten a second
    assert 8 <= len(admitted) <= 12


def test_two_redis_limiters_share_one_budget(redis_client):
    client, prefix = redis_client
    limit = RateLimit(rpm=600, burst=0.0)
    a = RedisRateLimiter(client=client, prefix=prefix)
    b = RedisRateLimiter("redis://127.0.0.1:6379/0", prefix=prefix)
    got_a: list[float] = []
    got_b: list[float] = []
    threads = [threading.Thread(target=hammer, args=(a, limit, 1.0, got_a)),
               threading.Thread(target=hammer, args=(b, limit, 1.0, got_b))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert got_a and got_b
    assert 8 <= len(got_a) + len(got_b) <= 12  # one budget of ten a second, not two
    b.client.close()


def test_a_redis_limiter_blocks_until_capacity_is_there(redis_client):
    client, prefix = redis_client
    limiter = RedisRateLimiter(client=client, prefix=prefix)
    limit = RateLimit(rpm=1200, tpm=None, burst=0.0)  # one every 50 ms
    started = time.monotonic()
    for _ in range(6):
        limiter.acquire("k", limit)
    assert time.monotonic() - started >= 0.2  # five waits of ~50 ms


def _hammer(db_path: str, n: int, rpm: float, out) -> None:
    from seamline.inference._ratelimit import RateLimit, StoreRateLimiter
    from seamline.store import open_store

    limiter = StoreRateLimiter(open_store(db_path))
    for _ in range(n):
        limiter.acquire("p:m:k", RateLimit(rpm=rpm, burst=0.5))
        out.put(time.time())


def test_the_store_limiter_paces_two_processes_sharing_one_sqlite_file(tmp_path):
    """1,200 rpm = one call per 50 ms shared by two processes: 2 x 10 calls take >= ~0.45 s."""
    import multiprocessing as mp

    from seamline.store import open_store

    db = str(tmp_path / "rl.db")
    open_store(db).close()  # migrate once, before the race
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(db, 10, 1200.0, out)) for _ in range(2)]
    for p in procs:
        p.start()
    stamps = sorted(out.get(timeout=60) for _ in range(20))
    for p in procs:
        p.join(timeout=30)
    # A burst of 0.5 s admits ~10 at once; the other 10 are paced at 50 ms each.
    assert stamps[-1] - stamps[0] >= 0.4
