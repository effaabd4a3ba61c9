"""Layer 3, inference: what the local model fills in each field of an output schema.

Read once per model from the pydantic class; the labelled examples are checked against it.
"""

from __future__ import annotations

import enum
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from seamline.errors import ConfigError

_EVIDENCE_NAMES = ("evidence", "quotes", "citations")


@dataclass(frozen=True, slots=True)
class Plan:
    """What the model fills for each field of the output schema."""

    order: tuple[str, ...]
    categorical: dict[str, tuple[Any, ...]]  # name -> allowed values, schema order
    confidence: str | None
    evidence: str | None
    summary: str | None
    summary_max: int | None
    summary_min: int
    neutral: dict[str, Any]


def plan_for(schema: type[BaseModel]) -> Plan:
    """The plan for ``schema``; a :class:`ConfigError` if it has nothing to learn."""
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise ConfigError("The local model needs a pydantic model class as its output schema.")
    categorical: dict[str, tuple[Any, ...]] = {}
    neutral: dict[str, Any] = {}
    confidence = evidence = summary = None
    summary_max: int | None = None
    summary_min = 0
    for name, field in schema.model_fields.items():
        annotation = field.annotation
        inner, _ = _strip_optional(annotation)
        cats = _categories(annotation)
        if cats:
            categorical[name] = tuple(cats)
            neutral[name] = _neutral(annotation, field)  # used if never labelled
        elif name == "confidence" and inner is float:
            confidence = name
        elif name in _EVIDENCE_NAMES and _is_list_of_str(annotation) and evidence is None:
            evidence = name
        elif name == "summary" and inner is str:
            summary = name
            summary_max = _meta(field, "max_length")
            summary_min = int(_meta(field, "min_length") or 0)
        else:
            neutral[name] = _neutral(annotation, field)
    if not categorical:
        raise ConfigError(
            f"The output schema {schema.__name__} has no Literal or Enum field, "
            "so the local model has nothing to learn."
        )
    return Plan(
        order=tuple(schema.model_fields),
        categorical=categorical,
        confidence=confidence,
        evidence=evidence,
        summary=summary,
        summary_max=summary_max,
        summary_min=summary_min,
        neutral=neutral,
    )


def check_examples(
    examples: Any, plan: Plan, schema: type[BaseModel]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The examples as a list of ``(input, output)`` dicts, or a :class:`ConfigError`.

    Every label must be allowed by the schema, and every categorical field needs
    two different labels to be learnt (unless it is never labelled and has a default).
    """
    schema_name, schema_fields = schema.__name__, schema.model_fields
    if examples is None:
        raise ConfigError("The local model needs labelled examples, and none were given.")
    rows = list(examples)
    if not rows:
        raise ConfigError("The local model needs labelled examples, and the list is empty.")
    out = []
    for i, row in enumerate(rows, 1):
        try:
            inp, outp = row
        except (TypeError, ValueError):
            raise ConfigError(f"Example {i} is not an (input, output) pair.") from None
        if not isinstance(inp, dict) or not isinstance(outp, dict):
            raise ConfigError(f"Example {i} must pair an input object with an output object.")
        for name, allowed in plan.categorical.items():
            value = label_of(outp.get(name))
            if value is not None and value not in allowed:
                raise ConfigError(
                    f"Example {i} gives {name}={value!r}, which is not one of "
                    f"{', '.join(map(repr, allowed))} in {schema_name}."
                )
        out.append((inp, outp))
    for name in plan.categorical:
        seen = {label_of(outp.get(name)) for _, outp in out} - {None}
        if len(seen) < 2:
            field = schema_fields[name]
            if not seen and not field.is_required():
                continue  # never labelled and has a default: left to the default
            found = "no label" if not seen else f"only the label {next(iter(seen))!r}"
            raise ConfigError(
                f"The examples give {found} for {schema_name}.{name}; "
                "the local model needs at least two different labels to learn it."
            )
    return out


def label_of(value: Any) -> Any:
    """An example's label as its JSON value (Enum members by value)."""
    return value.value if isinstance(value, enum.Enum) else value


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _categories(annotation: Any) -> list[Any] | None:
    """The allowed JSON values of a Literal/Enum annotation, else None."""
    inner, _ = _strip_optional(annotation)
    if typing.get_origin(inner) is Literal:
        return [a.value if isinstance(a, enum.Enum) else a for a in typing.get_args(inner)]
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return [m.value for m in inner]
    return None


def _meta(field: Any, attr: str) -> Any:
    for m in field.metadata:
        value = getattr(m, attr, None)
        if value is not None:
            return value
    return None


def _is_list_of_str(annotation: Any) -> bool:
    inner, _ = _strip_optional(annotation)
    return typing.get_origin(inner) in (list, Sequence, typing.Sequence) and typing.get_args(
        inner
    ) in ((str,), ())


def _neutral(annotation: Any, field: Any = None) -> Any:
    """A type-appropriate neutral value that validates (defaults come first)."""
    if field is not None and not field.is_required():
        return to_jsonable_python(field.get_default(call_default_factory=True))
    inner, optional = _strip_optional(annotation)
    if optional:
        return None
    cats = _categories(inner)
    if cats:
        return cats[0]
    origin = typing.get_origin(inner) or inner
    if inner is bool:
        return False
    if inner in (int, float):
        # The value nearest 0 that the field's bounds allow.
        ge, gt, le, lt = (
            (_meta(field, a) if field is not None else None) for a in ("ge", "gt", "le", "lt")
        )
        step = 1 if inner is int else 1e-6
        value = 0
        if ge is not None and value < ge:
            value = ge
        if gt is not None and value <= gt:
            value = gt + step
        if le is not None and value > le:
            value = le
        if lt is not None and value >= lt:
            value = lt - step
        return math.ceil(value) if inner is int else float(value)
    if inner is str:
        min_len = _meta(field, "min_length") if field is not None else None
        return "-" * int(min_len or 0)
    if origin in (list, set, frozenset, tuple, Sequence):
        return []
    if origin is dict:
        return {}
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return {n: _neutral(f.annotation, f) for n, f in inner.model_fields.items()}
    return None
