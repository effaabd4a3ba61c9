"""Finding a quote verbatim in a source, after whitespace, case and Unicode normalisation.

"Verbatim" forgives what a model cannot see or reproduce faithfully — runs of
whitespace, letter case (casefold: "PLEASE" is "please", "ß" is "ss"), Unicode
compatibility forms (ligatures, full-width letters, non-breaking spaces, composed or
decomposed accents: two strings are NFKC-equal exactly when they are NFKD-equal, and
NFKD applied per character keeps every output character tied to its input character),
typographic quotes and dashes — and nothing else: one word changed is a miss, and a
quote matches whole words only ("5" is not found in "512"). Offsets are reported in the
*original* source text, so a reviewer's highlight lands on the real characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

# Typographic forms models and sources swap freely, mapped to one spelling each.
_FOLD = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2026": "...",
})
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=4096)
def _fold_char(ch: str, casefold: bool) -> str:
    """One character's normal form (NFKD, typography folded, casefolded if asked)."""
    out = unicodedata.normalize("NFKD", ch).translate(_FOLD)
    if casefold:
        out = unicodedata.normalize("NFKD", out.casefold())
    return out


@dataclass(frozen=True, slots=True)
class Normal:
    """A text in normal form, and for each of its characters the original index."""

    text: str
    where: Sequence[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original (start, end) of the normal-form slice [start, end)."""
        return self.where[start], self.where[end - 1] + 1


def _normal(text: str, casefold: bool) -> Normal:
    if text.isascii():  # the common case, at C speed: only case and whitespace change
        body = text.lower() if casefold else text
        if " ".join(body.split()) == body:
            return Normal(body, range(len(body)))
        out: list[str] = []
        where: list[int] = []
        at = 0
        for m in _SPACE.finditer(body):
            if m.start() > at:
                if out:
                    out.append(" ")
                    where.append(at - 1)
                out.append(body[at:m.start()])
                where.extend(range(at, m.start()))
            at = m.end()
        if at < len(body):
            if out:
                out.append(" ")
                where.append(at - 1)
            out.append(body[at:])
            where.extend(range(at, len(body)))
        return Normal("".join(out), tuple(where))
    chars: list[str] = []
    index: list[int] = []
    pending_space = False
    for i, ch in enumerate(text):
        for c in _fold_char(ch, casefold):
            if c.isspace():
                pending_space = bool(chars)
                continue
            if pending_space:
                chars.append(" ")
                index.append(i)
                pending_space = False
            chars.append(c)
            index.append(i)
    return Normal("".join(chars), tuple(index))


def normal_form(text: str, *, casefold: bool = True) -> Normal:
    """``text`` in the normal form quotes are compared in, with its offsets."""
    return _normal(text, casefold)


def normalise(text: str) -> tuple[str, list[int]]:
    """The normalised text, and for each of its characters the index it came from."""
    n = _normal(text, True)
    return n.text, list(n.where)


def _wordish(c: str) -> bool:
    return c.isalnum() or unicodedata.combining(c) > 0


def occurrences(needle: str, hay: str) -> Iterator[int]:
    """Start of each whole-word occurrence of ``needle`` in ``hay`` (both in normal form)."""
    if not needle:
        return
    first, last = _wordish(needle[0]), _wordish(needle[-1])
    at = hay.find(needle)
    while at >= 0:
        end = at + len(needle)
        if not (first and at > 0 and _wordish(hay[at - 1])) and not (
                last and end < len(hay) and _wordish(hay[end])):
            yield at
        at = hay.find(needle, at + 1)


def find_verbatim(quote: str, source: str) -> tuple[int, int] | None:
    """(start, end) of ``quote`` in ``source`` (original offsets), or None if it is not there."""
    needle = _normal(quote, True).text
    hay = _normal(source, True)
    for at in occurrences(needle, hay.text):
        return hay.span(at, at + len(needle))
    return None
