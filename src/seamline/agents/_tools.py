"""Agents: tools are typed functions (Pydantic arguments and results) kept in a registry.

The registry is what the model is shown (as Anthropic or OpenAI tool definitions) and
what the run loop calls; a tool's policy says whether it runs, waits for a person, or never runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from seamline.errors import ConfigError

Policy = Literal["auto", "approval", "forbidden"]
POLICIES: tuple[str, ...] = ("auto", "approval", "forbidden")


class ToolArgumentsInvalid(ValueError):
    """The model's arguments do not fit the tool's argument model; the text goes back to the model."""


@dataclass(frozen=True, slots=True)
class Tool:
    """One typed function the model may call.

    ``fn`` takes an instance of ``args`` and returns an instance of ``result`` (or a dict
    that validates as one); both models give the JSON the model and the audit trail see.
    """

    name: str
    description: str
    args: type[BaseModel]
    result: type[BaseModel]
    fn: Callable[[Any], Any]
    policy: Policy = "auto"
    # Acts on the world (sends, writes, charges): after a crash mid-call it is not run again
    # blindly but held for a person. Approval tools are always treated so; a read-only
    # ``auto`` tool (the default) is simply run again.
    side_effects: bool = False

    @property
    def acts(self) -> bool:
        """Whether a crash during a call of this tool leaves its outcome in doubt."""
        return self.policy == "approval" or self.side_effects

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ConfigError(f"Tool {self.name!r} has policy {self.policy!r}; "
                              f"it must be one of {', '.join(POLICIES)}.")

    def input_schema(self) -> dict[str, Any]:
        return self.args.model_json_schema()

    def anthropic_definition(self) -> dict[str, Any]:
        """The Anthropic Messages ``tools`` entry."""
        return {"name": self.name, "description": self.description,
                "input_schema": self.input_schema()}

    def openai_definition(self) -> dict[str, Any]:
        """The OpenAI Chat Completions ``tools`` entry."""
        return {"type": "function", "function": {
            "name": self.name, "description": self.description, "parameters": self.input_schema()}}

    def validate_args(self, raw: dict[str, Any]) -> BaseModel:
        """The typed arguments, or ToolArgumentsInvalid with a sentence the model can act on."""
        try:
            return self.args.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(arguments)'}: {e['msg']}"
                                 for e in exc.errors())
            raise ToolArgumentsInvalid(
                f"The arguments for {self.name} are invalid: {problems}.") from exc

    def invoke(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Validate, call, and validate the result; the result as plain JSON."""
        out = self.fn(self.validate_args(raw))
        model = out if isinstance(out, self.result) else self.result.model_validate(out)
        return json.loads(model.model_dump_json())


class ToolRegistry:
    """The tools of one agent by name: a dict with checks, not a framework."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for t in tools:
            self.add(t)

    def add(self, tool: Tool) -> Tool:
        if tool.name in self._tools:
            raise ConfigError(f"A tool named {tool.name!r} is already registered.")
        self._tools[tool.name] = tool
        return tool

    def tool(self, *, name: str | None = None, description: str = "", args: type[BaseModel],
             result: type[BaseModel], policy: Policy = "auto", side_effects: bool = False
             ) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
        """Decorator: register a function as a tool (name and description from the function)."""
        def wrap(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
            self.add(Tool(name or fn.__name__, description or (fn.__doc__ or "").strip(),
                          args, result, fn, policy, side_effects))
            return fn
        return wrap

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def offered(self) -> list[Tool]:
        """The tools the model is shown: forbidden ones are kept out of sight as well as refused."""
        return [t for t in self._tools.values() if t.policy != "forbidden"]
