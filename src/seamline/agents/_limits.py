"""Agents: the hard limits of one run (steps, tokens, dollars) and loop detection.

Counting and limits live in one small place, checked before every model call and after
it, so a run that goes over is stopped and recorded instead of left looping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from seamline.inference import FREE, PriceTable, Usage, cost, default_table

# Stop reasons a run can end with; "completed" is the only one that is not a limit or a failure.
COMPLETED, MAX_STEPS, TOKEN_BUDGET, COST_BUDGET, LOOP = (
    "completed", "max_steps", "token_budget", "cost_budget", "loop")


@dataclass(frozen=True, slots=True)
class RunLimits:
    """Per run: model calls, tokens (all kinds), dollars, and how many identical calls make a loop."""

    max_steps: int = 12
    max_tokens: int = 50_000
    max_cost_usd: float = 0.50
    loop_repeats: int = 3  # the same tool with the same arguments this many times is a loop
    max_output_tokens: int = 1024  # per model call
    max_recoveries: int = 3  # a run whose process died more often than this fails ("crashed")


def price_call(model: str, usage: Usage, table: PriceTable | None = None) -> float:
    """Dollars one call cost at the shipped price table; an unlisted model counts as free
    (the scripted model, a local emulator model) rather than failing a run mid-way."""
    price = (table or default_table()).lookup(model) or FREE
    return cost(usage, price)


def call_key(name: str, arguments: dict[str, Any]) -> str:
    """A canonical key for (tool, arguments): key order and spacing do not hide a loop."""
    return name + ":" + json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(slots=True)
class RunUsage:
    """What one run has used so far; persisted with the run so a resumed run keeps counting."""

    steps: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)

    def add_model_call(self, usage: Usage, cost_usd: float) -> None:
        self.steps += 1
        self.tokens += usage.total_tokens
        self.cost_usd += cost_usd

    def count_call(self, name: str, arguments: dict[str, Any]) -> int:
        """Count one tool call; returns how many times this exact call has now been made."""
        key = call_key(name, arguments)
        self.calls[key] = self.calls.get(key, 0) + 1
        return self.calls[key]

    def over(self, limits: RunLimits) -> str | None:
        """The limit this usage has reached (before a call) or exceeded, or None."""
        if self.tokens >= limits.max_tokens:
            return TOKEN_BUDGET
        if self.cost_usd >= limits.max_cost_usd:
            return COST_BUDGET
        if self.steps >= limits.max_steps:
            return MAX_STEPS
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "tokens": self.tokens, "cost_usd": self.cost_usd,
                "calls": dict(self.calls)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunUsage:
        return cls(int(d.get("steps", 0)), int(d.get("tokens", 0)), float(d.get("cost_usd", 0.0)),
                   dict(d.get("calls", {})))
