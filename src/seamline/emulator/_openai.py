"""The OpenAI Chat Completions wire format (POST /v1/chat/completions): checks, replies, SSE.

Messages and shapes follow the public API; what the official SDK checks is what matters.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any

from seamline.emulator._backend import EmulatedRequest
from seamline.emulator._usage import PromptUsage, Segment, approx_tokens
from seamline.emulator._wire import WireError, invalid, new_id
from seamline.inference import Message

NAME = "openai"
PATH = "/v1/chat/completions"
REQUEST_ID_HEADER = "x-request-id"

_ROLES = ("system", "assistant", "user", "function", "tool", "developer")
# Reasoning models take max_completion_tokens only; max_tokens is a 400 there
# (https://platform.openai.com/docs/api-reference/chat/create: max_tokens "is not
# compatible with o-series models"; the error is the API's own, code unsupported_parameter).
_REASONING = re.compile(r"^(o1|o3|o4|gpt-5)([-.].*)?$")


def reasoning_model(model: str) -> bool:
    """Whether ``model`` names an OpenAI reasoning model (o1, o3, o4-mini, gpt-5 families)."""
    return bool(_REASONING.match(model.rsplit("/", 1)[-1]))

_FAULT_ERRORS = {
    "rate_limit": WireError(429, "requests", "Rate limit reached for requests (emulated). "
                            "Please try again later.", None, "rate_limit_exceeded"),
    "server_error": WireError(500, "server_error", "The server had an error while processing "
                              "your request. Sorry about that! (emulated)"),
    "unavailable": WireError(503, "server_error", "The server is temporarily unavailable "
                             "(emulated)."),
    # OpenAI has no 529: an overloaded engine answers 503.
    "overloaded": WireError(503, "server_error", "The engine is currently overloaded, please "
                            "try again later (emulated)."),
}


def error_body(err: WireError, request_id: str) -> dict[str, Any]:
    return {"error": {"message": err.message, "type": err.type, "param": err.param,
                      "code": err.code}}


def fault_error(kind: str) -> WireError:
    return _FAULT_ERRORS[kind]


def check_auth(headers: Mapping[str, str], api_keys: frozenset[str] | None) -> None:
    auth = headers.get("authorization", "")
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not key:
        raise WireError(401, "invalid_request_error",
                        "You didn't provide an API key. You need to provide your API key in an "
                        "Authorization header using Bearer auth "
                        "(i.e. Authorization: Bearer YOUR_KEY).")
    if api_keys is not None and key not in api_keys:
        raise WireError(401, "invalid_request_error", "Incorrect API key provided.", None,
                        "invalid_api_key")


def _content_text(content: Any, where: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise invalid(f"Invalid type for '{where}': expected one of a string or array of objects.",
                      where, "invalid_type")
    texts = []
    for i, part in enumerate(content):
        if not isinstance(part, dict) or "type" not in part:
            raise invalid(f"Missing required parameter: '{where}[{i}].type'.", f"{where}[{i}].type",
                          "missing_required_parameter")
        if part["type"] == "text":
            if not isinstance(part.get("text"), str):
                raise invalid(f"Missing required parameter: '{where}[{i}].text'.",
                              f"{where}[{i}].text", "missing_required_parameter")
            texts.append(part["text"])
    return "\n".join(texts)


def parse(body: Any) -> tuple[EmulatedRequest, list[Segment]]:
    """Validate a Chat Completions request the way the API does; return it and its segments."""
    if not isinstance(body, dict):
        raise invalid("We could not parse the JSON body of your request.")
    if not body.get("model"):
        raise invalid("you must provide a model parameter")
    if "messages" not in body:
        raise invalid("Missing required parameter: 'messages'.", "messages",
                      "missing_required_parameter")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise invalid("Invalid type for 'messages': expected an array.", "messages", "invalid_type")
    if not messages:
        raise invalid("Invalid 'messages': empty array. Expected an array with minimum length 1, "
                      "but got an empty array instead.", "messages", "empty_array")
    system, turns, segments = [], [], []
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict) or "role" not in msg:
            raise invalid(f"Missing required parameter: '{where}.role'.", f"{where}.role",
                          "missing_required_parameter")
        if msg["role"] not in _ROLES:
            raise invalid(f"Invalid value: '{msg['role']}'. Supported values are: 'system', "
                          "'assistant', 'user', 'function', 'tool', and 'developer'.",
                          f"{where}.role", "invalid_value")
        if "content" not in msg and msg["role"] != "assistant":
            raise invalid(f"Missing required parameter: '{where}.content'.", f"{where}.content",
                          "missing_required_parameter")
        text = _content_text(msg.get("content"), f"{where}.content")
        segments.append(Segment(msg, approx_tokens(text) + 4, breakpoint=True))
        if msg["role"] in ("system", "developer"):
            system.append(text)
        else:
            turns.append(Message("assistant" if msg["role"] == "assistant" else "user", text))

    if "max_tokens" in body and reasoning_model(str(body["model"])):
        raise invalid("Unsupported parameter: 'max_tokens' is not supported with this model. "
                      "Use 'max_completion_tokens' instead.", "max_tokens",
                      "unsupported_parameter")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                   or max_tokens < 1):
        name = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
        raise invalid(f"Invalid '{name}': integer below minimum value. Expected a value >= 1.",
                      name, "integer_below_min_value")
    json_mode, schema = _response_format(body.get("response_format"), messages)
    tool_name, tool_schema = _forced_tool(body.get("tool_choice"), body.get("tools"))
    if tool_name is not None:
        json_mode, schema = True, tool_schema
    n = body.get("n", 1)
    if n not in (1, None):
        raise invalid("The emulator answers one choice only (n=1).", "n", "unsupported_value")
    return EmulatedRequest(
        provider=NAME, model=body["model"], system="\n".join(system), messages=tuple(turns),
        max_tokens=max_tokens, json_mode=json_mode, json_schema=schema, tool_name=tool_name,
        stream=bool(body.get("stream")), body=body,
    ), segments


def _response_format(fmt: Any, messages: list[dict[str, Any]]) -> tuple[bool, dict | None]:
    if fmt is None:
        return False, None
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "text":
        return False, None
    if kind == "json_object":
        said_json = any("json" in json.dumps(m.get("content", "")).lower() for m in messages)
        if not said_json:
            raise invalid("'messages' must contain the word 'json' in some form, to use "
                          "'response_format' of type 'json_object'.", "messages")
        return True, None
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not spec.get("name"):
            raise invalid("Missing required parameter: 'response_format.json_schema.name'.",
                          "response_format.json_schema.name", "missing_required_parameter")
        return True, spec.get("schema") or {}
    raise invalid(f"Invalid value: '{kind}'. Supported values are: 'json_object', "
                  "'json_schema', and 'text'.", "response_format.type", "invalid_value")


def _forced_tool(choice: Any, tools: Any) -> tuple[str | None, dict | None]:
    """The function a reply must call: the one named by tool_choice, or the only one if required."""
    tools = tools or []
    if not isinstance(tools, list):
        raise invalid("Invalid type for 'tools': expected an array.", "tools", "invalid_type")
    by_name = {}
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or not fn.get("name"):
            raise invalid(f"Missing required parameter: 'tools[{i}].function.name'.",
                          f"tools[{i}].function.name", "missing_required_parameter")
        by_name[fn["name"]] = fn.get("parameters") or {}
    if choice in (None, "none", "auto"):
        return None, None
    if choice == "required":
        if not by_name:
            raise invalid("Invalid value for 'tool_choice': 'tool_choice' is only allowed when "
                          "'tools' are specified.", "tool_choice")
        name = next(iter(by_name))
        return name, by_name[name]
    name = ((choice or {}).get("function") or {}).get("name") if isinstance(choice, dict) else None
    if name not in by_name:
        raise invalid(f"Invalid value for 'tool_choice': no function named {name!r} is specified "
                      "in the 'tools' parameter.", "tool_choice", "invalid_value")
    return name, by_name[name]


def reply(req: EmulatedRequest, text: str, data: Any, stop: str, prompt: PromptUsage,
          output_tokens: int) -> dict[str, Any]:
    """The ChatCompletion object; ``data`` becomes the function arguments when a tool was forced."""
    prompt_tokens = prompt.input_tokens + prompt.cache_read_tokens
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    finish = "length" if stop == "max_tokens" else "stop"
    if req.tool_name and stop != "max_tokens":
        arguments = json.dumps(data if isinstance(data, dict) else {"text": text})
        message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [
            {"id": new_id("call_"), "type": "function",
             "function": {"name": req.tool_name, "arguments": arguments}}]}
        finish = "tool_calls"
    return {
        "id": new_id("chatcmpl-"), "object": "chat.completion", "created": int(time.time()),
        "model": req.model, "system_fingerprint": "fp_seamline_emulator",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": output_tokens,
                  "total_tokens": prompt_tokens + output_tokens,
                  "prompt_tokens_details": {"cached_tokens": prompt.cache_read_tokens},
                  "completion_tokens_details": {"reasoning_tokens": 0}},
    }


def _data(chunk: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode()


def stream_events(completion: dict[str, Any], include_usage: bool = False,
                  chunk: int = 16) -> Iterator[bytes]:
    """The SSE chunks of a streamed completion, ending with ``data: [DONE]``."""
    base = {k: completion[k] for k in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"
    choice = completion["choices"][0]
    calls = choice["message"].get("tool_calls")

    def one(delta: dict[str, Any], finish: str | None = None) -> bytes:
        c = dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None,
                                 "finish_reason": finish}])
        if include_usage:
            c["usage"] = None
        return _data(c)

    if calls:
        fn = calls[0]["function"]
        yield one({"role": "assistant", "content": None, "refusal": None, "tool_calls": [
            {"index": 0, "id": calls[0]["id"], "type": "function",
             "function": {"name": fn["name"], "arguments": ""}}]})
        for i in range(0, len(fn["arguments"]), chunk):
            yield one({"tool_calls": [{"index": 0, "function": {
                "arguments": fn["arguments"][i:i + chunk]}}]})
    else:
        text = choice["message"]["content"]
        yield one({"role": "assistant", "content": "", "refusal": None})
        for i in range(0, len(text), chunk):
            yield one({"content": text[i:i + chunk]})
    yield one({}, choice["finish_reason"])
    if include_usage:
        yield _data(dict(base, choices=[], usage=completion["usage"]))
    yield b"data: [DONE]\n\n"


def malformed_stream_event() -> bytes:
    return b'data: {"id": "chatcmpl-broken", "object": "chat.completion.chunk", "choices": [\n\n'
