"""Layer 5, actions: what Seamline itself knows about how far an output can be trusted.

An approval policy must hold whatever the event says. A model that follows instructions
hidden in a customer's message will report whatever confidence the message asks for, so
the confidence a policy routes on is not the model's word alone: when the input carries
instruction-like text, or the grounding checks raised a doubt, the self-report is set
aside and the action waits for a person.

The detector (``find_instructions``, a list of hand-written phrasings) lives in layer 4,
``seamline.outputs``, whose grounding checks also use it: text that reads as instructions
never counts as support for a claim. It only ever sends more actions to a person, so it
errs towards recall; its phrases are audited with the plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from seamline.outputs import find_instructions

__all__ = ["Trust", "assess", "find_instructions"]


@dataclass(frozen=True, slots=True)
class Trust:
    """Signals Seamline computed itself, that a policy weighs before the model's word."""

    instructions: tuple[str, ...] = ()  # instruction-like phrases found in the input
    doubts: tuple[str, ...] = ()  # the grounding checks' flags (canaries, judge doubts)

    @property
    def self_report_trusted(self) -> bool:
        return not self.instructions and not self.doubts

    def why_not(self) -> str:
        """Why the model's own confidence is set aside ("" when it is not)."""
        if self.instructions:
            quoted = ", ".join(repr(p) for p in self.instructions[:3])
            return (f"the input contains instruction-like text ({quoted}); the model's own "
                    "confidence is not trusted")
        if self.doubts:
            return (f"the grounding checks raised a doubt ({self.doubts[0]}); the model's own "
                    "confidence is not trusted")
        return ""

    def as_dict(self) -> dict[str, Any]:
        return {"instructions": list(self.instructions), "doubts": list(self.doubts)}


def assess(data: Any, doubts: Iterable[str] = ()) -> Trust:
    """The trust signals for an output answering ``data`` (the redacted input)."""
    return Trust(find_instructions(data), tuple(doubts))
