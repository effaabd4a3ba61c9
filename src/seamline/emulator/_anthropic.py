"""The Anthropic Messages wire format (POST /v1/messages): validation, replies, errors, SSE events.

Messages and shapes follow the public API; what the official SDK checks is what matters.
Document blocks and citations (in and out) are ``_citations``'.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from seamline.emulator import _citations
from seamline.emulator._backend import EmulatedRequest
from seamline.emulator._usage import PromptUsage, Segment, approx_tokens
from seamline.emulator._wire import WireError, invalid, new_id
from seamline.inference import Message

NAME = "anthropic"
PATH = "/v1/messages"
REQUEST_ID_HEADER = "request-id"

_FIELDS = {
    "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream",
    "temperature", "top_k", "top_p", "tools", "tool_choice", "thinking", "service_tier",
    "container", "cache_control", "output_config", "inference_geo", "speed", "diagnostics",
    "mcp_servers", "context_management",
}
_BLOCK_TYPES = {"text", "image", "document", "tool_use", "tool_result", "thinking",
                "redacted_thinking", "search_result"}
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                500: "api_error", 503: "api_error", 529: "overloaded_error"}
_FAULT_ERRORS = {
    "rate_limit": (429, "Number of requests has exceeded your rate limit (emulated)."),
    "server_error": (500, "Internal server error (emulated)."),
    "unavailable": (503, "Service unavailable (emulated)."),
    "overloaded": (529, "Overloaded (emulated)."),
}


def error_body(err: WireError, request_id: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": err.type, "message": err.message},
            "request_id": request_id}


def fault_error(kind: str) -> WireError:
    status, message = _FAULT_ERRORS[kind]
    return WireError(status, _ERROR_TYPES[status], message)


def check_auth(headers: Mapping[str, str], api_keys: frozenset[str] | None) -> None:
    # SDKs up to 0.x send x-api-key; newer ones send the same key as a Bearer token.
    auth = headers.get("authorization", "")
    bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    key = headers.get("x-api-key") or bearer
    if not key:
        raise WireError(401, "authentication_error", "x-api-key header is required")
    if api_keys is not None and key not in api_keys:
        raise WireError(401, "authentication_error", "invalid x-api-key")
    if not headers.get("anthropic-version"):
        raise invalid("anthropic-version: header is required")


def _cache_control(value: Any, where: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, dict) or value.get("type") != "ephemeral":
        raise invalid(f"{where}.cache_control.type: Input should be 'ephemeral'")
    if value.get("ttl", "5m") not in ("5m", "1h"):
        raise invalid(f"{where}.cache_control.ttl: Input should be '5m' or '1h'")
    return True


def _block_text(block: dict[str, Any]) -> str:
    if block.get("type") == "text":
        return block.get("text", "")
    if block.get("type") == "tool_result":
        content = block.get("content", "")
        if isinstance(content, list):
            return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
        return str(content)
    if block.get("type") == "tool_use":
        return json.dumps(block.get("input", {}))
    if block.get("type") == "document":
        return _citations.document_text(block)
    return ""


def _blocks(content: Any, where: str, segments: list[Segment]) -> str:
    """Validate a string or a list of content blocks; add them to ``segments``; return the text."""
    if isinstance(content, str):
        segments.append(Segment(content, approx_tokens(content)))
        return content
    if not isinstance(content, list):
        raise invalid(f"{where}: Input should be a valid string or a list of content blocks")
    texts = []
    for i, block in enumerate(content):
        at = f"{where}.{i}"
        if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
            tag = block.get("type") if isinstance(block, dict) else None
            raise invalid(f"{at}.type: Input tag {tag!r} found using 'type' does not match any "
                          "of the expected tags: "
                          + ", ".join(f"'{t}'" for t in sorted(_BLOCK_TYPES)))
        if block["type"] == "text":
            if "text" not in block:
                raise invalid(f"{at}.text: Field required")
            if not isinstance(block["text"], str):
                raise invalid(f"{at}.text: Input should be a valid string")
            if not block["text"]:
                raise invalid(f"{where}: text content blocks must be non-empty")
        elif block["type"] == "document":
            _citations.check_document(block, at)
        text = _block_text(block)
        texts.append(text)
        data = {k: v for k, v in block.items() if k != "cache_control"}
        segments.append(Segment(data, approx_tokens(text) or 1,
                                _cache_control(block.get("cache_control"), at)))
    return "\n".join(t for t in texts if t)


def parse(body: Any) -> tuple[EmulatedRequest, list[Segment]]:
    """Validate a Messages request the way the API does; return it and its cacheable segments."""
    if not isinstance(body, dict):
        raise invalid("Input should be a valid dictionary")
    for name in sorted(body):
        if name not in _FIELDS:
            raise invalid(f"{name}: Extra inputs are not permitted")
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            raise invalid(f"{name}: Field required")
    model, max_tokens, messages = body["model"], body["max_tokens"], body["messages"]
    if not isinstance(model, str) or not model:
        raise invalid("model: Input should be a valid string")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise invalid("max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        raise invalid("max_tokens: Input should be greater than or equal to 1")
    if not isinstance(messages, list):
        raise invalid("messages: Input should be a valid list")
    if not messages:
        raise invalid("messages: at least one message is required")
    temperature = body.get("temperature")
    if temperature is not None and not (isinstance(temperature, (int, float))
                                        and 0 <= temperature <= 1):
        raise invalid("temperature: Input should be less than or equal to 1")

    segments: list[Segment] = []
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise invalid("tools: Input should be a valid list")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not tool.get("name"):
            raise invalid(f"tools.{i}.name: Field required")
        if "input_schema" not in tool and "type" not in tool:
            raise invalid(f"tools.{i}.custom.input_schema: Field required")
        data = {k: v for k, v in tool.items() if k != "cache_control"}
        segments.append(Segment(data, approx_tokens(json.dumps(data)),
                                _cache_control(tool.get("cache_control"), f"tools.{i}")))

    system = body.get("system", "")
    if system is None:
        system = ""
    if isinstance(system, list):
        for i, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text":
                raise invalid(f"system.{i}.type: Input should be 'text'")
    elif not isinstance(system, str):
        raise invalid("system: Input should be a valid string or a list of text blocks")
    system_text = _blocks(system, "system", segments) if system else ""

    turns = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise invalid(f"messages.{i}: Input should be a valid dictionary")
        if "role" not in msg:
            raise invalid(f"messages.{i}.role: Field required")
        if msg["role"] not in ("user", "assistant"):
            raise invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if "content" not in msg:
            raise invalid(f"messages.{i}.content: Field required")
        text = _blocks(msg["content"], f"messages.{i}.content", segments)
        turns.append(Message(msg["role"], text))
    _citations.check_request(body)

    if _cache_control(body.get("cache_control"), "") and segments:
        last = segments[-1]
        segments[-1] = Segment(last.data, last.tokens, True)
    marked = sum(s.breakpoint for s in segments)
    if marked > 4:
        raise invalid(f"A maximum of 4 blocks with cache_control may be provided. Found {marked}.")

    tool_name, schema = _forced_tool(body.get("tool_choice"), tools)
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    if fmt is not None:
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or "schema" not in fmt:
            raise invalid("output_config.format: expected {'type': 'json_schema', 'schema': {...}}")
        schema = fmt["schema"]
    return EmulatedRequest(
        provider=NAME, model=model, system=system_text, messages=tuple(turns),
        max_tokens=max_tokens, json_mode=schema is not None, json_schema=schema,
        tool_name=tool_name, stream=bool(body.get("stream")), body=body,
    ), segments


def _forced_tool(choice: Any, tools: list[dict[str, Any]]) -> tuple[str | None, dict | None]:
    if not choice:
        return None, None
    if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
        raise invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    by_name = {t["name"]: t for t in tools}
    if choice["type"] == "tool":
        name = choice.get("name")
        if name not in by_name:
            raise invalid(f"tool_choice: Tool '{name}' not found in tools")
        return name, by_name[name].get("input_schema")
    if choice["type"] == "any":
        if not tools:
            raise invalid("tool_choice: 'any' requires at least one tool")
        return tools[0]["name"], tools[0].get("input_schema")
    return None, None


def reply(req: EmulatedRequest, text: str, data: Any, stop: str, prompt: PromptUsage,
          output_tokens: int) -> dict[str, Any]:
    """The Message object; ``data`` is the tool input when a tool was forced."""
    if req.tool_name and stop != "max_tokens":
        content = [{"type": "tool_use", "id": new_id("toolu_"), "name": req.tool_name,
                    "input": data if isinstance(data, dict) else {"text": text}}]
        stop_reason = "tool_use"
    else:
        content = [{"type": "text", "text": text}]
        stop_reason = "max_tokens" if stop == "max_tokens" else "end_turn"
    return {
        "id": new_id("msg_"), "type": "message", "role": "assistant", "model": req.model,
        "content": content, "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": prompt.input_tokens, "output_tokens": output_tokens,
                  "cache_creation_input_tokens": prompt.cache_write_tokens,
                  "cache_read_input_tokens": prompt.cache_read_tokens},
    }


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def stream_events(message: dict[str, Any], chunk: int = 16) -> Iterator[bytes]:
    """The SSE events of a streamed reply, from message_start to message_stop."""
    usage = message["usage"]
    start = dict(message, content=[], stop_reason=None, usage=dict(usage, output_tokens=1))
    yield _event("message_start", {"type": "message_start", "message": start})
    yield _event("ping", {"type": "ping"})
    for index, block in enumerate(message["content"]):
        if block["type"] == "tool_use":
            head, text = dict(block, input={}), json.dumps(block["input"])
            kind, key = "input_json_delta", "partial_json"
        else:
            head, text = {"type": "text", "text": ""}, block["text"]
            kind, key = "text_delta", "text"
            if "citations" in block:
                head["citations"] = []
        yield _event("content_block_start", {"type": "content_block_start", "index": index,
                                             "content_block": head})
        for citation in block.get("citations") or ():  # streamed ahead of the text they back
            yield _event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                 "delta": {"type": "citations_delta",
                                                           "citation": citation}})
        for i in range(0, len(text), chunk):
            yield _event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                 "delta": {"type": kind, key: text[i:i + chunk]}})
        yield _event("content_block_stop", {"type": "content_block_stop", "index": index})
    yield _event("message_delta", {"type": "message_delta",
                                   "delta": {"stop_reason": message["stop_reason"],
                                             "stop_sequence": None},
                                   "usage": {"output_tokens": usage["output_tokens"]}})
    yield _event("message_stop", {"type": "message_stop"})


def malformed_stream_event() -> bytes:
    return (b'event: content_block_delta\n'
            b'data: {"type": "content_block_delta", "index": 0, "delta": {\n\n')
