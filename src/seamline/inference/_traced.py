"""Layer 3, inference: the OpenTelemetry GenAI span of every model call the gateway makes.

Two wrappers, placed by the gateway: :class:`TracedCall` around one model's retrying link
(one ``chat {model}`` span per logical call, its retries inside, as the GenAI conventions
say; a fallback to another model is another call, so another span), and
:class:`TracedAttempt` around the bare provider (one ``seamline.attempt`` child per try).
With no tracer provider configured both cost one check per call.

``gen_ai.provider.name`` values: ``openai`` and ``anthropic`` as the spec lists them; an
``openai-compatible`` route (vLLM, Ollama …) reports ``openai``, the wire format it speaks —
the spec's discriminator of the telemetry flavour — with ``server.address`` telling which
server, and ``seamline.provider`` keeping the route's own name. The on-device model reports
``seamline.local`` and the scripted one ``seamline.scripted``; both run in this process, so
their spans are INTERNAL and carry no server.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from seamline.inference._types import ModelReply, ModelRequest, Provider
from seamline.telemetry import CallRequest, CallTarget, attempt_span, model_call, tracing_on

OPERATION = "chat"  # every call sends a conversation (the spec's Chat operation)
GEN_AI_PROVIDERS = {"openai": "openai", "openai-compatible": "openai", "anthropic": "anthropic",
                    "local": "seamline.local", "scripted": "seamline.scripted"}
_IN_PROCESS = frozenset({"local", "scripted"})
_SEPARATE_SYSTEM = frozenset({"anthropic"})  # the Messages API's `system`, apart from messages
# Seamline's stop reasons are Anthropic's words; an OpenAI-format reply had these originally.
_OPENAI_FINISH = {"end_turn": "stop", "max_tokens": "length"}


def bare_provider(provider: Any) -> Any:
    """The provider at the bottom of a stack of wrappers (each keeps its ``provider``)."""
    while hasattr(provider, "provider"):
        provider = provider.provider
    return provider


def call_target(bare: Any) -> CallTarget:
    """Who ``bare`` calls: its GenAI provider name and, for an SDK client, its server."""
    name = str(getattr(bare, "name", "") or "unknown")
    base = getattr(getattr(bare, "client", None), "base_url", None)  # both SDKs expose it
    if name in _IN_PROCESS or base is None:
        return CallTarget(GEN_AI_PROVIDERS.get(name, name), in_process=name in _IN_PROCESS)
    url = urlsplit(str(base))
    port = url.port or (443 if url.scheme == "https" else 80)
    return CallTarget(GEN_AI_PROVIDERS.get(name, name), address=url.hostname, port=port)


class TracedCall:
    """A provider whose every call is a GenAI span (see the module docstring)."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.name = provider.name
        bare = bare_provider(provider)
        self._route_provider = str(getattr(bare, "name", ""))
        self._default_model = str(getattr(bare, "model", "") or "")
        self._target = call_target(bare)

    def complete(self, request: ModelRequest) -> ModelReply:
        if not tracing_on():  # nothing to describe the call to
            return self.provider.complete(request)
        described = CallRequest(
            OPERATION, request.model or self._default_model, max_tokens=request.max_tokens,
            params=request.params, json_output=request.output_schema is not None,
            messages=[(m.role, m.content) for m in request.messages],
            separate_system=self._route_provider in _SEPARATE_SYSTEM)
        extra = {"seamline.provider": self._route_provider, "seamline.repair": request.attempt}
        with model_call(described, self._target, extra) as span:
            reply = self.provider.complete(request)
            if span is not None:
                u = reply.usage
                finish = reply.stop_reason or ""
                if self._target.provider == "openai":
                    finish = _OPENAI_FINISH.get(finish, finish)
                span.answered(model=reply.model, response_id=reply.response_id,
                              finish_reason=finish,
                              input_tokens=u.input_tokens + u.cache_read_tokens
                              + u.cache_write_tokens,
                              output_tokens=u.output_tokens, cache_read_tokens=u.cache_read_tokens,
                              cache_write_tokens=u.cache_write_tokens, text=reply.text)
            return reply


class TracedAttempt:
    """A provider whose every call is one attempt's span inside the current GenAI span."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.name = provider.name

    def complete(self, request: ModelRequest) -> ModelReply:
        if not tracing_on():
            return self.provider.complete(request)
        with attempt_span():
            return self.provider.complete(request)
