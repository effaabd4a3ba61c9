"""Emulated tool use: a backend that answers with tool calls (for agents), in either wire format.

A backend returns :class:`ToolUseReply` instead of text; the server turns it into an
Anthropic ``tool_use`` message (stop_reason ``tool_use``) or an OpenAI ``tool_calls``
completion (finish_reason ``tool_calls``), with usage counted like any reply.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from seamline.emulator._backend import EmulatedRequest
from seamline.emulator._usage import PromptUsage, approx_tokens
from seamline.emulator._wire import new_id


@dataclass(frozen=True, slots=True)
class ToolUseReply:
    """The model calls these tools, ``(name, arguments)`` each, optionally after some text."""

    calls: tuple[tuple[str, dict[str, Any]], ...]
    text: str = ""


def tool_use(*calls: tuple[str, dict[str, Any]], text: str = "") -> ToolUseReply:
    """``tool_use(("lookup_customer", {"customer_id": 7}))`` — a script step calling tools."""
    return ToolUseReply(tuple(calls), text)


def reply(provider: str, req: EmulatedRequest, out: ToolUseReply,
          prompt: PromptUsage) -> dict[str, Any]:
    """The reply object of ``provider`` ("anthropic" or "openai") carrying the tool calls."""
    output_tokens = max(1, approx_tokens(out.text + json.dumps(out.calls)))
    if provider == "anthropic":
        content: list[dict[str, Any]] = [{"type": "text", "text": out.text}] if out.text else []
        content += [{"type": "tool_use", "id": new_id("toolu_"), "name": name, "input": args}
                    for name, args in out.calls]
        return {
            "id": new_id("msg_"), "type": "message", "role": "assistant", "model": req.model,
            "content": content, "stop_reason": "tool_use", "stop_sequence": None,
            "usage": {"input_tokens": prompt.input_tokens, "output_tokens": output_tokens,
                      "cache_creation_input_tokens": prompt.cache_write_tokens,
                      "cache_read_input_tokens": prompt.cache_read_tokens},
        }
    prompt_tokens = prompt.input_tokens + prompt.cache_read_tokens
    message = {"role": "assistant", "content": out.text or None, "refusal": None, "tool_calls": [
        {"id": new_id("call_"), "type": "function",
         "function": {"name": name, "arguments": json.dumps(args)}} for name, args in out.calls]}
    return {
        "id": new_id("chatcmpl-"), "object": "chat.completion", "created": int(time.time()),
        "model": req.model, "system_fingerprint": "fp_seamline_emulator",
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": output_tokens,
                  "total_tokens": prompt_tokens + output_tokens,
                  "prompt_tokens_details": {"cached_tokens": prompt.cache_read_tokens},
                  "completion_tokens_details": {"reasoning_tokens": 0}},
    }
