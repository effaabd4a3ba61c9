"""Telemetry: Prometheus metrics and OpenTelemetry traces of every layer (and Sentry, if asked).

``observe_event`` counts an event's outcome, per-layer latency, tokens, cost and model
calls; ``StoreCollector`` answers store-derived gauges at scrape time; ``start_event`` /
``layer_done`` make one span per event with a child span per layer;
``configure_tracing`` exports over OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.
"""

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
    layer_done,
    start_event,
    tracing_on,
)

__all__ = [
    "RETRIES",
    "STORE_GAUGES",
    "EventTrace",
    "StoreCollector",
    "configure_tracing",
    "layer_done",
    "observe_event",
    "start_event",
    "tracing_on",
    "track_breakers",
]
