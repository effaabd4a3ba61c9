"""Layer 3, inference: what the on-device models can and cannot do for a declaration.

For ``seamline check``, replay and eval: which output fields the classifier learns, which
it computes, which it reads from the input only when stated, and which it can never fill;
and whether a route's model reads the prompt at all (the on-device ones do not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from seamline.inference._local_schema import (
    EXTRACTED,
    check_examples,
    plan_for,
    with_labelled_bools,
)
from seamline.inference._route import EXTRACTIVE, MODELS
from seamline.integration import ModelRoute

How = Literal["learnt", "computed", "read", "never"]


@dataclass(frozen=True, slots=True)
class FieldFit:
    """How the on-device classifier fills one output field."""

    field: str
    how: How  # learnt by the classifier, computed, read from the input when stated, never
    required: bool  # no default in the schema
    nullable: bool  # None allowed
    detail: str  # what it is read as, or why it cannot be filled

    @property
    def refuses(self) -> bool:
        """Whether an input that does not state it makes the model refuse the event."""
        return self.how in ("read", "never") and self.required and not self.nullable


def local_fit(schema: type[BaseModel],
              examples: list[tuple[dict[str, Any], dict[str, Any]]] | None = None) -> list[FieldFit]:
    """Every field of ``schema`` as the on-device classifier fills it (``examples``: the
    labelled rows, which decide which ``bool`` fields are learnt and whether every label is
    allowed). Raises :class:`~seamline.errors.ConfigError` for a schema or examples it
    cannot learn from."""
    plan = plan_for(schema)
    if examples is not None:
        rows = check_examples(examples, plan, schema)
        plan = with_labelled_bools(plan, rows)
        check_examples(rows, plan, schema)
    out: list[FieldFit] = []
    for name in plan.order:
        required, nullable = name in plan.required, name in plan.nullable
        if name in plan.categorical:
            out.append(FieldFit(name, "learnt", required, nullable,
                                "one of " + ", ".join(map(repr, plan.categorical[name]))))
        elif name in (plan.confidence, plan.evidence, plan.summary):
            out.append(FieldFit(name, "computed", required, nullable, "from the classifier"))
        else:
            fp = plan.fields[name]
            if fp.kind in EXTRACTED:
                out.append(FieldFit(name, "read", required, nullable, fp.what))
            else:
                out.append(FieldFit(name, "never", required, nullable,
                                    "free text, an object or a type it has no rule for"))
    return out


def reads_prompt(route: ModelRoute) -> bool:
    """Whether the route's model reads the prompt (the on-device models read the event's
    fields instead: a prompt change cannot change their answers)."""
    return route.provider != "local"


def local_kind(route: ModelRoute) -> str:
    """``"classifier"``, ``"extractive"`` or ``""`` (not an on-device model, or unknown)."""
    if route.provider != "local":
        return ""
    if route.model == EXTRACTIVE:
        return "extractive"
    return "classifier" if route.model in MODELS else ""
