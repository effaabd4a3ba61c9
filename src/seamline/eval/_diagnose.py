"""The production eval's diagnosis: which layer changed between a drop window and its baseline.

Compares the events of the two windows: their input shape (categories, lengths, scripts),
prompt version, model, and parse failures. The layer whose change touched the most events
is named in the drift alert, so the person paged starts where the change is.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from seamline.eval._feedback import TruthRow
from seamline.store import Store
from seamline.store.tables import events

DROP_POINTS = 5.0  # a drop of more than this many points below the baseline raises an alert
SHIFT = 0.25  # the share of events that must have moved before a difference is called a shift
MIN_EVENTS = 5
MAX_CATEGORIES = 20
PARSE_STAGES = ("outputs", "grounding")


@dataclass(frozen=True, slots=True)
class Suspect:
    """A layer that changed between the windows; ``strength`` is the share of events it touched."""

    layer: str  # input shape | prompt version | model | parse failures
    strength: float
    evidence: str

    def as_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "strength": round(self.strength, 3), "evidence": self.evidence}


@dataclass(frozen=True, slots=True)
class _Seen:
    """An event of either window, with or without ground truth (shape and failures need all)."""

    input: dict[str, Any]
    path: str
    prompt_version: str
    model: str
    state: str
    stage: str


def likely_layers(store: Store, name: str, rows: list[TruthRow], base_rows: list[TruthRow],
                  window: tuple[float, float], base_window: tuple[float, float]) -> list[Suspect]:
    """Every layer that changed, most events touched first (empty: nothing visible changed).

    Each check compares like with like: the versions and models seen in the baseline
    window, the inputs' shapes and categories, and the rate of unparseable replies.
    """
    seen, base_seen = _seen(store, name, *window), _seen(store, name, *base_window)
    base_score = _points(base_rows)
    suspects = [s for s in (
        _version_shift("prompt version", "prompt_version", rows, base_seen, base_score),
        _version_shift("model", "model", rows, base_seen, base_score),
        _parse_failures(seen, base_seen),
        _input_shift(seen, base_seen, rows),
    ) if s is not None]
    return sorted(suspects, key=lambda s: -s.strength)


def _seen(store: Store, name: str, start: float, end: float) -> list[_Seen]:
    q = (select(events.c.input, events.c.path, events.c.prompt_version, events.c.model,
                events.c.state, events.c.stage)
         .where(events.c.integration == name, events.c.created_at >= start,
                events.c.created_at < end, events.c.state != "duplicate"))
    with store.read() as conn:
        return [_Seen(json.loads(r.input) if r.input else {}, r.path, r.prompt_version, r.model,
                      r.state, r.stage) for r in conn.execute(q).all()]


def _points(rows: list[TruthRow]) -> float | None:
    hits = [h for r in rows for h in r.hits.values()]
    return 100 * sum(hits) / len(hits) if hits else None


def _version_shift(layer: str, column: str, rows: list[TruthRow], base_seen: list[_Seen],
                   base_score: float | None) -> Suspect | None:
    """Events answered under a prompt version (or model) the baseline never used, doing worse."""
    known = {getattr(s, column) for s in base_seen if s.path == "ai"}
    ai = [r for r in rows if r.path == "ai" and getattr(r, column)]
    new = [r for r in ai if getattr(r, column) not in known]
    if not new or not known:
        return None
    old = [r for r in rows if r not in new]
    reference = _points(old) if len(old) >= MIN_EVENTS else base_score
    score = _points(new)
    if reference is None or score is None or reference - score <= DROP_POINTS:
        return None
    names = sorted({getattr(r, column) for r in new})
    return Suspect(layer, len(new) / len(rows),
                   f"{len(new)} of {len(rows)} events ran under {layer} "
                   f"{', '.join(names[:3])}, not seen in the baseline window, and scored "
                   f"{score:.1f} against {reference:.1f}")


def _parse_failures(seen: list[_Seen], base_seen: list[_Seen]) -> Suspect | None:
    """Replies the outputs layer could not parse or ground, more often than before."""
    if not seen or not base_seen:
        return None

    def rate(items: list[_Seen]) -> tuple[int, float]:
        n = sum(1 for s in items if s.state == "dead_lettered" and s.stage in PARSE_STAGES)
        return n, n / len(items)

    n, now_rate = rate(seen)
    _, before = rate(base_seen)
    if n < 2 or now_rate - before < DROP_POINTS / 100:
        return None
    return Suspect("parse failures", now_rate - before,
                   f"{n} of {len(seen)} events were dead-lettered at outputs/grounding "
                   f"({now_rate:.0%}, was {before:.0%})")


def _input_shift(seen: list[_Seen], base_seen: list[_Seen], rows: list[TruthRow]) -> Suspect | None:
    """The inputs changed: a field appears or vanishes, a category's share moves, text
    changes script (a new language) or length. The biggest move is the evidence."""
    if len(seen) < MIN_EVENTS or len(base_seen) < MIN_EVENTS:
        return None
    now, before = [s.input for s in seen], [s.input for s in base_seen]
    found: list[tuple[float, str]] = []
    for key in sorted({k for i in now + before for k in i}):
        p_now = sum(1 for i in now if i.get(key) is not None) / len(now)
        p_before = sum(1 for i in before if i.get(key) is not None) / len(before)
        if abs(p_now - p_before) >= SHIFT:
            if p_before == 0:
                said = f"field '{key}' is new: in {p_now:.0%} of events"
            elif p_now == 0:
                said = f"field '{key}' is gone (was in {p_before:.0%} of events)"
            else:
                said = f"field '{key}' is in {p_now:.0%} of events (was {p_before:.0%})"
            found.append((abs(p_now - p_before), said))
            continue
        vals_now = [i[key] for i in now if isinstance(i.get(key), str)]
        vals_before = [i[key] for i in before if isinstance(i.get(key), str)]
        if len(vals_now) < MIN_EVENTS or len(vals_before) < MIN_EVENTS:
            continue
        categories = set(vals_before)
        if len(categories) <= MAX_CATEGORIES and len(categories) <= len(vals_before) / 2:
            found.append(_category_shift(key, vals_now, vals_before, rows, lambda v: v, "value"))
        else:
            found.append(_category_shift(key, vals_now, vals_before, rows, _script, "text in"))
            found.append(_length_shift(key, vals_now, vals_before))
    found = [f for f in found if f[0] >= SHIFT]
    if not found:
        return None
    found.sort(key=lambda f: -f[0])
    return Suspect("input shape", found[0][0], "; ".join(f[1] for f in found[:3]))


def _category_shift(key: str, now: list[str], before: list[str], rows: list[TruthRow],
                    kind: Callable[[str], str], noun: str) -> tuple[float, str]:
    """Total variation distance between the two windows' distributions, and the top mover."""
    a, b = _shares([kind(v) for v in now]), _shares([kind(v) for v in before])
    distance = sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b)) / 2
    mover = max(set(a) | set(b), key=lambda k: a.get(k, 0.0) - b.get(k, 0.0))
    scored = [r for r in rows if isinstance(r.input.get(key), str) and kind(r.input[key]) == mover]
    tail = ""
    if scored and (points := _points(scored)) is not None:
        tail = f"; those events scored {points:.1f}"
    return distance, (f"field '{key}': {noun} '{mover}' went from {b.get(mover, 0.0):.0%} to "
                      f"{a.get(mover, 0.0):.0%} of events (distance {distance:.2f}){tail}")


def _length_shift(key: str, now: list[str], before: list[str]) -> tuple[float, str]:
    m_now, m_before = statistics.median(map(len, now)), statistics.median(map(len, before))
    if not m_now or not m_before:
        return 0.0, ""
    move = 1 - min(m_now, m_before) / max(m_now, m_before)
    return move, f"field '{key}': median length {m_now:.0f} characters (was {m_before:.0f})"


def _shares(values: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for v in values:
        out[v] = out.get(v, 0.0) + 1 / len(values)
    return out


_SCRIPTS = (("latin", 0x0000, 0x024F), ("greek", 0x0370, 0x03FF), ("cyrillic", 0x0400, 0x04FF),
            ("hebrew", 0x0590, 0x05FF), ("arabic", 0x0600, 0x06FF), ("devanagari", 0x0900, 0x097F),
            ("thai", 0x0E00, 0x0E7F), ("hangul", 0xAC00, 0xD7AF), ("kana", 0x3040, 0x30FF),
            ("cjk", 0x4E00, 0x9FFF))


def _script(text: str) -> str:
    """The writing system most of a text's letters are in: a cheap stand-in for its language."""
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            code = ord(ch)
            script = next((s for s, lo, hi in _SCRIPTS if lo <= code <= hi), "other")
            counts[script] = counts.get(script, 0) + 1
    return max(counts, key=lambda s: counts[s]) if counts else "none"
