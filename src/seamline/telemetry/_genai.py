"""OpenTelemetry GenAI semantic conventions: a span per model call that LLM tools can read.

Langfuse, Arize Phoenix, Datadog LLM Observability and Grafana recognise a model call by its
``gen_ai.*`` attributes, not by its name. Every call the gateway makes gets the inference
client span of the GenAI conventions as published from semantic conventions v1.37.0 on (the
"latest experimental" set, since kept in the semantic-conventions-genai repository): named
``"{gen_ai.operation.name} {gen_ai.request.model}"``, kind CLIENT (INTERNAL for a model that
runs in this process, as the spec allows), with ``gen_ai.provider.name`` — not the older
``gen_ai.system``: Seamline never emitted the old set, so there is nobody to keep it for.
Attribute names come from ``opentelemetry-semantic-conventions`` rather than literals.

The span covers the logical call with its retries (as the spec says); each attempt inside it
is a ``seamline.attempt`` child span, so a retried call shows what each try did.

Prompt and completion text go on the span only when ``SEAMLINE_OTEL_CAPTURE_CONTENT`` is
true (off by default), as ``gen_ai.input.messages`` / ``gen_ai.system_instructions`` /
``gen_ai.output.messages`` JSON strings. What is recorded is exactly what the model was sent:
the runtime hands providers only redacted text, and every string is scrubbed of configured
secrets once more here, so a secret that reached a prompt template still never leaves.
"""

from __future__ import annotations

import contextvars
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import (
    error_attributes,
    http_attributes,
    server_attributes,
)

from seamline.scrub import scrub, scrub_value
from seamline.telemetry._tracing import event_context, tracing_on

CAPTURE_ENV = "SEAMLINE_OTEL_CAPTURE_CONTENT"
_TRUE = frozenset({"1", "true", "yes", "on"})
ATTEMPT_SPAN = "seamline.attempt"

# A request parameter (as routes name them, OpenAI's or Anthropic's spelling) -> attribute.
_PARAMS: Mapping[str, str] = {
    "temperature": gen_ai.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": gen_ai.GEN_AI_REQUEST_TOP_P,
    "top_k": gen_ai.GEN_AI_REQUEST_TOP_K,
    "seed": gen_ai.GEN_AI_REQUEST_SEED,
    "presence_penalty": gen_ai.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "frequency_penalty": gen_ai.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "stop": gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES,
    "stop_sequences": gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES,
}

_tracer = trace.get_tracer("seamline.gen_ai")
_current: contextvars.ContextVar[ModelCallSpan | None] = contextvars.ContextVar(
    "seamline_model_call", default=None)


def capture_content() -> bool:
    """Whether prompts and completions go on the spans (``SEAMLINE_OTEL_CAPTURE_CONTENT``).

    Read at every call, so turning it off needs no restart."""
    return os.environ.get(CAPTURE_ENV, "").strip().lower() in _TRUE


@dataclass(frozen=True, slots=True)
class CallTarget:
    """Where a model call goes, as the span tells it.

    ``provider``: the ``gen_ai.provider.name`` value; ``in_process``: the model runs in this
    process (span kind INTERNAL, no server); ``address``/``port``: the remote server.
    """

    provider: str
    in_process: bool = False
    address: str | None = None
    port: int | None = None


@dataclass(frozen=True, slots=True)
class CallRequest:
    """What the span records of a request: plain values, so telemetry needs no inference types.

    ``messages`` are ``(role, text)`` pairs in the order sent; ``separate_system``: the wire
    format sends the system prompt apart from the chat history (Anthropic's ``system``), so
    it is recorded as ``gen_ai.system_instructions`` instead of a message.
    """

    operation: str
    model: str
    max_tokens: int | None = None
    params: Mapping[str, Any] | None = None
    json_output: bool = False
    messages: Sequence[tuple[str, str]] = ()
    separate_system: bool = False


def request_attributes(request: CallRequest, target: CallTarget) -> dict[str, Any]:
    """The attributes known before the call is sent (sampling ones, so tools can filter)."""
    attrs: dict[str, Any] = {gen_ai.GEN_AI_OPERATION_NAME: request.operation,
                             gen_ai.GEN_AI_PROVIDER_NAME: target.provider}
    if request.model:
        attrs[gen_ai.GEN_AI_REQUEST_MODEL] = request.model
    if request.max_tokens is not None:
        attrs[gen_ai.GEN_AI_REQUEST_MAX_TOKENS] = int(request.max_tokens)
    if request.json_output:
        attrs[gen_ai.GEN_AI_OUTPUT_TYPE] = "json"
    for name, value in (request.params or {}).items():
        key = _PARAMS.get(name)
        if key is None or value is None or isinstance(value, bool):
            continue
        if key == gen_ai.GEN_AI_REQUEST_STOP_SEQUENCES:
            attrs[key] = [value] if isinstance(value, str) else [str(v) for v in value]
        elif isinstance(value, int | float):
            attrs[key] = int(value) if key == gen_ai.GEN_AI_REQUEST_SEED else value
    if target.address:
        attrs[server_attributes.SERVER_ADDRESS] = target.address
        if target.port is not None:
            attrs[server_attributes.SERVER_PORT] = target.port
    return attrs


def content_attributes(request: CallRequest) -> dict[str, str]:
    """The opt-in content attributes of a request, secrets scrubbed, as JSON strings (span
    attributes cannot hold nested structures; the spec allows a JSON string there)."""
    system = [text for role, text in request.messages if role == "system"]
    chat = [(role, text) for role, text in request.messages
            if not (request.separate_system and role == "system")]
    out = {gen_ai.GEN_AI_INPUT_MESSAGES: _json(
        [{"role": role, "parts": [{"type": "text", "content": text}]} for role, text in chat])}
    if request.separate_system and system:
        out[gen_ai.GEN_AI_SYSTEM_INSTRUCTIONS] = _json(
            [{"type": "text", "content": text} for text in system])
    return out


def _json(value: Any) -> str:
    return json.dumps(scrub_value(value), ensure_ascii=False)


class ModelCallSpan:
    """The live span of one model call; :meth:`answered` records what came back."""

    def __init__(self, span: trace.Span, capture: bool) -> None:
        self.span, self.capture = span, capture
        self.attempts = 0

    def answered(self, *, model: str = "", response_id: str = "",
                 finish_reason: str = "", input_tokens: int = 0, output_tokens: int = 0,
                 cache_read_tokens: int = 0, cache_write_tokens: int = 0,
                 text: str | None = None) -> None:
        """The reply's attributes. ``input_tokens`` counts every input token, cached ones
        included, as the spec asks; the cache parts are given besides."""
        attrs: dict[str, Any] = {gen_ai.GEN_AI_USAGE_INPUT_TOKENS: input_tokens,
                                 gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS: output_tokens}
        if cache_read_tokens:
            attrs[gen_ai.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = cache_read_tokens
        if cache_write_tokens:
            attrs[gen_ai.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = cache_write_tokens
        if model:
            attrs[gen_ai.GEN_AI_RESPONSE_MODEL] = model
        if response_id:
            attrs[gen_ai.GEN_AI_RESPONSE_ID] = response_id
        if finish_reason:
            attrs[gen_ai.GEN_AI_RESPONSE_FINISH_REASONS] = [finish_reason]
        if self.capture and text is not None:
            attrs[gen_ai.GEN_AI_OUTPUT_MESSAGES] = _json([{
                "role": "assistant", "parts": [{"type": "text", "content": text}],
                "finish_reason": finish_reason or "stop"}])
        self.span.set_attributes(attrs)


def _failed(span: trace.Span, error: BaseException) -> None:
    """``error.type`` is the exception's class name (Seamline's errors: RateLimited,
    ProviderUnavailable, RequestRejected, ContentRefused …, low-cardinality by design); the
    status says the message, scrubbed of secrets."""
    span.set_attribute(error_attributes.ERROR_TYPE, type(error).__name__)
    status = getattr(error, "status", None)
    if isinstance(status, int):
        span.set_attribute(http_attributes.HTTP_RESPONSE_STATUS_CODE, status)
    span.set_status(trace.Status(trace.StatusCode.ERROR, scrub(str(error))[:200]))


@contextmanager
def model_call(request: CallRequest, target: CallTarget,
               extra: Mapping[str, Any] | None = None) -> Iterator[ModelCallSpan | None]:
    """A GenAI span around one model call (None when no tracer provider is set).

    Its parent is the event's span when an event trace is bound to this thread (the layer
    spans are made after the fact, so they cannot parent a live span), else whatever span is
    current. It is current while the call runs, so each attempt's span nests under it."""
    if not tracing_on():
        yield None
        return
    capture = capture_content()
    attrs = request_attributes(request, target)
    attrs.update(extra or {})
    if capture:
        attrs.update(content_attributes(request))
    name = f"{request.operation} {request.model}" if request.model else request.operation
    kind = trace.SpanKind.INTERNAL if target.in_process else trace.SpanKind.CLIENT
    span = _tracer.start_span(name, context=event_context(), kind=kind, attributes=attrs)
    call = ModelCallSpan(span, capture)
    token = _current.set(call)
    try:
        with trace.use_span(span, end_on_exit=False, record_exception=False,
                            set_status_on_exception=False):
            yield call
    except BaseException as error:
        _failed(span, error)
        raise
    finally:
        _current.reset(token)
        span.set_attribute("seamline.attempts", call.attempts)
        span.end()


@contextmanager
def attempt_span() -> Iterator[None]:
    """A child span for one attempt of the current model call (nothing outside one)."""
    call = _current.get()
    if call is None:
        yield
        return
    number, call.attempts = call.attempts, call.attempts + 1
    span = _tracer.start_span(ATTEMPT_SPAN, attributes={"seamline.attempt.number": number})
    try:
        with trace.use_span(span, end_on_exit=False, record_exception=False,
                            set_status_on_exception=False):
            yield
    except BaseException as error:
        _failed(span, error)
        raise
    finally:
        span.end()
