"""Layer 3, inference: Anthropic's Messages API through the official ``anthropic`` SDK.

The SDK's own retries are off (``max_retries=0``): Seamline's retry policy decides.
The system prompt is marked for prompt caching; structured output asks for a tool call
whose input schema is the integration's output schema, or for plain JSON text.
"""

from __future__ import annotations

import json
import os
from typing import Any, Literal

import anthropic

from seamline.errors import ConfigError, ContentRefused
from seamline.inference._sdk_errors import classify
from seamline.inference._types import ModelReply, ModelRequest, Usage

_PASSED_PARAMS = ("temperature", "top_p", "top_k", "stop_sequences", "metadata")
_TOOL = "record_output"


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
                "ANTHROPIC_BASE_URL"), max_retries=0, timeout=timeout)
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
        args.update({k: v for k, v in request.params.items() if k in _PASSED_PARAMS})
        if self.structured == "tool" and request.output_schema:
            args["tools"] = [{"name": _TOOL, "description": "Record the answer.",
                              "input_schema": request.output_schema}]
            args["tool_choice"] = {"type": "tool", "name": _TOOL}
        return args

    def complete(self, request: ModelRequest) -> ModelReply:
        try:
            message = self.client.messages.create(**self._arguments(request))
        # A 200 whose body is not JSON reaches us as a plain ValueError from the SDK.
        except (anthropic.AnthropicError, ValueError) as exc:
            raise classify(exc, anthropic, provider=self.name, model=request.model or self.model) from exc
        if message.stop_reason == "refusal":
            raise ContentRefused("Anthropic refused to answer this request",
                                 provider=self.name, model=message.model)
        parts: list[str] = []
        for block in message.content:
            if block.type == "tool_use":
                parts.append(json.dumps(block.input, ensure_ascii=False))
            elif block.type == "text":
                parts.append(block.text)
        u = message.usage
        usage = Usage(input_tokens=u.input_tokens or 0, output_tokens=u.output_tokens or 0,
                      cache_write_tokens=getattr(u, "cache_creation_input_tokens", None) or 0,
                      cache_read_tokens=getattr(u, "cache_read_input_tokens", None) or 0)
        return ModelReply(text="".join(parts), usage=usage, model=message.model,
                          stop_reason=message.stop_reason or "end_turn")
