"""Waiting before trying again: exponential, capped and jittered (full jitter by default).

One rule for every seam that backs off (a provider call, a vendor's 429, an action, a poll,
a queued job, a broker outage), so "the third retry of a 0.5 s backoff capped at 30 s" means
the same wait everywhere. No library: tenacity's and stamina's delays are computed inside
their retry loops from the global ``random``, and the queue and the poller store a next
time instead of sleeping in a loop, while tests seed the draw.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Jitter = Literal["full", "equal", "none"]
#: A random draw: a ``random.Random``, or a function returning a float in [0, 1).
Draw = random.Random | Callable[[], float]

_JITTERS = ("full", "equal", "none")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits of ``base_s * 2**attempt`` seconds, never more than ``cap_s``, jittered.

    ``attempt`` counts from 0: the wait before the first retry is at most ``base_s``.
    ``jitter`` says how much of that step is drawn at random: ``"full"`` waits anywhere in
    [0, step], which spreads a crowd of clients best (AWS, "Exponential Backoff And
    Jitter"); ``"equal"`` waits in [step/2, step], never sooner than half; ``"none"``
    waits the step itself.
    """

    base_s: float
    cap_s: float
    jitter: Jitter = "full"

    def __post_init__(self) -> None:
        for name in ("base_s", "cap_s"):
            value = getattr(self, name)
            if not 0.0 <= value < math.inf:
                raise ValueError(f"A backoff's {name} must be a finite number of seconds, "
                                 f"0 or more; got {value!r}.")
        if self.jitter not in _JITTERS:
            raise ValueError(f"A backoff's jitter is one of {', '.join(_JITTERS)}; "
                             f"got {self.jitter!r}.")

    def step(self, attempt: int) -> float:
        """The wait before jitter: ``min(cap_s, base_s * 2**attempt)``, for any attempt."""
        if attempt < 0:
            raise ValueError(f"A backoff attempt counts from 0; got {attempt}.")
        try:
            # ldexp is the exact product base_s * 2**attempt, and raises instead of
            # returning inf or failing on an int too large for a float.
            doubled = math.ldexp(self.base_s, attempt)
        except OverflowError:
            return self.cap_s
        return min(self.cap_s, doubled)

    def delay(self, attempt: int, rng: Draw | None = None, *,
              retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``attempt`` (from 0), drawn from ``rng``.

        ``rng`` defaults to the module ``random``; a test passes a seeded
        ``random.Random`` or a function. ``retry_after`` is what the other side asked for
        (a Retry-After): it wins when it is longer than the backoff.
        """
        step = self.step(attempt)
        if self.jitter == "full":
            wait = step * _draw(rng)
        elif self.jitter == "equal":
            wait = step / 2 + step / 2 * _draw(rng)
        else:
            wait = step
        return wait if retry_after is None else max(wait, retry_after)


def _draw(rng: Draw | None) -> float:
    if rng is None:
        return random.random()
    if isinstance(rng, random.Random):
        return rng.random()
    return rng()
