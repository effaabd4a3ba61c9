"""The stream shape: consume Redis Streams or NATS JetStream, keep windows durably in the
store, and make one model decision per closed window through the seven layers.

The declaration (``StreamSpec``) and window arithmetic load eagerly; the runner and the
sources load on first use, because ``seamline.integration`` imports the declaration and the
runner imports ``seamline.integration`` (an eager import here would be a cycle).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seamline.streaming._spec import (
    CountWindow,
    LatePolicy,
    SlidingWindow,
    StreamSpec,
    TumblingWindow,
    WindowInput,
    parse_duration,
)
from seamline.streaming._windows import WindowBounds, assign, event_time, watermark

if TYPE_CHECKING:
    from seamline.streaming._closing import DueWindow, Progress
    from seamline.streaming._runner import RunStats, StreamRunner
    from seamline.streaming._source import (
        SourceMessage,
        SourceUnavailable,
        StreamSource,
        open_source,
    )
    from seamline.streaming._state import WindowState

_LAZY = {
    "RunStats": "_runner", "StreamRunner": "_runner",
    "SourceMessage": "_source", "SourceUnavailable": "_source", "StreamSource": "_source",
    "open_source": "_source",
    "DueWindow": "_closing", "Progress": "_closing", "WindowState": "_state",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'seamline.streaming' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"seamline.streaming.{module}"), name)


__all__ = [
    "CountWindow", "DueWindow", "LatePolicy", "Progress", "RunStats", "SlidingWindow",
    "SourceMessage", "SourceUnavailable", "StreamRunner", "StreamSource", "StreamSpec",
    "TumblingWindow", "WindowBounds", "WindowInput", "WindowState", "assign", "event_time",
    "open_source", "parse_duration", "watermark",
]
