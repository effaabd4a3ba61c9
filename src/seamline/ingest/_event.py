"""Layer 1, ingest: validate an event against the input schema and apply the PII policy.

What leaves this module is redacted; the real values travel separately, to the vault.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from seamline.errors import InputInvalid
from seamline.ingest._fields import field_kind, whole_key
from seamline.ingest._phones import Tick, no_tick
from seamline.ingest._redact import (
    _MASKERS,
    DEFAULT_CPU_BUDGET_S,
    CpuBudget,
    RedactionSession,
    _kinds,
    mask,
    redact,
)


@dataclass(frozen=True, slots=True)
class IngestedEvent:
    data: dict[str, Any]  # validated and redacted: all any later layer sees
    secrets: dict[str, str] = field(repr=False)  # placeholder -> real value, for the vault only
    idempotency_key: str = ""
    tenant: str = ""
    sticky: str = ""
    user: str = ""  # the end user (``user_key``), for soft caps


def describe_validation(exc: ValidationError) -> str:
    """Pydantic errors as one sentence a person can act on, values left out."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "the event"
        parts.append(f"{loc}: {err['msg'].rstrip('.')}")
    return "the event does not match the input schema (" + "; ".join(parts) + ")"


# Containers walked into; anything else is a scalar, read as text for PII.
_NESTED = (Mapping, list, tuple, set, frozenset)
# Below this many characters a number cannot be PII: a phone number has 7 digits or more,
# and no other kind is made of digits, signs and dots alone.
_SHORTEST_PII_NUMBER = 7
_TOO_LONG = "[a number too long to scan for personal data]"
_CYCLE = "[a reference back to an enclosing value]"


def _scrub_scalar(value: Any, scrub_text: Callable[[str], str], whole: bool = False) -> Any:
    """``value`` with its PII replaced: strings as text; numbers (and any other scalar) read
    as text and replaced by the redacted text only when it holds PII; booleans and None kept.
    In a field of a known kind (``whole``), any number is read too (a year of birth)."""
    if isinstance(value, str):
        return scrub_text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, float):
        # 4242424242424242.0 is read as the card it holds.
        text = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, int):
        try:
            text = str(value)
        except ValueError:  # longer than this interpreter converts to text: not kept
            return _TOO_LONG
    elif isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", "replace")
    else:
        text = str(value)
    if isinstance(value, int | float) and len(text) < _SHORTEST_PII_NUMBER and not whole:
        return value
    scrubbed = scrub_text(text)
    return value if scrubbed == text else scrubbed


def _unique_key(out: dict[Any, Any], key: Any, taken: dict[Any, int]) -> Any:
    """``key``, or ``key (2)``, ``key (3)``… if it is already in ``out``: two keys that
    redact to one placeholder (``ann@x.com``, ``ANN@x.com``) stay two entries."""
    if key not in out:
        return key
    n = taken.get(key, 2)
    while f"{key} ({n})" in out:
        n += 1
    taken[key] = n + 1
    return f"{key} ({n})"


class _Level:
    """One container being copied: its items still to read and the copy made so far."""

    __slots__ = ("ident", "items", "kind", "out", "taken")

    def __init__(self, source: Any, kind: str | None = None) -> None:
        self.ident = id(source)
        self.kind = kind  # the PII kind of the field this container is (or is inside)
        self.items: Iterator[tuple[Any, Any]]
        self.out: dict[Any, Any] | list[Any]
        if isinstance(source, Mapping):
            self.items, self.out = iter(source.items()), {}
        else:
            self.items, self.out = ((None, v) for v in source), []
        self.taken: dict[Any, int] = {}


Scrub = Callable[[Any, "str | None"], Any]


def _scrub_tree(value: Any, scrub: Scrub, tick: Tick, kind: str | None = None) -> Any:
    """A copy of ``value`` with ``scrub`` applied to every scalar and every key, in reading
    order (a key before its value), to any depth: iterative, so no nesting exhausts the
    stack. Lists, tuples and sets come back as lists, mappings as dicts. Each scalar is
    scrubbed with the kind of the innermost key naming one (``{"customer": {"name": …}}``),
    else ``kind``; keys are scrubbed with none."""
    if not isinstance(value, _NESTED):
        return scrub(value, kind)
    root = _Level(value, kind)
    path, on_path = [root], {root.ident}
    while path:
        level = path[-1]
        item = next(level.items, None)
        if item is None:
            on_path.discard(level.ident)
            path.pop()
            continue
        tick(1)
        key, v = item
        out = level.out
        kind_here = level.kind
        if isinstance(out, dict):
            kind_here = (field_kind(key) if isinstance(key, str) else None) or level.kind
            key = _unique_key(out, scrub(key, None), level.taken)
        if isinstance(v, _NESTED) and id(v) not in on_path:
            child = _Level(v, kind_here)
            v = child.out
            path.append(child)
            on_path.add(child.ident)
        else:
            v = _CYCLE if isinstance(v, _NESTED) else scrub(v, kind_here)
        if isinstance(out, dict):
            out[key] = v
        else:
            out.append(v)
    return root.out


def _text_size(value: Any) -> int:
    """About how many characters of text ``value`` holds (strings and keys; 8 a number)."""
    size, todo, seen = 0, [value], set()
    while todo:
        v = todo.pop()
        if isinstance(v, str):
            size += len(v)
        elif isinstance(v, _NESTED):
            if id(v) in seen:  # shared, or a cycle
                continue
            seen.add(id(v))
            if isinstance(v, Mapping):
                todo += v.keys()
                todo += v.values()
            else:
                todo += v
        else:
            size += 8
    return size


def redact_fields(data: dict[str, Any], pii: Mapping[str, str],
                  kinds: Iterable[str] | None = None, session: RedactionSession | None = None,
                  *, cpu_budget_s: float | None = None,
                  field_kinds: Mapping[str, str] | None = None,
                  ) -> tuple[dict[str, Any], dict[str, str]]:
    """Apply the per-field policy (redact by default) and return (redacted, vault mapping).

    Every string, number and key of a field is covered, to any depth, and so is the name of
    a field the policy does not declare (in a refused event, any key may be an e-mail).
    A field whose name says what it holds (``name``, ``address``, ``dob``, ``passport``…,
    see :func:`field_kind`; or ``field_kinds[name]``) is redacted whole as that kind when
    the detectors do not cover all of it. With ``cpu_budget_s`` (seconds of this thread's
    CPU), :class:`IngestBudgetExceeded` is raised once they are spent, and nothing is
    returned: keep a note, not the text.
    """
    budget = None if cpu_budget_s is None else CpuBudget(cpu_budget_s, size=_text_size(data))
    return _redact_fields(data, pii, kinds, session or RedactionSession(), budget, field_kinds)


def _covered(text: str, spans: Iterable[tuple[int, int]]) -> bool:
    # Whether the detectors' spans hold every letter and digit of ``text``.
    marks = bytearray(len(text))
    for s, e in spans:
        marks[s:e] = b"\x01" * (e - s)
    return all(marks[i] or not c.isalnum() for i, c in enumerate(text))


def _redact_fields(data: dict[str, Any], pii: Mapping[str, str], kinds: Iterable[str] | None,
                   session: RedactionSession, budget: CpuBudget | None,
                   field_kinds: Mapping[str, str] | None = None,
                   ) -> tuple[dict[str, Any], dict[str, str]]:
    tick = no_tick if budget is None else budget.tick
    wanted = _kinds(kinds)

    def redacted(text: str) -> str:
        return redact(text, kinds=kinds, session=session, budget=budget).text

    def masked(text: str) -> str:
        return mask(text, kinds=kinds, budget=budget)

    def whole(text: str, kind: str, masking: bool) -> str:
        # A field of a known kind: what the detectors find if that is all of it (an e-mail
        # in a "contact" field), else the whole value as that kind.
        # A scratch session first: a partial reading must leave no placeholder in the event's.
        r = redact(text, kinds=kinds, session=RedactionSession(), budget=budget)
        if _covered(text, ((e.start, e.end) for e in r.entities)):
            return mask(text, kinds=kinds, budget=budget) if masking else redacted(text)
        core = text.strip()
        lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
        if masking:
            return lead + _MASKERS[kind](core) + trail
        return lead + session.placeholder(kind, whole_key(kind, core), core) + trail

    def scrub_redacted(v: Any, kind: str | None) -> Any:
        if kind is not None and kind in wanted:
            return _scrub_scalar(v, lambda t: whole(t, kind, False), whole=True)
        return _scrub_scalar(v, redacted)

    def scrub_masked(v: Any, kind: str | None) -> Any:
        if kind is not None and kind in wanted:
            return _scrub_scalar(v, lambda t: whole(t, kind, True), whole=True)
        return _scrub_scalar(v, masked)

    out: dict[str, Any] = {}
    taken: dict[Any, int] = {}
    for name, value in data.items():
        policy = pii.get(name, "redact")
        if policy == "drop":
            continue
        if budget is not None:
            budget.check()
        # A declared field's name is the integration's own; any other key may be PII.
        key = name if name in pii else _unique_key(out, scrub_redacted(name, None), taken)
        if policy == "allow":
            out[key] = value
        else:
            kind = (field_kinds or {}).get(name) or field_kind(name)
            out[key] = _scrub_tree(value, scrub_masked if policy == "mask" else scrub_redacted,
                                   tick, kind)
    return out, dict(session.mapping)


def schema_kinds(schema: type[BaseModel]) -> dict[str, str]:
    """Fields a schema types as a kind of PII: ``Field(json_schema_extra={"pii_kind":
    "PERSON"})`` on a field makes it a person's name whatever it is called."""
    out = {}
    for name, info in schema.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and isinstance(extra.get("pii_kind"), str):
            out[name] = str(extra["pii_kind"]).upper()
    return out


def content_key(data: Any) -> str:
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def ingest_event(raw: Any, *, schema: type[BaseModel], pii: Mapping[str, str],
                 kinds: tuple[str, ...] = (), idempotency_key: str = "", tenant_key: str = "",
                 sticky_key: str = "", user_key: str = "",
                 cpu_budget_s: float | None = DEFAULT_CPU_BUDGET_S) -> IngestedEvent:
    """Validate ``raw`` and redact it; raise :class:`InputInvalid` with a reason otherwise.

    Ingest may spend ``cpu_budget_s`` seconds of this thread's CPU on the event (None: no
    limit). Past them it stops between fields, between detectors or inside a detector's
    loop, and raises :class:`IngestBudgetExceeded`, an :class:`InputInvalid`: the text was
    not all scanned, so the caller keeps a note of the refusal, not the event's text.
    """
    budget = None if cpu_budget_s is None else CpuBudget(cpu_budget_s)
    if not isinstance(raw, dict):
        raise InputInvalid(f"the event must be a JSON object, not {type(raw).__name__}")
    try:
        model = schema.model_validate(raw)
    except ValidationError as exc:
        raise InputInvalid(describe_validation(exc)) from None
    data = model.model_dump(mode="json")
    if budget is not None:
        budget.size = _text_size(data)
    redacted, secrets = _redact_fields(data, pii, kinds or None, RedactionSession(), budget,
                                       schema_kinds(schema))

    def key_of(name: str) -> str:
        if not name or data.get(name) is None:
            return ""
        value = str(data[name])
        # A key that is itself personal data is stored only as its hash.
        return value if pii.get(name) == "allow" else content_key(value)

    return IngestedEvent(
        data=redacted, secrets=secrets,
        idempotency_key=key_of(idempotency_key) or content_key(data),
        tenant=key_of(tenant_key), sticky=key_of(sticky_key), user=key_of(user_key),
    )
