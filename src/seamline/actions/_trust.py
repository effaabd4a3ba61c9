"""Layer 5, actions: what Seamline itself knows about how far an output can be trusted.

An approval policy must hold whatever the event says. A model that follows instructions
hidden in a customer's message will report whatever confidence the message asks for, so
the confidence a policy routes on is not the model's word alone: when the input carries
instruction-like text, or the grounding checks raised a doubt, the self-report is set
aside and the action waits for a person.

The detector is a list of phrasings (written by hand: no library covers prompt-injection
phrasing, and a classifier would need weights we cannot ship). It only ever sends more
actions to a person, so it errs towards recall; its phrases are audited with the plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# (literals, pattern): a pattern runs only on text holding one of its literals (lower
# case), which keeps the scan of an ordinary message to a few substring searches.
_PHRASES: list[tuple[tuple[str, ...], str]] = [
    # Overriding the instructions.
    (("ignor", "disregard", "forget", "skip", "overrid", "bypass"),
     (r"(?:ignore|disregard|forget|skip|override|bypass)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+"
     r"|these\s+|those\s+|every\s+)*(?:previous|prior|above|earlier|preceding|former|original"
     r"|system|safety|security)?\s*(?:instructions?|rules?|prompts?|directions?|guidelines?"
     r"|polic(?:y|ies)|constraints?|checks?|approvals?|restrictions?)")),
    (("instruction",), (r"(?:new|updated|revised|real|actual|hidden)\s+(?:system\s+)?"
                       r"instructions?\s*[:\-]")),
    (("you are", "now", "pretend", "act as"),
     (r"you\s+are\s+now\b|from\s+now\s+on,?\s+you\b|pretend\s+(?:to\s+be|you\s+are)"
     r"|act\s+as\s+(?:an?\s+|the\s+)?(?:admin|administrator|developer|system|root|supervisor)")),
    (("mode", "jailbreak"), r"(?:developer|debug|god|admin|jailbreak|dan)\s+mode|\bjailbreak"),
    (("system", "assistant", "developer"),
     r"system\s+prompt|(?:^|\n)[ \t]{0,8}(?:system|assistant|developer)[ \t]{0,4}:"),
    (("<|", "|>", "[inst", "[/inst", "[sys", "###"),
     r"<\|?(?:im_start|im_end|system|endoftext)\|?>|\[/?(?:INST|SYS)\]|###\s*instruction"),
    # Steering the answer or the policy.
    (("confiden", "certain", "score", "amount", "approv", "urgen", "priorit"),
     (r"(?:set|make|give|report|return|output|mark|put|use)\s+(?:the\s+|your\s+|its\s+|a\s+)?"
     r"(?:confidence|certainty|score|amount|approval|urgency|priority)\s*(?:level\s+|score\s+)?"
     r"(?:to|=|:|at|as|of)\b")),
    (("confiden", "certain"),
     (r"(?:confidence|certainty)\s*(?:score\s*|level\s*)?(?:=|:|to|of)\s*(?:1(?:\.0+)?|100\s*%)"
     r"(?![0-9])")),
    (("not", "don", "never", "no need"),
     (r"(?:do\s+not|don'?t|never|no\s+need\s+to)\s+(?:ask|wait|require|request|need|check"
     r"|escalate|send)\s+(?:for\s+|a\s+|any\s+)?(?:human|manual|person|approval|review"
     r"|confirmation|a\s+human)")),
    (("approv",),
     (r"(?:auto(?:matically)?|immediately|pre)\s*[- ]?approve"
     r"|approve\s+(?:it\s+|this\s+|the\s+\w+\s+)?(?:automatically|immediately|right\s+away|now)"
     r"|approved\s+in\s+advance")),
    (("without",), r"without\s+(?:any\s+)?(?:approval|review|confirmation|checks?)"),
    (("\"",), r"\"\s*(?:confidence|approved|needs_human|approval)\s*\"\s*:"),
    # The same in a few other languages our users' customers write in.
    (("ignor",), (r"ignor(?:iere|ieren|ez|a|e)\s+(?:alle\s+|toutes\s+|todas\s+|les\s+|las\s+"
                 r"|le\s+|die\s+)*(?:vorherigen\s+anweisungen|anweisungen|instructions?"
                 r"|instrucciones|istruzioni)")),
]
_COMPILED = tuple((lits, re.compile(pat, re.IGNORECASE)) for lits, pat in _PHRASES)
_MAX_SCAN = 200_000  # characters scanned per event: enough for every real message


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


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)


def find_instructions(value: Any) -> tuple[str, ...]:
    """Instruction-like phrases in every string of ``value`` (keys included), in order
    of appearance, each once."""
    found: dict[str, None] = {}
    budget = _MAX_SCAN
    for text in _strings(value):
        if budget <= 0:
            break
        chunk, budget = text[:budget], budget - len(text)
        lower = chunk.lower()
        hits = []
        for lits, pattern in _COMPILED:
            if any(lit in lower for lit in lits):
                hits += [(m.start(), m.group()) for m in pattern.finditer(chunk)]
        for _, phrase in sorted(hits):
            found.setdefault(" ".join(phrase.split()).lower(), None)
    return tuple(found)


def assess(data: Any, doubts: Iterable[str] = ()) -> Trust:
    """The trust signals for an output answering ``data`` (the redacted input)."""
    return Trust(find_instructions(data), tuple(doubts))
