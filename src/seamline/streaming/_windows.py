"""Which windows an event belongs to, and when a window is over.

Pure functions of the declaration: the same event lands in the same windows in every
process and after every restart, which is what lets state be shared and resumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from seamline.integration import CountWindow, SlidingWindow, TumblingWindow


@dataclass(frozen=True, slots=True, order=True)
class WindowBounds:
    """``[start, end)`` in event-time seconds, or in a key's event numbers for count windows."""

    start: float
    end: float


def assign(window: TumblingWindow | SlidingWindow | CountWindow,
           position: float) -> list[WindowBounds]:
    """The windows holding an event at ``position`` (its event time, or for a count window
    its 0-based number among its key's events), oldest first."""
    if isinstance(window, TumblingWindow):
        start = math.floor(position / window.size) * window.size
        return [WindowBounds(start, start + window.size)]
    size, slide = ((float(window.size), float(window.step)) if isinstance(window, CountWindow)
                   else (window.size, window.slide))
    found = []
    # Integer slide numbers, not repeated float additions, so bounds are bit-identical
    # however the event arrives.
    j = math.floor(position / slide)
    while j * slide + size > position:
        if isinstance(window, CountWindow) and j < 0:
            break
        found.append(WindowBounds(j * slide, j * slide + size))
        j -= 1
    found.reverse()
    return found


def watermark(max_event_time: float | None, allowed_lateness: float) -> float:
    """The event time below which the stream is taken to be complete: the latest event
    time seen minus the allowed lateness. A window closes once its end is at or behind it."""
    if max_event_time is None:
        return -math.inf
    return max_event_time - allowed_lateness


def event_time(value: Any) -> float:
    """Epoch seconds from a number, a numeric text or ISO 8601 (naive means UTC).

    Raises ValueError with a sentence when the value is none of those.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"the event time {value!r} is not a time")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text)  # 3.11+ reads "Z"
            except ValueError:
                raise ValueError(f"the event time {text!r} is neither epoch seconds nor "
                                 "ISO 8601") from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            seconds = parsed.timestamp()
    if not math.isfinite(seconds):
        raise ValueError(f"the event time {value!r} is not finite")
    return seconds
