"""The web console's evidence view: the model's quotes marked in the redacted source.

Grounding records each quote with the source field and character offsets it was found
at; a reviewer trusts an answer faster when the quote is shown where it stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from seamline.outputs import values_at
from seamline.scrub import scrub


def scrub_filter(value: Any) -> Markup:
    """The console's ``scrub`` Jinja filter: a value as escaped text, with every configured
    secret taken out by value (``seamline.scrub``); None is empty."""
    return Markup("") if value is None else escape(scrub(str(value)))


@dataclass(frozen=True, slots=True)
class MarkedSource:
    """One source field's text, HTML-escaped, with its quotes wrapped in ``<mark>``."""

    field: str
    html: Markup
    quotes: int


def field_text(data: Any, field: str) -> str | None:
    """The text a grounding ``field`` name points at: ``body``, ``body#1``, ``docs[0].text``.

    The names are the ones ``seamline.outputs`` gives its sources (see ``sources_of``).
    """
    doc = re.fullmatch(r"(.+)\[(\d+)\]\.([^.\[\]]+)", field)
    if doc:
        docs = values_at(data, doc.group(1) + "[]")
        i = int(doc.group(2))
        item = docs[i] if i < len(docs) else None
        value = item.get(doc.group(3)) if isinstance(item, dict) else None
        return value if isinstance(value, str) else None
    name, _, nth = field.partition("#")
    values = values_at(data, name)
    i = int(nth) if nth.isdigit() else 0
    value = values[i] if i < len(values) else None
    return value if isinstance(value, str) else None


def mark(text: str, spans: list[tuple[int, int]]) -> Markup:
    """``text`` escaped, each span (merged where they overlap) wrapped in ``<mark>``."""
    merged: list[list[int]] = []
    for start, end in sorted(s for s in spans if 0 <= s[0] < s[1] <= len(text)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, at = [], 0
    for start, end in merged:
        out.append(escape(text[at:start]))
        out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


def marked_sources(data: Any, quotes: list[dict[str, Any]]) -> tuple[list[MarkedSource], list[str]]:
    """Each quoted source field with its quotes marked, and the quotes that could not be placed.

    The recorded offsets are trusted only when they still select the quote; otherwise
    the quote is looked up in the field (a field renamed since would just not mark).
    """
    spans: dict[str, list[tuple[int, int]]] = {}
    unplaced: list[str] = []
    for q in quotes:
        quote, field = scrub(str(q.get("quote", ""))), str(q.get("field", ""))
        text = _shown_text(data, field)
        if text is None or not quote:
            unplaced.append(quote)
            continue
        start, end = q.get("start"), q.get("end")
        if not (isinstance(start, int) and isinstance(end, int) and text[start:end] == quote):
            start = text.find(quote)
            end = start + len(quote)
        if start < 0:
            unplaced.append(quote)
            continue
        spans.setdefault(field, []).append((start, end))
    marked = [MarkedSource(f, mark(_shown_text(data, f) or "", s), len(s)) for f, s in spans.items()]
    return marked, unplaced


def _shown_text(data: Any, field: str) -> str | None:
    # What a reviewer sees of a field: configured secrets out (a recorded offset that no
    # longer selects its quote then falls back to finding it).
    text = field_text(data, field)
    return scrub(text) if text else text
