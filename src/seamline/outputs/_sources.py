"""The texts quotes may come from, prepared once per answer, and where a quote is in them.

Each source knows its trust level (a trusted reference the integration declared —
knowledge base, CRM record, retrieved documents — or untrusted user text, the default),
its tokens in normal form, and the stretches that read as instructions to the model.
A quote is located at its best occurrence: in a trusted reference before user text,
and outside instruction-like text before inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seamline.outputs._instructions import InstructionSpan, instruction_spans
from seamline.outputs._tokens import Token, is_content, tokenize
from seamline.outputs._verbatim import Normal, normal_form, occurrences

TRUSTED, UNTRUSTED = "trusted", "untrusted"


_CONTEXT = 400  # characters before a quote read for its sentence (negation, capitals)


@dataclass(slots=True)
class Source:
    """One source text in normal form; tokenised lazily, where quotes land."""

    name: str
    text: str
    trusted: bool
    normal: Normal
    marked: tuple[InstructionSpan, ...]
    _tokens: list[Token] | None = None
    _capital: dict[str, bool] = field(default_factory=dict)

    @property
    def level(self) -> str:
        return TRUSTED if self.trusted else UNTRUSTED

    @property
    def tokens(self) -> list[Token]:
        """Every token of the text (tokenised on first use)."""
        if self._tokens is None:
            self._tokens = tokenize(self.normal.text)
        return self._tokens

    def marked_at(self, start: int, end: int) -> InstructionSpan | None:
        """The instruction-like stretch overlapping original [start, end), if any."""
        for span in self.marked:
            if span.start < end and start < span.end:
                return span
        return None

    def tokens_in(self, start: int, end: int) -> list[Token]:
        """The tokens inside normal-form [start, end), read in their sentence: the text
        is tokenised from the sentence's start, so a "not" before the quote counts."""
        if self._tokens is not None:
            return [t for t in self._tokens if t.start >= start and t.end <= end]
        hay = self.normal.text
        floor = max(0, start - _CONTEXT)
        head = max(hay.rfind(". ", floor, start), hay.rfind("! ", floor, start),
                   hay.rfind("? ", floor, start))
        if head >= 0:
            head += 2
        else:
            head = hay.find(" ", floor, start) + 1 if floor else 0
        out = []
        for t in tokenize(hay[head:end]):
            t.start, t.end = t.start + head, t.end + head
            if t.start >= start:
                out.append(t)
        return out

    def capitalised(self, t: Token) -> bool:
        """Whether ``t`` is written with a capital in the original text."""
        return self.text[self.normal.where[t.start]].isupper()

    def capital_only(self, low: str) -> bool:
        """True when the word ``low`` occurs here and only ever with a capital (a name)."""
        if low not in self._capital:
            seen = [self.text[self.normal.where[at]].isupper()
                    for at in occurrences(low, self.normal.text)]
            self._capital[low] = bool(seen) and all(seen)
        return self._capital[low]


def prepare(name: str, text: str, trusted: bool) -> Source:
    return Source(name, text, trusted, normal_form(text), instruction_spans(text))


@dataclass(frozen=True, slots=True)
class Located:
    """One quote at its best occurrence."""

    quote: str
    source: Source
    start: int  # original offsets
    end: int
    tokens: tuple[Token, ...]
    marked: InstructionSpan | None

    @property
    def content_words(self) -> int:
        return sum(1 for t in self.tokens if is_content(t))

    def as_dict(self, path: str) -> dict[str, Any]:
        hit: dict[str, Any] = {"quote": self.quote, "field": self.source.name,
                               "start": self.start, "end": self.end, "path": path,
                               "trust": self.source.level}
        if self.marked is not None:
            hit["instructions"] = self.marked.phrase
        return hit


def locate(quote: str, sources: list[Source]) -> Located | None:
    """``quote`` at its best occurrence in ``sources``, or None if it is in none of them."""
    needle = normal_form(quote).text
    best: tuple[tuple[int, int], Located] | None = None
    for source in sources:
        for at in occurrences(needle, source.normal.text):
            start, end = source.normal.span(at, at + len(needle))
            marked = source.marked_at(start, end)
            rank = (int(marked is not None), int(not source.trusted))
            if best is None or rank < best[0]:
                tokens = tuple(source.tokens_in(at, at + len(needle)))
                best = (rank, Located(quote, source, start, end, tokens, marked))
            if rank == (0, 0):
                return best[1]
    return best[1] if best is not None else None
