"""Backoff: one exponential, capped, jittered wait for every seam that tries again."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamline.backoff import Backoff

seconds = st.floats(0.0, 1e6, allow_nan=False)
attempts = st.integers(0, 2000)
seeds = st.integers(0, 2**32)


@given(base=seconds, cap=seconds, attempt=st.integers(0, 60), seed=seeds)
def test_full_jitter_stays_within_zero_and_min_of_cap_and_base_times_two_to_the_n(
        base, cap, attempt, seed):
    delay = Backoff(base, cap).delay(attempt, random.Random(seed))
    assert 0.0 <= delay <= min(cap, base * 2 ** attempt)


@given(base=seconds, cap=seconds, attempt=attempts, seed=seeds)
def test_equal_jitter_never_waits_less_than_half_the_step_nor_more_than_the_step(
        base, cap, attempt, seed):
    backoff = Backoff(base, cap, jitter="equal")
    step = backoff.step(attempt)
    assert step / 2 <= backoff.delay(attempt, random.Random(seed)) <= step


@given(base=st.floats(1e-9, 1e6), cap=seconds, attempt=st.integers(1024, 10**30))
def test_the_cap_holds_for_large_attempts_without_overflow(base, cap, attempt):
    backoff = Backoff(base, cap, jitter="none")
    assert backoff.step(attempt) == cap
    assert backoff.delay(attempt) == cap


def test_without_jitter_the_wait_doubles_from_base_until_the_cap():
    backoff = Backoff(0.5, 30.0, jitter="none")
    assert [backoff.delay(n) for n in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_a_cap_below_the_base_wins_from_the_first_attempt():
    assert Backoff(10.0, 4.0, jitter="none").delay(0) == 4.0


def test_a_zero_base_never_waits_however_many_attempts():
    assert Backoff(0.0, 30.0).step(10**9) == 0.0


def test_full_jitter_spreads_waits_over_the_whole_range():
    rng = random.Random(7)
    delays = [Backoff(1.0, 8.0).delay(5, rng) for _ in range(2000)]  # uniform in [0, 8]
    assert min(delays) < 0.5 and max(delays) > 7.5 and max(delays) <= 8.0


def test_full_jitter_is_the_default():
    assert Backoff(1.0, 8.0).jitter == "full"
    assert Backoff(1.0, 8.0).delay(3, lambda: 0.25) == 2.0


@given(seed=seeds, attempt=st.integers(0, 40))
def test_the_same_seed_draws_the_same_waits(seed, attempt):
    backoff = Backoff(0.5, 30.0)
    assert backoff.delay(attempt, random.Random(seed)) == backoff.delay(attempt,
                                                                        random.Random(seed))


def test_a_function_can_stand_in_for_the_random_draw():
    backoff = Backoff(4.0, 64.0, jitter="equal")
    assert [backoff.delay(n, lambda: 0.0) for n in range(4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff.delay(10, lambda: 1.0) == 64.0


def test_a_retry_after_longer_than_the_backoff_wins():
    assert Backoff(1.0, 8.0).delay(0, random.Random(1), retry_after=45.0) == 45.0


@given(seed=seeds, attempt=st.integers(0, 10), retry_after=st.floats(0.0, 1e-3))
def test_a_retry_after_shorter_than_the_backoff_leaves_the_backoff(seed, attempt, retry_after):
    backoff = Backoff(10.0, 10.0)
    jittered = backoff.delay(attempt, random.Random(seed))
    assert backoff.delay(attempt, random.Random(seed), retry_after=retry_after) == max(
        jittered, retry_after)


def test_no_retry_after_means_the_backoff_alone():
    assert Backoff(2.0, 8.0, jitter="none").delay(1, retry_after=None) == 4.0


@pytest.mark.parametrize("base, cap", [(-1.0, 8.0), (1.0, -0.5), (1.0, math.inf),
                                       (math.nan, 8.0)])
def test_a_negative_or_endless_base_or_cap_is_refused(base, cap):
    with pytest.raises(ValueError, match="finite number of seconds"):
        Backoff(base, cap)


def test_an_unknown_jitter_is_refused():
    with pytest.raises(ValueError, match="jitter is one of full, equal, none"):
        Backoff(1.0, 8.0, jitter="decorrelated")  # type: ignore[arg-type]


def test_a_negative_attempt_is_refused():
    with pytest.raises(ValueError, match="counts from 0"):
        Backoff(1.0, 8.0).delay(-1)
