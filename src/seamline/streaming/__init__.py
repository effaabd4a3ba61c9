"""The stream shape: consume Redis Streams or NATS JetStream, keep windows durably in the
store, and make one model decision per closed window through the seven layers.

The declaration (``StreamSpec`` and its windows) lives in ``seamline.integration`` and is
re-exported here.
"""

from __future__ import annotations

from seamline.integration import (
    CountWindow,
    LatePolicy,
    SlidingWindow,
    StreamSpec,
    TumblingWindow,
    WindowInput,
)
from seamline.streaming._closing import DueWindow, Progress
from seamline.streaming._runner import RunStats, StreamRunner
from seamline.streaming._source import (
    SourceMessage,
    SourceUnavailable,
    StreamSource,
    open_source,
)
from seamline.streaming._state import WindowState
from seamline.streaming._windows import WindowBounds, assign, event_time, watermark

__all__ = [
    "CountWindow", "DueWindow", "LatePolicy", "Progress", "RunStats", "SlidingWindow",
    "SourceMessage", "SourceUnavailable", "StreamRunner", "StreamSource", "StreamSpec",
    "TumblingWindow", "WindowBounds", "WindowInput", "WindowState", "assign", "event_time",
    "open_source", "watermark",
]
