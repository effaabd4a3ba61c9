"""Telemetry: Prometheus metrics and OpenTelemetry traces of every layer (and Sentry, if asked).

``observe_event`` counts an event's outcome, per-layer latency, tokens, cost and model
calls; ``StoreCollector`` answers store-derived gauges at scrape time; ``start_event`` /
``layer_done`` make one span per event with a child span per layer;
``configure_tracing`` exports over OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set;
``model_call`` / ``attempt_span`` make the OpenTelemetry GenAI span of each model call (its
content only when ``SEAMLINE_OTEL_CAPTURE_CONTENT`` is true).
"""

from seamline.telemetry._genai import (
    ATTEMPT_SPAN,
    CAPTURE_ENV,
    CallRequest,
    CallTarget,
    ModelCallSpan,
    attempt_span,
    capture_content,
    model_call,
)
from seamline.telemetry._metrics import (
    RETRIES,
    STORE_GAUGES,
    StoreCollector,
    observe_event,
    track_breakers,
)
from seamline.telemetry._tracing import (
    EventTrace,
    configure_tracing,
    event_context,
    layer_done,
    start_event,
    tracing_on,
)

__all__ = [
    "ATTEMPT_SPAN",
    "CAPTURE_ENV",
    "RETRIES",
    "STORE_GAUGES",
    "CallRequest",
    "CallTarget",
    "EventTrace",
    "ModelCallSpan",
    "StoreCollector",
    "attempt_span",
    "capture_content",
    "configure_tracing",
    "event_context",
    "layer_done",
    "model_call",
    "observe_event",
    "start_event",
    "tracing_on",
    "track_breakers",
]
