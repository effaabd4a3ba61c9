"""OpenTelemetry traces: one span per event, one child span per layer it went through.

The pipeline already times every layer (those timings go to the audit trail), so the
layer spans are made from the same measurements instead of wrapping every block in a
context manager: ``layer_done(name, t0)`` records the segment, and the event's span
emits its children when it ends, with their real start and end times. With no tracer
provider configured (the default), nothing is recorded and the cost is one
thread-local lookup per layer.

``configure_tracing()`` exports to any OTLP collector when ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set — the standard OpenTelemetry
environment variables — and hooks Sentry in when ``SENTRY_DSN`` is set.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context

from seamline.scrub import register, scrub_value

log = logging.getLogger("seamline.tracing")
_tracer = trace.get_tracer("seamline")
_local = threading.local()
_configured = False
_HEADER_VARIABLES = ("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS")


class EventTrace:
    """The segments of one event, turned into child spans of its span when it ends."""

    def __init__(self, span) -> None:
        self.span = span
        # perf_counter -> epoch nanoseconds, fixed once so every segment lines up.
        self._offset_ns = time.time_ns() - int(time.perf_counter() * 1e9)
        self.segments: list[tuple[str, float, float, dict[str, Any]]] = []

    def add(self, name: str, t0: float, t1: float, attrs: dict[str, Any] | None = None) -> None:
        self.segments.append((name, t0, t1, attrs or {}))

    def bind(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` with this trace active on whatever thread runs it (the server's executor)."""
        @functools.wraps(fn)
        def run(*args, **kwargs):
            previous = getattr(_local, "trace", None)
            _local.trace = self
            try:
                return fn(*args, **kwargs)
            finally:
                _local.trace = previous
        return run

    def finish(self, result: Any | None) -> None:
        ctx = trace.set_span_in_context(self.span)
        for name, t0, t1, attrs in self.segments:
            child = _tracer.start_span(f"seamline.{name}", context=ctx,
                                       start_time=self._ns(t0), attributes=attrs)
            child.end(end_time=self._ns(t1))
        if result is not None:
            self.span.set_attribute("seamline.event_id", result.event_id)
            self.span.set_attribute("seamline.state", result.state)
            if result.stage:
                self.span.set_attribute("seamline.stage", result.stage)
            if result.state == "dead_lettered":
                self.span.set_status(trace.Status(trace.StatusCode.ERROR, result.reason[:200]))
        self.span.end()

    def _ns(self, perf: float) -> int:
        return self._offset_ns + int(perf * 1e9)


def layer_done(name: str, t0: float, **attrs: Any) -> float:
    """Milliseconds since ``t0``; recorded as a layer span when an event trace is active."""
    t1 = time.perf_counter()
    current = getattr(_local, "trace", None)
    if current is not None:
        current.add(name, t0, t1, attrs)
    return (t1 - t0) * 1000


def event_context() -> Context | None:
    """The context of the event span bound to this thread (None: none is, use the current).

    A span made during the event (a model call's) is parented here, so it lands in the
    event's trace even though the event span is never made current."""
    current = getattr(_local, "trace", None)
    return trace.set_span_in_context(current.span) if current is not None else None


def tracing_on() -> bool:
    """Whether any tracer provider was set (here or by the application embedding Seamline)."""
    global _configured
    if not _configured and not isinstance(trace.get_tracer_provider(),
                                          trace.ProxyTracerProvider):
        _configured = True  # a provider, once set, stays set: stop asking
    return _configured


def start_event(integration: str) -> EventTrace | None:
    """A started event span (not yet current), or None when no tracer provider is set."""
    if not tracing_on():
        return None
    span = _tracer.start_span("seamline.event", attributes={"seamline.integration": integration})
    return EventTrace(span)


def scrubbed_for_sentry(event: Any, _hint: dict[str, Any]) -> Any:
    """A Sentry event with every configured secret taken out of every string in it."""
    return scrub_value(event)


def configure_tracing(service_name: str = "seamline") -> bool:
    """Export spans over OTLP (and errors to Sentry) when the environment asks for it."""
    global _configured
    # The exporter's headers carry the backend's credentials (Langfuse's basic auth, an
    # API key): their values are secrets, kept out of logs and the audit like any other.
    register(_HEADER_VARIABLES)
    if _configured:
        return True
    if os.environ.get("SENTRY_DSN"):
        try:
            import sentry_sdk

            # Sentry sends the frames' local variables and the exception's text itself,
            # past the log filter: every event is scrubbed by value before it leaves.
            sentry_sdk.init(dsn=os.environ["SENTRY_DSN"], traces_sample_rate=0.0,
                            send_default_pii=False, before_send=scrubbed_for_sentry)
        except ImportError:
            log.warning("SENTRY_DSN is set but sentry-sdk is not installed "
                        "(pip install 'seamline[sentry]')")
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win; the argument only fills in a name the
    # environment did not give (the SDK's default would be "unknown_service").
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": service_name}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True
    return True
