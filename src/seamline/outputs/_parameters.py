"""Which source an action parameter's value comes from: a trusted reference, or user text.

A claim grounded only in the customer's own text may say what the customer wrote; it
cannot by itself justify an action. So for each output field an action takes a parameter
from, the value (a number, or a string with a digit or an "@": an amount, an account, an
address) is looked up in the sources: stated in a trusted reference, it is justified;
stated only in untrusted text — or only inside instruction-like text — it is a doubt,
and a doubt sets the model's own confidence aside in the approval policy, so the action
waits for a person. A value stated nowhere is the model's own and not this check's
business (the claim checks hold claims to their quotes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from seamline.outputs._paths import values_at
from seamline.outputs._sources import Source
from seamline.outputs._tokens import number_key
from seamline.outputs._verbatim import normal_form, occurrences

TRUSTED, UNTRUSTED, INSTRUCTIONS, UNSTATED = "trusted", "untrusted", "instructions", "unstated"


@dataclass(frozen=True, slots=True)
class ParameterOrigin:
    field: str
    value: Any
    origin: str  # trusted, untrusted, instructions or unstated
    where: tuple[str, ...]  # the source fields that state it

    @property
    def doubt(self) -> str | None:
        if self.origin == UNTRUSTED:
            return (f"the action parameter {self.field} = {self.value!r} rests only on "
                    f"untrusted text ({', '.join(self.where)}), which cannot justify an "
                    "action by itself")
        if self.origin == INSTRUCTIONS:
            return (f"the action parameter {self.field} = {self.value!r} comes from text that "
                    f"reads as instructions to the model ({', '.join(self.where)})")
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "value": self.value, "origin": self.origin,
                "where": list(self.where)}


def _checked(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return math.isfinite(value)
    return isinstance(value, str) and 0 < len(value) <= 200 and (
        "@" in value or any(c.isdigit() for c in value))


def _spans(value: Any, source: Source) -> list[tuple[int, int]]:
    """Original spans where ``source`` states ``value``."""
    if isinstance(value, str):
        needle = normal_form(value.strip()).text
        return [source.normal.span(at, at + len(needle))
                for at in occurrences(needle, source.normal.text)]
    key = number_key(format(value, "f") if isinstance(value, float) else str(value))
    return [source.normal.span(t.start, t.end) for t in source.tokens
            if t.kind == "num" and t.key == key]


def origin_of(path: str, value: Any, sources: list[Source]) -> ParameterOrigin:
    """Where ``value`` (the output's ``path``) is stated, best origin first."""
    found: dict[str, list[str]] = {TRUSTED: [], UNTRUSTED: [], INSTRUCTIONS: []}
    for source in sources:
        for start, end in _spans(value, source):
            level = (INSTRUCTIONS if source.marked_at(start, end) is not None
                     else TRUSTED if source.trusted else UNTRUSTED)
            if source.name not in found[level]:
                found[level].append(source.name)
    for level in (TRUSTED, UNTRUSTED, INSTRUCTIONS):
        if found[level]:
            return ParameterOrigin(path, value, level, tuple(found[level]))
    return ParameterOrigin(path, value, UNSTATED, ())


def parameter_origins(paths: tuple[str, ...], output: dict[str, Any],
                      sources: list[Source]) -> list[ParameterOrigin]:
    """The origin of every checked value at ``paths`` in ``output``."""
    return [origin_of(path, value, sources) for path in paths
            for value in values_at(output, path) if _checked(value)]
