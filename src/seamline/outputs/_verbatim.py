"""Finding a quote verbatim in a source, after whitespace and Unicode normalisation.

"Verbatim" forgives what a model cannot see or reproduce faithfully — runs of
whitespace, Unicode compatibility forms (NFKC: ligatures, full-width letters,
non-breaking spaces, composed or decomposed accents), typographic quotes and dashes — and nothing else: one word
changed is a miss (NFKD is applied per character). Offsets are reported in the *original* source text, so a reviewer's
highlight lands on the real characters.
"""

from __future__ import annotations

import unicodedata

# Typographic forms models and sources swap freely, mapped to one spelling each.
_FOLD = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2026": "...",
})


def normalise(text: str) -> tuple[str, list[int]]:
    """The normalised text, and for each of its characters the index it came from."""
    out: list[str] = []
    where: list[int] = []
    pending_space = False
    for i, ch in enumerate(text):
        # NFKD character by character: composed and decomposed accents meet in one form.
        folded = unicodedata.normalize("NFKD", ch).translate(_FOLD)
        for c in folded:
            if c.isspace():
                pending_space = bool(out)
                continue
            if pending_space:
                out.append(" ")
                where.append(i)
                pending_space = False
            out.append(c)
            where.append(i)
    return "".join(out), where


def find_verbatim(quote: str, source: str) -> tuple[int, int] | None:
    """(start, end) of ``quote`` in ``source`` (original offsets), or None if it is not there."""
    needle, _ = normalise(quote)
    if not needle:
        return None
    hay, where = normalise(source)
    at = hay.find(needle)
    if at < 0:
        return None
    end_char = where[at + len(needle) - 1]
    return where[at], end_char + 1
