"""Window assignment, the watermark, event times and the declaration: pure functions, so
every consumer process puts an event in the same windows."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from seamline.integration import integration_from_dict
from seamline.streaming import (
    CountWindow,
    SlidingWindow,
    StreamSpec,
    TumblingWindow,
    WindowBounds,
    assign,
    event_time,
    watermark,
)


def test_a_tumbling_window_holds_each_event_exactly_once_and_its_end_is_exclusive():
    w = TumblingWindow(size=60)
    assert assign(w, 0) == [WindowBounds(0, 60)]
    assert assign(w, 59.999) == [WindowBounds(0, 60)]
    assert assign(w, 60) == [WindowBounds(60, 120)]
    assert assign(w, -1) == [WindowBounds(-60, 0)]


def test_a_sliding_window_puts_an_event_in_size_over_slide_overlapping_windows():
    w = SlidingWindow(size=30, slide=10)
    assert assign(w, 25) == [WindowBounds(0, 30), WindowBounds(10, 40), WindowBounds(20, 50)]
    # On a boundary the event opens a window and leaves the one ending there.
    assert assign(w, 30) == [WindowBounds(10, 40), WindowBounds(20, 50), WindowBounds(30, 60)]
    for t in (0.5, 7, 1_700_000_123.25):
        bounds = assign(w, t)
        assert len(bounds) == 3 and all(b.start <= t < b.end for b in bounds)


def test_sliding_bounds_are_the_same_bits_however_the_time_is_reached():
    w = SlidingWindow(size=0.3, slide=0.1)
    # Repeated float addition would drift; bounds come from integer slide numbers.
    assert assign(w, 0.25)[-1] == assign(w, 0.2 + 0.01)[-1]


def test_a_count_window_is_the_last_n_events_of_a_key_decided_every_slide_events():
    back_to_back = CountWindow(size=3)
    assert [assign(back_to_back, n) for n in range(4)] == [
        [WindowBounds(0, 3)], [WindowBounds(0, 3)], [WindowBounds(0, 3)], [WindowBounds(3, 6)]]
    last_three_every_event = CountWindow(size=3, slide=1)
    assert assign(last_three_every_event, 0) == [WindowBounds(0, 3)]  # no window before event 0
    assert assign(last_three_every_event, 4) == [WindowBounds(2, 5), WindowBounds(3, 6),
                                                  WindowBounds(4, 7)]


def test_the_watermark_trails_the_latest_event_time_by_the_allowed_lateness():
    assert watermark(None, 5) == -math.inf
    assert watermark(100.0, 5) == 95.0
    assert watermark(100.0, 0) == 100.0


def test_event_time_reads_epoch_seconds_numeric_text_and_iso_8601():
    assert event_time(12) == 12.0
    assert event_time("12.5") == 12.5
    assert event_time("1970-01-01T00:01:00Z") == 60.0
    assert event_time("1970-01-01T00:01:00") == 60.0  # naive is UTC
    assert event_time("1970-01-01T01:01:00+01:00") == 60.0
    for bad in (None, True, "yesterday", float("nan"), {"t": 1}):
        with pytest.raises(ValueError):
            event_time(bad)


def test_a_stream_declaration_reads_durations_and_refuses_what_cannot_work():
    spec = StreamSpec(key_field="customer", time_field="ts",
                      window={"kind": "sliding", "size": "5m", "slide": "30s"},
                      allowed_lateness="2s", late_policy="recompute")
    assert (spec.window.size, spec.window.slide, spec.allowed_lateness) == (300.0, 30.0, 2.0)
    with pytest.raises(ValidationError, match="slide must not exceed"):
        SlidingWindow(size=10, slide=20)
    with pytest.raises(ValidationError, match="needs time_field"):
        StreamSpec(key_field="customer", window=TumblingWindow(size=10))
    with pytest.raises(ValidationError, match="not a duration"):
        TumblingWindow(size="ten minutes")
    with pytest.raises(ValidationError):
        StreamSpec(key_field="c", time_field="ts", window=TumblingWindow(size=1),
                   late_policy="drop")
    assert StreamSpec(key_field="c", window=CountWindow(size=5)).window.step == 5


def test_an_integration_file_declares_its_stream(tmp_path):
    integration = integration_from_dict({
        "name": "risk",
        "input_schema": "seamline.streaming:WindowInput",
        "output_schema": {"fields": {"score": "float"}},
        "prompt": {"user": "{{ key }} {{ count }}"},
        "stream": {"key_field": "customer", "time_field": "ts",
                   "window": {"kind": "tumbling", "size": "1m"}, "late_policy": "recompute",
                   "source": "redis://127.0.0.1:6379/0?stream=payments&group=risk"},
    }, base=tmp_path)
    assert integration.stream is not None
    assert integration.stream.window == TumblingWindow(size=60)
    assert integration.stream.late_policy == "recompute"
