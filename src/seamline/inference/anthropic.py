"""Layer 3, inference: Anthropic's Messages API through the official ``anthropic`` SDK.

The SDK's own retries are off (``max_retries=0``): Seamline's retry policy decides.
The system prompt is marked for prompt caching; structured output asks for a tool call
whose input schema is the integration's output schema, or for plain JSON text.

Citations (``grounding.citations: provider``; docs/citations.md). The request's sources
go as ``document`` blocks with citations enabled, and the answer's cited statements
become the output's claims. Citations and structured output do not combine: the
citations page (https://docs.anthropic.com/en/docs/build-with-claude/citations) says a
request with cited documents and structured outputs (``output_config.format``) is
refused with a 400, and a forced tool call answers in a ``tool_use`` block, which never
carries citations. So a cited answer is two steps:

1. the cited call: documents with citations enabled, no tools, no output format; the
   model answers in plain sentences and each text block that carries citations is one
   claim, its cited texts the claim's quotes (and the whole text the ``answer_field``);
2. only when the output schema requires fields besides those: the extraction call, the
   ordinary structured call (a forced tool, or JSON text) with the cited answer as the
   model's previous turn and no documents; the cited claims and text are then written
   over whatever it put in those fields, so the claims checked are exactly what was cited.

Both calls' tokens are the reply's usage. Batch mode (the Message Batches API) sends the
ordinary request: a batch cannot run the second step, so batched answers keep the quote
contract (their replies carry no citations, and the checks treat them so).
"""

from __future__ import annotations

import inspect
import json
import os
from dataclasses import replace
from typing import Any, Literal

import anthropic

from seamline.errors import ConfigError, ContentRefused, ProviderError, ProviderUnavailable
from seamline.inference._anthropic_citations import (
    cited_messages,
    extraction_messages,
    merged,
    needs_extraction,
    read_cited,
)
from seamline.inference._batch import item_error
from seamline.inference._sdk_errors import classify
from seamline.inference._types import ModelReply, ModelRequest, Usage

_PASSED_PARAMS = ("temperature", "top_p", "top_k", "stop_sequences", "metadata")
_TOOL = "record_output"
# The HTTP status each error type of the API stands for (a batch result carries no status).
_ERROR_STATUS = {"invalid_request_error": 400, "authentication_error": 401, "billing_error": 402,
                 "permission_error": 403, "not_found_error": 404, "request_too_large": 413,
                 "rate_limit_error": 429, "api_error": 500, "timeout_error": 504,
                 "gateway_timeout_error": 504, "overloaded_error": 529}


def _sdk_parameters(client: anthropic.Anthropic) -> frozenset[str]:
    global _SDK_PARAMETERS
    if _SDK_PARAMETERS is None:
        _SDK_PARAMETERS = frozenset(inspect.signature(client.messages.create).parameters)
    return _SDK_PARAMETERS


_SDK_PARAMETERS: frozenset[str] | None = None


def _without_sdk_spans() -> dict[str, Any]:
    """The option that turns off the SDK's own OpenTelemetry spans, where it has them (2.x,
    on by default): the gateway already makes each call's GenAI span (see
    seamline.telemetry), and two would count every call's tokens twice in Langfuse & co."""
    if "open_telemetry" in inspect.signature(anthropic.Anthropic).parameters:
        return {"open_telemetry": {"traces": False}}
    return {}


def _wire_body(arguments: dict[str, Any]) -> dict[str, Any]:
    """The create() arguments as the JSON body they become (extra_body merged in)."""
    body = {k: v for k, v in arguments.items() if k != "extra_body"}
    body.update(arguments.get("extra_body") or {})
    return body


class AnthropicModel:
    """A :class:`Provider` for Claude models; the key comes from ``ANTHROPIC_API_KEY``."""

    name = "anthropic"

    def __init__(self, model: str, *, api_key_env: str = "ANTHROPIC_API_KEY",
                 base_url: str | None = None, timeout: float = 60.0,
                 structured: Literal["tool", "json"] = "tool", cache_system: bool = True,
                 client: anthropic.Anthropic | None = None) -> None:
        self.model, self.structured, self.cache_system = model, structured, cache_system
        if client is None:
            key = os.environ.get(api_key_env)
            if not key:
                raise ConfigError(f"Set {api_key_env} to call Anthropic (the key is read from "
                                  "the environment only).")
            client = anthropic.Anthropic(api_key=key, base_url=base_url or os.environ.get(
                "ANTHROPIC_BASE_URL"), max_retries=0, timeout=timeout, **_without_sdk_spans())
        self.client = client

    def _arguments(self, request: ModelRequest) -> dict[str, Any]:
        args: dict[str, Any] = {
            "model": request.model or self.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content}
                         for m in request.messages if m.role != "system"],
        }
        if request.system:
            block: dict[str, Any] = {"type": "text", "text": request.system}
            if self.cache_system:
                block["cache_control"] = {"type": "ephemeral"}
            args["system"] = [block]
        passed = {k: v for k, v in request.params.items() if k in _PASSED_PARAMS}
        # SDK versions differ in which sampling parameters they name (2.x dropped
        # temperature/top_p/top_k from create()); send the unnamed ones in the body.
        extra = {k: passed.pop(k) for k in list(passed) if k not in _sdk_parameters(self.client)}
        args.update(passed)
        if extra:
            args["extra_body"] = extra
        if self.structured == "tool" and request.output_schema:
            args["tools"] = [{"name": _TOOL, "description": "Record the answer.",
                              "input_schema": request.output_schema}]
            args["tool_choice"] = {"type": "tool", "name": _TOOL}
        return args

    def _create(self, arguments: dict[str, Any]) -> Any:
        try:
            return self.client.messages.create(**arguments)
        # A 200 whose body is not JSON reaches us as a plain ValueError from the SDK.
        except (anthropic.AnthropicError, ValueError) as exc:
            raise classify(exc, anthropic, provider=self.name,
                           model=arguments.get("model") or self.model) from exc

    def complete(self, request: ModelRequest) -> ModelReply:
        if request.citations is not None and request.citations.documents:
            return self._complete_cited(request)
        reply = self._batch_reply(self._create(self._arguments(request)))
        if isinstance(reply, ProviderError):
            raise reply
        return reply

    def _complete_cited(self, request: ModelRequest) -> ModelReply:
        """The two steps of a cited answer (see the module docstring)."""
        creq = request.citations
        assert creq is not None
        arguments = self._arguments(request)
        arguments.pop("tools", None)
        arguments.pop("tool_choice", None)
        arguments["messages"] = cited_messages(request.messages, creq.documents)
        message = self._create(arguments)
        if message.stop_reason == "refusal":
            raise ContentRefused("Anthropic refused to answer this request",
                                 provider=self.name, model=message.model)
        answer = read_cited(message, creq)
        usage = _usage(message)
        output: dict[str, Any] = {}
        stop = message.stop_reason or "end_turn"
        if needs_extraction(request.output_schema, creq):
            follow = replace(request, citations=None,
                             messages=extraction_messages(request.messages, answer.text))
            second = self._batch_reply(self._create(self._arguments(follow)))
            if isinstance(second, ProviderError):
                raise second
            usage = _added(usage, second.usage)
            stop = second.stop_reason
            try:
                parsed = json.loads(second.text)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):  # the output checks will name what is wrong
                return ModelReply(text=second.text, usage=usage, model=message.model,
                                  stop_reason=stop, response_id=getattr(message, "id", None) or "",
                                  citations=tuple(answer.citations))
            output = parsed
        text = json.dumps(merged(output, creq, answer), ensure_ascii=False)
        return ModelReply(text=text, usage=usage, model=message.model, stop_reason=stop,
                          response_id=getattr(message, "id", None) or "",
                          citations=tuple(answer.citations))

    # -- batch mode (Message Batches API): half price, answered within 24 hours ------------

    def submit_batch(self, items: list[tuple[str, ModelRequest]]) -> str:
        """Send ``(custom_id, request)`` pairs as one Message Batch; return its id.

        Each item's params are exactly the arguments :meth:`complete` would send.
        """
        requests = [{"custom_id": custom_id, "params": _wire_body(self._arguments(request))}
                    for custom_id, request in items]
        try:
            batch = self.client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
        except (anthropic.AnthropicError, ValueError) as exc:
            raise classify(exc, anthropic, provider=self.name, model=self.model) from exc
        return batch.id

    def batch_status(self, batch_id: str) -> str:
        """Whether the batch has ended (every item has a result): "ended" or "in_progress"."""
        try:
            batch = self.client.messages.batches.retrieve(batch_id)
        except (anthropic.AnthropicError, ValueError) as exc:
            raise classify(exc, anthropic, provider=self.name, model=self.model) from exc
        return "ended" if batch.processing_status == "ended" else "in_progress"

    def batch_results(self, batch_id: str) -> dict[str, ModelReply | ProviderError]:
        """Each item's reply, or its classified error, by custom id."""
        out: dict[str, ModelReply | ProviderError] = {}
        try:
            for line in self.client.messages.batches.results(batch_id):
                result = line.result
                if result.type == "succeeded":
                    out[line.custom_id] = self._batch_reply(result.message)
                elif result.type == "errored":
                    body = result.error.model_dump()
                    status = _ERROR_STATUS.get(result.error.error.type, 500)
                    out[line.custom_id] = item_error(anthropic, status, body,
                                                     provider=self.name, model=self.model)
                else:  # canceled or expired: never attempted, worth sending again
                    out[line.custom_id] = ProviderUnavailable(
                        f"Anthropic batch {batch_id}: the request was {result.type}",
                        provider=self.name, model=self.model)
        except (anthropic.AnthropicError, ValueError) as exc:
            raise classify(exc, anthropic, provider=self.name, model=self.model) from exc
        return out

    def _batch_reply(self, message: Any) -> ModelReply | ProviderError:
        """A Message read as a reply, or the refusal it is (single calls and batches alike)."""
        if message.stop_reason == "refusal":
            return ContentRefused("Anthropic refused to answer this request",
                                  provider=self.name, model=message.model)
        parts: list[str] = []
        for block in message.content:
            if block.type == "tool_use":
                parts.append(json.dumps(block.input, ensure_ascii=False))
            elif block.type == "text":
                parts.append(block.text)
        return ModelReply(text="".join(parts), usage=_usage(message), model=message.model,
                          stop_reason=message.stop_reason or "end_turn",
                          response_id=getattr(message, "id", None) or "")


def _usage(message: Any) -> Usage:
    u = message.usage
    return Usage(input_tokens=u.input_tokens or 0, output_tokens=u.output_tokens or 0,
                 cache_write_tokens=getattr(u, "cache_creation_input_tokens", None) or 0,
                 cache_read_tokens=getattr(u, "cache_read_input_tokens", None) or 0)


def _added(a: Usage, b: Usage) -> Usage:
    return Usage(a.input_tokens + b.input_tokens, a.output_tokens + b.output_tokens,
                 a.cache_write_tokens + b.cache_write_tokens,
                 a.cache_read_tokens + b.cache_read_tokens)
