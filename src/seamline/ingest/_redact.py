"""PII redaction for the ingest layer: real values become placeholders before an event goes further.

Detection lives in ``_pii.py``; the real values go to the vault through :class:`RedactionSession`.
"""

from __future__ import annotations

import ipaddress
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import phonenumbers

from seamline.errors import ConfigError, IngestBudgetExceeded
from seamline.ingest import _ner
from seamline.ingest._phones import CHECK, Tick, no_tick
from seamline.ingest._pii import PII_KINDS, find_pii, load_detectors, unloaded

__all__ = ["DEFAULT_CPU_BUDGET_S", "PII_KINDS", "CpuBudget", "Entity", "Redaction",
           "RedactionSession", "mask", "redact"]

_ALL_KINDS = frozenset(PII_KINDS)
_DIGITS = "0123456789０１２３４５６７８９"
DEFAULT_CPU_BUDGET_S = 2.0  # per event; linear redaction does ~1 MB of real mail in a fraction


@dataclass(frozen=True, slots=True)
class Entity:
    """One redacted value: where it was in the original text and what replaced it."""

    kind: str
    placeholder: str
    start: int
    end: int
    # Hidden from repr so that logging an entity cannot leak what it hides.
    value: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Redaction:
    """A redacted text and the entities taken out of it."""

    text: str
    entities: tuple[Entity, ...]

    def __repr__(self) -> str:
        counts = Counter(e.kind for e in self.entities)
        kinds = ", ".join(f"{k}={counts[k]}" for k in PII_KINDS if counts[k])
        detail = f" [{kinds}]" if kinds else ""
        return f"Redaction(text={self.text!r}, entities={len(self.entities)}{detail})"

    def __str__(self) -> str:
        return self.text


class RedactionSession:
    """Shares placeholder numbering across the fields of one event.

    The same real value always gets the same placeholder (``<EMAIL_1>`` in the
    subject and in the body); different values get ``<EMAIL_1>``,
    ``<EMAIL_2>`` ... in order of first appearance. Values are compared in a
    normalised form, so ``+1 415-555-0132`` and ``(415) 555-0132`` share a
    placeholder; :attr:`mapping` keeps the first spelling seen. A person named in full and
    by one part of the name ("Sarah Lee", "Sarah", "Ms Lee") gets one placeholder when no
    other person of the event shares that part, and the mapping keeps the fullest spelling.
    One session belongs to one event and is not meant to be shared between threads.
    """

    __slots__ = ("_by_key", "_counts", "_people", "_values")

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}
        self._values: dict[str, str] = {}
        self._people: dict[str, list[str]] = {}  # placeholder -> the name's parts

    @property
    def mapping(self) -> dict[str, str]:
        """Placeholder -> real value (a copy; this is what the vault stores)."""
        return dict(self._values)

    def placeholder(self, kind: str, key: str, value: str) -> str:
        """The placeholder for ``value`` (normalised as ``key``), numbering new ones."""
        ph = self._by_key.get((kind, key))
        if ph is None and kind == "PERSON":
            ph = self._same_person(key, value)
        if ph is None:
            n = self._counts.get(kind, 0) + 1
            self._counts[kind] = n
            ph = f"<{kind}_{n}>"
            self._by_key[(kind, key)] = ph
            self._values[ph] = value
            if kind == "PERSON":
                self._people[ph] = key.split()
        return ph

    def _same_person(self, key: str, value: str) -> str | None:
        # "Sarah" after "Sarah Lee" (or before it): the one person whose name has that part
        # at its start or its end; with two such people, or none, a new placeholder.
        parts = key.split()
        if not parts:
            return None
        if len(parts) == 1:
            hits = [ph for ph, names in self._people.items()
                    if len(names) > 1 and parts[0] in (names[0], names[-1])]
        else:
            hits = [ph for ph, names in self._people.items()
                    if len(names) == 1 and names[0] in (parts[0], parts[-1])]
        if len(hits) != 1:
            return None
        ph = hits[0]
        self._by_key[("PERSON", key)] = ph
        if len(parts) > len(self._people[ph]):
            self._people[ph] = parts
            self._values[ph] = value
        return ph

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={n}" for k, n in self._counts.items())
        return f"RedactionSession({counts})"


class CpuBudget:
    """The CPU time (this thread's, ``time.thread_time``) one event may spend in ingest.

    The detectors tick as they work; every so many units of work (and between fields and
    detectors) the clock is read, and once ``seconds`` are spent :class:`IngestBudgetExceeded`
    is raised, mid-text: what was redacted so far is dropped with it. ``size`` is the
    event's length in characters, for the sentence. One budget belongs to one event.
    """

    __slots__ = ("_deadline", "_units", "seconds", "size")

    _EVERY = 256  # units between two reads of the clock (a read costs ~1 µs)

    def __init__(self, seconds: float, *, size: int = 0) -> None:
        self.seconds, self.size = seconds, size
        self._deadline = time.thread_time() + seconds
        self._units = 0

    def tick(self, units: int = 1) -> None:
        """``units`` of work were done; raise if the budget is spent (clock read now and then)."""
        self._units += units
        if self._units >= self._EVERY:
            self._units = 0
            self.check()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """CPU time spent inside does not count (loading the named-entity model, once)."""
        start = time.thread_time()
        try:
            yield
        finally:
            self._deadline += time.thread_time() - start

    def check(self) -> None:
        """Raise :class:`IngestBudgetExceeded` if the budget is spent."""
        if time.thread_time() > self._deadline:
            raise IngestBudgetExceeded(
                f"ingest took more than {self.seconds:g} s of CPU on this event "
                f"({_size(self.size)}) looking for personal data, and stopped; the event is "
                "dead-lettered without its text, since a partly scanned text may still hold "
                "personal data (send large texts as smaller events)")


def _size(chars: int) -> str:
    return f"{chars / 1000:.0f} KB" if chars >= 1000 else f"{chars} characters"


def _tick_of(budget: CpuBudget | None) -> Tick:
    return no_tick if budget is None else budget.tick


def _ready(wanted: frozenset[str], budget: CpuBudget | None) -> None:
    # The model loads once per process, in about a second, and each people's-data detector
    # is imported on first use: that is no event's CPU time.
    detectors = unloaded(wanted)
    model = "PERSON" in wanted and not _ner.loaded()
    if not detectors and not model:
        return
    with budget.paused() if budget is not None else nullcontext():
        load_detectors(detectors)
        if model:
            _ner.status()


def redact(
    text: str,
    *,
    kinds: Iterable[str] | None = None,
    session: RedactionSession | None = None,
    region: str = "US",
    budget: CpuBudget | None = None,
) -> Redaction:
    """Replace PII in ``text`` with ``<KIND_N>`` placeholders.

    ``kinds`` limits the kinds looked for; None or an empty iterable means all
    of :data:`PII_KINDS` (an empty ``pii_kinds`` in an integration means every
    kind, and failing open would leak). ``region`` is the default country for
    phone numbers written without ``+``. Pass one ``session`` for all fields
    of an event so they share placeholders, and one ``budget`` to bound their CPU time.
    Time is linear in ``len(text)``.
    """
    wanted = _kinds(kinds)
    region = _region(region)
    if session is None:
        session = RedactionSession()
    _ready(wanted, budget)
    tick = _tick_of(budget)
    spans = find_pii(text, wanted, region, tick)
    tick(CHECK)
    if not spans:
        return Redaction(text, ())
    parts: list[str] = []
    entities: list[Entity] = []
    pos = 0
    for s in spans:
        value = text[s.start : s.end]
        ph = session.placeholder(s.kind, s.key, value)
        parts.append(text[pos : s.start])
        parts.append(ph)
        entities.append(Entity(s.kind, ph, s.start, s.end, value))
        pos = s.end
    parts.append(text[pos:])
    return Redaction("".join(parts), tuple(entities))


def mask(text: str, *, kinds: Iterable[str] | None = None, region: str = "US",
         budget: CpuBudget | None = None) -> str:
    """Replace PII in ``text`` with partial masks that keep its shape.

    For humans who need to recognise a value without seeing it
    ("card ending 4242"); nothing is kept for restoring it.
    """
    wanted = _kinds(kinds)
    region = _region(region)
    _ready(wanted, budget)
    tick = _tick_of(budget)
    spans = find_pii(text, wanted, region, tick)
    tick(CHECK)
    if not spans:
        return text
    parts: list[str] = []
    pos = 0
    for s in spans:
        parts.append(text[pos : s.start])
        parts.append(_MASKERS[s.kind](text[s.start : s.end]))
        pos = s.end
    parts.append(text[pos:])
    return "".join(parts)


def _kinds(kinds: Iterable[str] | None) -> frozenset[str]:
    if kinds is None:
        return _ALL_KINDS
    if isinstance(kinds, str):
        # A bare "EMAIL" would otherwise be read as the kinds E, M, A, I, L.
        kinds = (kinds,)
    wanted = frozenset(k.upper() for k in kinds)
    unknown = wanted - _ALL_KINDS
    if unknown:
        raise ConfigError(f"unknown PII kind(s) {sorted(unknown)}; known: {', '.join(PII_KINDS)}")
    return wanted or _ALL_KINDS


def _region(region: str) -> str:
    code = region.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"unknown phone region {region!r}; use a code like 'US' or 'DE'")
    return code


def _keep_last(value: str, keep: int, hidden: str = "0123456789") -> str:
    # Only characters in `hidden` are starred, so separators keep the shape.
    total = sum(c in hidden for c in value)
    out, seen = [], 0
    for c in value:
        if c in hidden:
            seen += 1
            out.append(c if seen > total - keep else "*")
        else:
            out.append(c)
    return "".join(out)


def _mask_email(v: str) -> str:
    local, _, domain = v.partition("@")
    return f"{local[0]}***@{domain}"


def _mask_phone(v: str) -> str:
    n = sum(c.isdigit() for c in v)
    return _keep_last(v, 4 if n >= 10 else 3 if n >= 8 else 2, hidden=_DIGITS)


def _mask_iban(v: str) -> str:
    alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return v[:2] + _keep_last(v[2:], 4, hidden=alnum)


def _mask_ip(v: str) -> str:
    addr = ipaddress.ip_address(v)
    if addr.version == 4:
        return v.rsplit(".", 1)[0] + ".*"
    # Keep the /48 routing prefix, like the first three octets of IPv4.
    head = addr.exploded.split(":")[:3]
    return ":".join(h.lstrip("0") or "0" for h in head) + ":*"


def _mask_person(v: str) -> str:
    # Initials: "Sarah Lee" -> "S. L.", enough to tell two people apart on a screen.
    return " ".join(w[0] + "." for w in v.replace("-", " ").split() if w[:1].isalpha()) or "***"


_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

_MASKERS = {
    "PERSON": _mask_person,
    "ADDRESS": lambda v: "[address]",
    "DOB": lambda v: _keep_last(v, 0),
    "ID_NUMBER": lambda v: _keep_last(v, 3, hidden=_ALNUM),
    "EMAIL": _mask_email,
    "PHONE": _mask_phone,
    "CARD": lambda v: _keep_last(v, 4),
    "IBAN": _mask_iban,
    "SSN": lambda v: _keep_last(v, 4),
    "IP": _mask_ip,
    "SECRET": lambda v: "****",
}
