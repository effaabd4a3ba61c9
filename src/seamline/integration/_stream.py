"""The stream shape's declaration: which field keys an event, which field dates it, the
window, how late an event may be, what happens to a later one, and where it comes from.

Pure Pydantic on purpose: ``seamline.integration`` imports it, so it imports nothing of Seamline.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from seamline.durations import seconds
from seamline.errors import ConfigError


def parse_duration(value: Any) -> Any:
    """Seconds from a number or a text such as ``"90s"``, ``"5m"``, ``"1.5h"``, ``"7d"``."""
    if isinstance(value, str):
        try:
            return seconds(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None  # pydantic reports ValueErrors per field
    return value


Seconds = Annotated[float, BeforeValidator(parse_duration)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class TumblingWindow(_Frozen):
    """Back-to-back windows of ``size`` seconds of event time: each event in exactly one."""

    kind: Literal["tumbling"] = "tumbling"
    size: Seconds = Field(gt=0)


class SlidingWindow(_Frozen):
    """Windows of ``size`` seconds starting every ``slide`` seconds: an event is in
    ``size / slide`` of them, so a decision sees overlapping stretches of time."""

    kind: Literal["sliding"] = "sliding"
    size: Seconds = Field(gt=0)
    slide: Seconds = Field(gt=0)

    @model_validator(mode="after")
    def _slide_within_size(self) -> SlidingWindow:
        if self.slide > self.size:
            raise ValueError("a sliding window's slide must not exceed its size "
                             "(events between windows would belong to none)")
        return self


class CountWindow(_Frozen):
    """The last ``size`` events of a key, in arrival order, decided every ``slide`` events
    (default ``size``: back to back). Arrival order has no lateness: the late policy and
    the watermark do not apply."""

    kind: Literal["count"] = "count"
    size: int = Field(gt=0)
    slide: int | None = Field(None, gt=0)

    @property
    def step(self) -> int:
        return self.slide or self.size

    @model_validator(mode="after")
    def _slide_within_size(self) -> CountWindow:
        if self.step > self.size:
            raise ValueError("a count window's slide must not exceed its size")
        return self


WindowSpec = Annotated[TumblingWindow | SlidingWindow | CountWindow,
                       Field(discriminator="kind")]

LatePolicy = Literal["dead_letter", "recompute"]


class StreamSpec(_Frozen):
    """How an integration consumes a stream; its input schema then describes one window
    (see :class:`WindowInput`), and its model makes one decision per closed window."""

    name: str = Field("", description="Names the window state in the store; default: the "
                                       "integration's name.")
    key_field: str = Field(min_length=1, description="Event field that partitions windows "
                                                     "(a customer, an account).")
    time_field: str = Field("", description="Event field holding the event time (epoch "
                                            "seconds or ISO 8601); required by time windows.")
    window: WindowSpec
    allowed_lateness: Seconds = Field(0.0, ge=0, description="The watermark trails the stream "
                                                              "time by this much.")
    late_policy: LatePolicy = Field("dead_letter", description="What happens to an event whose "
                                    "window already closed: dead_letter records it with how late "
                                    "it was; recompute adds it and decides the window again.")
    # Recompute keeps a closed window's events this long (event time past the watermark);
    # an event later than that is dead-lettered even under "recompute".
    retention: Seconds = Field(86400.0, gt=0)
    decision_events: int = Field(100, gt=0, description="Newest events of a window handed to "
                                                        "the decision (the count covers all).")
    source: str = Field("", description="redis://…?stream=&group= or nats://…?stream=&subject=")
    idle_timeout: Seconds = Field(60.0, ge=0, description="After this long with no message "
                                  "anywhere in the stream, stream time follows the wall clock, "
                                  "so a quiet stream's last windows still close; 0: never.")
    idle_flush: bool = Field(False, description="Count windows only: decide a key's unfilled "
                             "window as it stands once the key has had no event for "
                             "idle_timeout (decided again, as a new revision, when it fills).")

    @model_validator(mode="after")
    def _time_windows_need_a_time(self) -> StreamSpec:
        if self.window.kind != "count" and not self.time_field:
            raise ValueError(f"a {self.window.kind} window needs time_field (the event-time field)")
        if self.idle_flush and self.window.kind != "count":
            raise ValueError("idle_flush applies to count windows; time windows close by "
                             "idle_timeout on their own")
        if self.idle_flush and not self.idle_timeout:
            raise ValueError("idle_flush needs an idle_timeout above 0")
        return self


class WindowInput(BaseModel):
    """What the decision of one window receives; use (or subclass) it as the integration's
    input schema. ``window_id`` is its idempotency key: one decision per window revision."""

    window_id: str
    stream: str
    key: str
    window_start: float
    window_end: float
    revision: int = 1
    count: int
    events: list[dict[str, Any]] = Field(default_factory=list)
