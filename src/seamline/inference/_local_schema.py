"""Layer 3, inference: what the local model can fill in each field of an output schema.

Read once per model from the pydantic class; the labelled examples are checked against it.
Every field gets one way of being filled, and only one:

* ``label`` -- a ``Literal``/``Enum`` (or a ``bool`` the examples label both ways): the
  classifier predicts it;
* ``confidence``, ``evidence``, ``summary`` -- computed from the classifier and the input;
* an extraction kind (``money``, ``number``, ``bool``, ``date``, ``id``, ``email``, ``url``,
  ``currency``, or a list of ids / e-mails / URLs / dates) -- read from the input by a rule
  that states its evidence (see ``_local_fill``); when the input does not state it, the
  field is not filled;
* ``none`` -- nothing in the model can fill it (free text, nested objects, ...).

A field that is not filled is left out of the reply when the schema gives it a default,
is ``null`` when the schema allows that, and otherwise the model refuses the event
(:class:`~seamline.errors.CannotFill`): it never puts a placeholder where an answer goes.
"""

from __future__ import annotations

import datetime
import enum
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, TypeAdapter, ValidationError

from seamline.errors import ConfigError

_EVIDENCE_NAMES = ("evidence", "quotes", "citations")

# Words of a field's name that say what it holds.
_MONEY = frozenset({"amount", "price", "cost", "total", "refund", "fee", "fees", "charge",
                    "charged", "balance", "paid", "payment", "sum", "usd", "eur", "gbp", "dollars",
                    "euros", "credit", "spend", "budget", "revenue", "value", "compensation"})
CURRENCY_OF_NAME = {"usd": "USD", "eur": "EUR", "gbp": "GBP", "jpy": "JPY", "cad": "CAD",
                    "aud": "AUD", "chf": "CHF", "inr": "INR", "dollars": "USD", "euros": "EUR"}
_DATE = frozenset({"date", "day", "deadline", "due", "birthday", "dob", "on", "since", "until"})
_ID = frozenset({"id", "ids", "number", "numbers", "no", "nr", "ref", "refs", "reference",
                 "references", "code", "codes"})
_EMAIL = frozenset({"email", "emails", "mail", "mails", "e"})
_URL = frozenset({"url", "urls", "link", "links", "website", "websites", "href", "uri"})
# Words that only say "this is a yes/no" or join other words: never a cue on their own.
_AUX = frozenset({"is", "has", "have", "needs", "need", "wants", "want", "requires", "require",
                  "should", "can", "could", "was", "were", "did", "does", "do", "asks", "asked",
                  "ask", "for", "to", "a", "an", "the", "of", "any", "be", "with", "by", "in",
                  "flag", "flagged", "mentions", "mentioned", "contains", "includes"})
# Words a field name uses that carry no content to look for next to a number.
_GENERIC = frozenset({"number", "num", "count", "quantity", "qty", "total", "amount", "value",
                      "of", "the", "a", "n", "nb"})

Kind = Literal["label", "confidence", "evidence", "summary", "money", "number", "bool", "date",
               "id", "email", "url", "currency", "list", "none"]
EXTRACTED = frozenset({"money", "number", "bool", "date", "id", "email", "url", "currency",
                       "list"})


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """How one non-categorical field is filled (or why it cannot be)."""

    name: str
    kind: Kind
    required: bool  # no default in the schema
    nullable: bool  # None is allowed
    words: tuple[str, ...]  # the name's content words, looked for near a value
    number_type: type | None = None  # int or float, for money and number
    currency: str | None = None  # money: the currency the name states ("refund_usd")
    item: str = ""  # list: what each item is (id, email, url, date)
    cues: tuple[str, ...] = ()  # bool: explicit phrases declared on the field
    adapter: Any = None  # a pydantic TypeAdapter of the field, to check a found value

    def valid(self, value: Any) -> bool:
        """Whether ``value`` passes the field's own type and constraints."""
        if self.adapter is None:
            return True
        try:
            self.adapter.validate_python(value)
        except ValidationError:
            return False
        return True

    @property
    def what(self) -> str:
        """What the field must be stated as in the input, for sentences."""
        if self.kind == "money":
            return f"an amount in {self.currency}" if self.currency else "an amount with its currency"
        if self.kind == "list":
            return f"the {self.item}s it mentions"
        return {"number": f"a number next to the word {self.words[0]!r}" if self.words else
                "a number", "bool": "an explicit cue word (" + ", ".join(
                    repr(c) for c in (self.cues or self.words)[:3]) + ")",
                "date": "a calendar date", "id": "an id next to the word "
                + (repr(self.words[0]) if self.words else "'id'"),
                "email": "an e-mail address", "url": "a URL",
                "currency": "an amount with its currency"}.get(self.kind, "nothing")


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
    fields: dict[str, FieldPlan] = field(default_factory=dict)  # every other field
    required: frozenset[str] = frozenset()  # fields without a default
    nullable: frozenset[str] = frozenset()


def name_words(name: str) -> list[str]:
    """``refundAmount_usd`` -> ``["refund", "amount", "usd"]``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [w for w in re.split(r"[_\W]+", spaced.lower()) if w]


def plan_for(schema: type[BaseModel]) -> Plan:
    """The plan for ``schema``; a :class:`ConfigError` if it has nothing to learn."""
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise ConfigError("The local model needs a pydantic model class as its output schema.")
    categorical: dict[str, tuple[Any, ...]] = {}
    fields: dict[str, FieldPlan] = {}
    confidence = evidence = summary = None
    summary_max: int | None = None
    summary_min = 0
    required, nullable = set(), set()
    for name, info in schema.model_fields.items():
        annotation = info.annotation
        inner, optional = _strip_optional(annotation)
        if info.is_required():
            required.add(name)
        if optional:
            nullable.add(name)
        cats = _categories(annotation)
        if cats:
            categorical[name] = tuple(cats)
        elif name == "confidence" and inner is float:
            confidence = name
        elif name in _EVIDENCE_NAMES and _is_list_of_str(annotation) and evidence is None:
            evidence = name
        elif name == "summary" and inner is str:
            summary = name
            summary_max = _meta(info, "max_length")
            summary_min = int(_meta(info, "min_length") or 0)
        else:
            fields[name] = _field_plan(name, info, inner, optional)
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
        fields=fields,
        required=frozenset(required),
        nullable=frozenset(nullable),
    )


def with_labelled_bools(plan: Plan, rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> Plan:
    """The plan with every ``bool`` field the examples label both ways learnt as a label."""
    learnt = {name for name, fp in plan.fields.items() if fp.kind == "bool"
              and {outp.get(name) for _, outp in rows} >= {True, False}}
    if not learnt:
        return plan
    categorical = dict(plan.categorical)
    for name in plan.order:  # schema order, so the heads are stable
        if name in learnt:
            categorical[name] = (False, True)
    return replace(plan, categorical=categorical,
                   fields={n: f for n, f in plan.fields.items() if n not in learnt})


def _field_plan(name: str, info: Any, inner: Any, optional: bool) -> FieldPlan:
    words = name_words(name)
    content = tuple(w for w in words if w not in _AUX)
    adapter = TypeAdapter(Annotated[info.annotation, info])
    base = {"name": name, "required": info.is_required(), "nullable": optional,
            "adapter": adapter}
    wordset = set(words)
    if inner is bool:
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        cues = tuple(str(c).lower() for c in extra.get("cues", ()) or ())
        return FieldPlan(kind="bool", words=content, cues=cues, **base)
    if inner in (int, float):
        currency = next((CURRENCY_OF_NAME[w] for w in words if w in CURRENCY_OF_NAME), None)
        if wordset & _MONEY:
            near = tuple(w for w in content if w not in _MONEY or w in ("refund", "fee",
                                                                        "charge", "credit"))
            return FieldPlan(kind="money", words=near, number_type=inner, currency=currency,
                             **base)
        return FieldPlan(kind="number", words=tuple(w for w in content if w not in _GENERIC),
                         number_type=inner, **base)
    dated = tuple(w for w in content if w not in ("date", "day", "on"))
    if inner is datetime.date:
        return FieldPlan(kind="date", words=dated, **base)
    if inner is str:
        if "currency" in wordset:
            return FieldPlan(kind="currency", words=(), **base)
        if wordset & _EMAIL and ("mail" in name.lower()):
            return FieldPlan(kind="email", words=(), **base)
        if wordset & _URL:
            return FieldPlan(kind="url", words=(), **base)
        if wordset & _DATE or name.endswith("_on"):
            return FieldPlan(kind="date", words=dated, **base)
        if wordset & _ID:
            nouns = tuple(w for w in content if w not in _ID)
            return FieldPlan(kind="id", words=nouns, **base)
    if _is_list_of_str(info.annotation):
        item = _item_kind(name, wordset)
        if item:
            nouns = tuple(w for w in content if w not in _ID | _EMAIL | _URL | _DATE)
            return FieldPlan(kind="list", item=item, words=nouns, **base)
    return FieldPlan(kind="none", words=content, **base)


def _item_kind(name: str, wordset: set[str]) -> str:
    if wordset & _EMAIL and "mail" in name.lower():
        return "email"
    if wordset & _URL:
        return "url"
    if wordset & {"dates", "days", "deadlines"}:
        return "date"
    if wordset & _ID:
        return "id"
    return ""


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
            info = schema_fields[name]
            if not seen and not info.is_required():
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


def _meta(info: Any, attr: str) -> Any:
    for m in info.metadata:
        value = getattr(m, attr, None)
        if value is not None:
            return value
    return None


def _is_list_of_str(annotation: Any) -> bool:
    inner, _ = _strip_optional(annotation)
    return typing.get_origin(inner) in (list, Sequence, typing.Sequence) and typing.get_args(
        inner
    ) in ((str,), ())
