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
from seamline.outputs._tokens import Token, is_content, is_informative, text_language, tokenize
from seamline.outputs._verbatim import Normal, normal_form, occurrences

TRUSTED, UNTRUSTED = "trusted", "untrusted"


_CONTEXT = 400  # characters before a quote read for its sentence (negation, capitals)
_BEFORE = 8  # tokens before a quote kept: what the quote was cut out of


@dataclass(slots=True)
class Source:
    """One source text in normal form; tokenised lazily, where quotes land."""

    name: str
    text: str
    trusted: bool
    normal: Normal
    marked: tuple[InstructionSpan, ...]
    lang: str = "en"  # the language its words are lemmatised in
    _tokens: list[Token] | None = None
    _capital: dict[str, bool] = field(default_factory=dict)

    @property
    def level(self) -> str:
        return TRUSTED if self.trusted else UNTRUSTED

    @property
    def tokens(self) -> list[Token]:
        """Every token of the text (tokenised on first use)."""
        if self._tokens is None:
            self._tokens = tokenize(self.normal.text, self.lang)
        return self._tokens

    def marked_at(self, start: int, end: int) -> InstructionSpan | None:
        """The instruction-like stretch overlapping original [start, end), if any."""
        for span in self.marked:
            if span.start < end and start < span.end:
                return span
        return None

    def window(self, start: int, end: int) -> tuple[list[Token], list[Token], Token | None]:
        """(the tokens of the sentence before normal-form [start, end), those inside, the
        first token after it): the quote read in its place. The text is tokenised from the
        sentence's start, so a "not" before the quote counts, and what the quote was cut
        out of ("my colleague's | laptop") and what follows it ("is | not") are seen."""
        if self._tokens is not None:
            tokens = self._tokens
            before = [t for t in tokens if t.end <= start][-_BEFORE:]
            ends = [i for i, t in enumerate(before) if t.kind == "punct" and t.text in ".!?"]
            return (before[ends[-1] + 1:] if ends else before,
                    [t for t in tokens if t.start >= start and t.end <= end],
                    next((t for t in tokens if t.start >= end), None))
        hay = self.normal.text
        floor = max(0, start - _CONTEXT)
        head = max(hay.rfind(". ", floor, start), hay.rfind("! ", floor, start),
                   hay.rfind("? ", floor, start))
        if head >= 0:
            head += 2
        else:
            head = hay.find(" ", floor, start) + 1 if floor else 0
        inside: list[Token] = []
        before = []
        for t in tokenize(hay[head:end], self.lang):
            t.start, t.end = t.start + head, t.end + head
            (inside if t.start >= start else before).append(t)
        tail = hay[end:end + 40]
        after = None
        if tail.strip():
            first = tokenize(tail, self.lang)[:1]
            if first:
                after = first[0]
                after.start, after.end = after.start + end, after.end + end
        return before[-_BEFORE:], inside, after

    def capitalised(self, t: Token) -> bool:
        """Whether ``t`` is written with a capital in the original text."""
        return self.text[self.normal.where[t.start]].isupper()

    def has(self, low: str) -> bool:
        """Whether the word ``low`` (casefolded) occurs here as a whole word."""
        return next(occurrences(low, self.normal.text), None) is not None

    def capital_only(self, low: str) -> bool:
        """True when the word ``low`` occurs here and only ever with a capital (a name)."""
        if low not in self._capital:
            seen = [self.text[self.normal.where[at]].isupper()
                    for at in occurrences(low, self.normal.text)]
            self._capital[low] = bool(seen) and all(seen)
        return self._capital[low]


def prepare(name: str, text: str, trusted: bool) -> Source:
    normal = normal_form(text)
    return Source(name, text, trusted, normal, instruction_spans(text),
                  text_language(normal.text[:2000]))


@dataclass(frozen=True, slots=True)
class Located:
    """One quote at its best occurrence."""

    quote: str
    source: Source
    start: int  # original offsets
    end: int
    tokens: tuple[Token, ...]
    marked: InstructionSpan | None
    before: tuple[Token, ...] = ()  # the sentence's last tokens before the quote
    after: Token | None = None  # the token right after it

    @property
    def content_words(self) -> int:
        """Its informative words: not stop words (a framing word such as "customer" in a
        CRM record's "Customer since 2019" informs; "the", "that", "I want a" do not)."""
        return sum(1 for t in self.tokens if is_content(t) or is_informative(t))

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
                before, inside, after = source.window(at, at + len(needle))
                best = (rank, Located(quote, source, start, end, tuple(inside), marked,
                                      tuple(before), after))
            if rank == (0, 0):
                return best[1]
    return best[1] if best is not None else None
