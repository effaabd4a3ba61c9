"""One in-memory span exporter for every telemetry test of a pytest process.

OpenTelemetry lets a process set its tracer provider once; a second test module setting its
own would be ignored and see no spans. So each module asks for the one exporter here, which
is attached to whatever SDK provider is set (or to one set here first).
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

EXPORTER = InMemorySpanExporter()
_attached = False


def span_exporter() -> InMemorySpanExporter:
    """The process's in-memory exporter, attached to the global tracer provider."""
    global _attached
    if not _attached:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
        _attached = True
    return EXPORTER
