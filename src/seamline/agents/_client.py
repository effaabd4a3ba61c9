"""Agents: the model seam for tool use (assistant tool calls, tool results), richer than a completion.

One small protocol, ``AgentModel.chat``, with the Anthropic Messages and OpenAI Chat
Completions tool formats behind it (official SDKs, their retries off: the run's limits
decide what happens next) and a scripted model for tests and keyless examples.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from seamline.agents._tools import Tool
from seamline.errors import ConfigError
from seamline.inference import Usage, classify


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the model asked for; ``malformed`` holds the raw text when arguments were not JSON."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    malformed: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments,
                "malformed": self.malformed}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolCall:
        return cls(d["id"], d["name"], d.get("arguments") or {}, d.get("malformed", ""))


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn of the conversation: a user's text, the assistant's text and calls, or a tool's result."""

    role: str  # "user" | "assistant" | "tool"
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""
    is_error: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "text": self.text,
                "tool_calls": [c.to_dict() for c in self.tool_calls],
                "tool_call_id": self.tool_call_id, "is_error": self.is_error}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Turn:
        return cls(d["role"], d.get("text", ""),
                   tuple(ToolCall.from_dict(c) for c in d.get("tool_calls", [])),
                   d.get("tool_call_id", ""), bool(d.get("is_error")))


@dataclass(frozen=True, slots=True)
class AgentReply:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    stop_reason: str = "end"


class AgentModel(Protocol):
    """Anything that answers a conversation with text and/or tool calls.

    Raise :class:`seamline.errors.InferenceError` (or a subclass) on failure.
    """

    name: str
    model: str

    def chat(self, system: str, turns: Sequence[Turn], tools: Sequence[Tool],
             max_tokens: int) -> AgentReply: ...


# ---- Anthropic Messages -------------------------------------------------------------------

def anthropic_messages(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    """Turns as Messages API messages: tool results of one step share one user message."""
    out: list[dict[str, Any]] = []
    for t in turns:
        if t.role == "tool":
            block = {"type": "tool_result", "tool_use_id": t.tool_call_id,
                     "content": t.text or "(empty)", "is_error": t.is_error}
            if out and out[-1]["role"] == "user" and isinstance(out[-1]["content"], list):
                out[-1]["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
        elif t.role == "assistant":
            blocks: list[dict[str, Any]] = [{"type": "text", "text": t.text}] if t.text else []
            blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                       for c in t.tool_calls]
            out.append({"role": "assistant", "content": blocks or [{"type": "text", "text": "…"}]})
        else:
            out.append({"role": "user", "content": t.text})
    return out


class AnthropicAgentModel:
    """Claude through the official ``anthropic`` SDK, tool use in the Messages format."""

    name = "anthropic"

    def __init__(self, model: str, *, client: Any = None, api_key: str | None = None,
                 base_url: str | None = None, timeout: float = 60.0) -> None:
        import anthropic
        self._sdk = anthropic
        self.model = model
        self.client = client or anthropic.Anthropic(api_key=api_key, base_url=base_url,
                                                    max_retries=0, timeout=timeout)

    def chat(self, system: str, turns: Sequence[Turn], tools: Sequence[Tool],
             max_tokens: int) -> AgentReply:
        kwargs: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens,
                                  "messages": anthropic_messages(turns)}
        if system:
            kwargs["system"] = system
        if tools:
            kwargs["tools"] = [t.anthropic_definition() for t in tools]
        try:
            msg = self.client.messages.create(**kwargs)
        except self._sdk.AnthropicError as exc:
            raise classify(exc, self._sdk, provider=self.name, model=self.model) from exc
        texts = [b.text for b in msg.content if b.type == "text"]
        calls = tuple(ToolCall(b.id, b.name, dict(b.input or {})) for b in msg.content
                      if b.type == "tool_use")
        u = msg.usage
        usage = Usage(u.input_tokens, u.output_tokens,
                      getattr(u, "cache_creation_input_tokens", 0) or 0,
                      getattr(u, "cache_read_input_tokens", 0) or 0)
        return AgentReply("\n".join(texts), calls, usage, msg.model, msg.stop_reason or "end")


# ---- OpenAI Chat Completions ---------------------------------------------------------------

def openai_messages(system: str, turns: Sequence[Turn]) -> list[dict[str, Any]]:
    """Turns as Chat Completions messages: assistant ``tool_calls`` and ``role: tool`` results."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for t in turns:
        if t.role == "tool":
            out.append({"role": "tool", "tool_call_id": t.tool_call_id, "content": t.text})
        elif t.role == "assistant":
            msg: dict[str, Any] = {"role": "assistant", "content": t.text or None}
            if t.tool_calls:
                msg["tool_calls"] = [
                    {"id": c.id, "type": "function", "function": {
                        "name": c.name, "arguments": c.malformed or json.dumps(c.arguments)}}
                    for c in t.tool_calls]
            out.append(msg)
        else:
            out.append({"role": "user", "content": t.text})
    return out


def _parse_arguments(raw: str) -> tuple[dict[str, Any], str]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}, raw
    return (value, "") if isinstance(value, dict) else ({}, raw)


class OpenAIAgentModel:
    """GPT models through the official ``openai`` SDK, function tools in Chat Completions."""

    name = "openai"

    def __init__(self, model: str, *, client: Any = None, api_key: str | None = None,
                 base_url: str | None = None, timeout: float = 60.0) -> None:
        import openai
        self._sdk = openai
        self.model = model
        self.client = client or openai.OpenAI(api_key=api_key, base_url=base_url,
                                              max_retries=0, timeout=timeout)

    def chat(self, system: str, turns: Sequence[Turn], tools: Sequence[Tool],
             max_tokens: int) -> AgentReply:
        kwargs: dict[str, Any] = {"model": self.model, "max_completion_tokens": max_tokens,
                                  "messages": openai_messages(system, turns)}
        if tools:
            kwargs["tools"] = [t.openai_definition() for t in tools]
        try:
            done = self.client.chat.completions.create(**kwargs)
        except self._sdk.OpenAIError as exc:
            raise classify(exc, self._sdk, provider=self.name, model=self.model) from exc
        choice = done.choices[0]
        calls = []
        for c in choice.message.tool_calls or []:
            args, malformed = _parse_arguments(c.function.arguments)
            calls.append(ToolCall(c.id, c.function.name, args, malformed))
        u = done.usage
        cached = 0
        if u is not None and u.prompt_tokens_details is not None:
            cached = u.prompt_tokens_details.cached_tokens or 0
        usage = Usage((u.prompt_tokens - cached) if u else 0, u.completion_tokens if u else 0,
                      0, cached)
        return AgentReply(choice.message.content or "", tuple(calls), usage, done.model,
                          choice.finish_reason or "end")


# ---- Scripted -------------------------------------------------------------------------------

ScriptStep = AgentReply | ToolCall | list[ToolCall] | str
Policy = Callable[[Sequence[Turn]], ScriptStep]


class ScriptedAgentModel:
    """A deterministic model for tests and keyless examples: a policy function of the turns.

    The policy returns text (the final answer), a :class:`ToolCall` or a list of them, or a
    full :class:`AgentReply`. A list of steps is played in order, the last one repeated.
    Usage is counted as ~4 characters a token, so token and cost limits can be exercised.
    """

    name = "scripted"

    def __init__(self, policy: Policy | Sequence[ScriptStep], *, model: str = "scripted") -> None:
        if not callable(policy):
            steps = list(policy)
            if not steps:
                raise ConfigError("A scripted agent model needs at least one step.")
            policy = self._from_steps(steps)
        self.policy: Policy = policy
        self.model = model

    @staticmethod
    def _from_steps(steps: list[ScriptStep]) -> Policy:
        def play(turns: Sequence[Turn]) -> ScriptStep:
            done = sum(1 for t in turns if t.role == "assistant")
            return steps[min(done, len(steps) - 1)]
        return play

    def chat(self, system: str, turns: Sequence[Turn], tools: Sequence[Tool],
             max_tokens: int) -> AgentReply:
        step = self.policy(turns)
        if isinstance(step, AgentReply):
            return step
        calls: tuple[ToolCall, ...]
        if isinstance(step, str):
            text, calls = step, ()
        else:
            raw = [step] if isinstance(step, ToolCall) else step
            # ids from the turn count, so a resumed run (a new model object) never reuses one
            n = sum(1 for t in turns if t.role == "assistant") + 1
            calls = tuple(ToolCall(c.id or f"call_{n}_{i}", c.name, c.arguments, c.malformed)
                          for i, c in enumerate(raw))
            text = ""
        prompt = len(system) + sum(len(t.text) + len(json.dumps([c.to_dict() for c in t.tool_calls]))
                                   for t in turns)
        output = len(text) + sum(len(json.dumps(c.arguments)) for c in calls)
        return AgentReply(text, calls, Usage(max(1, prompt // 4), max(1, output // 4)), self.model,
                          "tool_use" if calls else "end")
