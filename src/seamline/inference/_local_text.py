"""Layer 3, inference: how the local model reads text -- sentences and their n-grams.

Shared by fitting (sklearn analyzers) and fast scoring (the same n-grams, mapped to ids).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from itertools import pairwise
from typing import Any

_QUOTE_MAX = 300
_CHAR_MEMO_SIZE = 200_000

# A sentence ends at a newline, at CJK full-width . ! ?, or at a run of . ! ?
# followed by whitespace, a closing quote/bracket or the end (so "$12.50",
# "v2.1" and "example.com" stay whole).
_BOUNDARY = re.compile(r"(?=[\n.!?。！？])(?:\n|[。！？]+|[.!?]+(?=[\s\"'”’»)\]]|$))")
TOKEN = re.compile(r"(?u)\b\w\w+\b")  # sklearn's default token pattern
_SPACES = re.compile(r"\s+")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of the stripped, non-empty sentences of ``text``.

    ``text[start:end]`` is always a verbatim piece of the input; the ending
    punctuation stays with its sentence.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _BOUNDARY.finditer(text):
        end = m.start() if m.group().endswith("\n") else m.end()
        piece = text[pos:end]
        core = piece.strip()
        if core:
            start = pos + len(piece) - len(piece.lstrip())
            spans.append((start, start + len(core)))
        pos = m.end()
    piece = text[pos:]
    core = piece.strip()
    if core:
        start = pos + len(piece) - len(piece.lstrip())
        spans.append((start, start + len(core)))
    return spans


def word_grams(sentence: str) -> list[str]:
    """Word 1-2 grams of one lower-cased sentence (sklearn's default tokens)."""
    toks = TOKEN.findall(sentence)
    return toks + [f"{a} {b}" for a, b in pairwise(toks)]


def char_grams(sentence: str) -> list[str]:
    """``char_wb`` 3-5 grams of one lower-cased sentence, as sklearn makes them."""
    out: list[str] = []
    for w in sentence.split():
        w = f" {w} "
        size = len(w)
        for n in (3, 4, 5):
            if size <= n:
                out.append(w)
                break
            out.extend([w[i : i + n] for i in range(size - n + 1)])
    return out


class SentenceAnalyzer:
    """A picklable sklearn ``analyzer``: n-grams of each sentence, concatenated.

    Per sentence, so no n-gram crosses a boundary and a document's counts are
    exactly the sum of its sentences' counts -- what fast scoring relies on.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, doc: str) -> list[str]:
        grams = word_grams if self.kind == "word" else char_grams
        out: list[str] = []
        for start, end in split_sentences(doc):
            out.extend(grams(doc[start:end].lower()))
        return out


@dataclass(slots=True)
class CharGramIds:
    """Word -> the ids of its ``char_wb`` n-grams that are in the vocabulary.

    Words repeat, so remembering them saves most of the n-gram work at
    prediction time. The memo is bounded and a pure function of the vocabulary.
    """

    vocab: dict[str, int]  # ids already offset past the word block
    memo: dict[str, tuple[int, ...]] = dc_field(default_factory=dict)

    def __call__(self, word: str) -> tuple[int, ...]:
        hit = self.memo.get(word)
        if hit is None:
            get = self.vocab.get
            hit = tuple([i for i in map(get, char_grams(word)) if i is not None])
            if len(self.memo) >= _CHAR_MEMO_SIZE:
                self.memo.clear()
            self.memo[word] = hit
        return hit


def collapse(text: str) -> str:
    """``text`` on one line, runs of whitespace made single spaces."""
    return _SPACES.sub(" ", text).strip()


def cut_words(text: str, limit: int, ellipsis: str = "…") -> str:
    """``text`` cut to ``limit`` characters at a word boundary, ``ellipsis`` added."""
    if len(text) <= limit:
        return text
    room = max(limit - len(ellipsis), 1)
    head = text[:room]
    if not text[room].isspace():
        space = head.rfind(" ")
        if space >= room // 2:  # one very long word: cut inside it rather than lose half
            head = head[:space]
    return head.rstrip(" ,;:-–—") + ellipsis


def quote(sentence: str) -> str:
    """A sentence capped at ~300 chars at a word boundary -- still a verbatim prefix."""
    if len(sentence) <= _QUOTE_MAX:
        return sentence
    head = sentence[:_QUOTE_MAX]
    if not sentence[_QUOTE_MAX].isspace():
        cut = max(head.rfind(" "), head.rfind("\t"))
        if cut >= _QUOTE_MAX // 2:
            head = head[:cut]
    return head.rstrip()


def text_of(data: dict[str, Any], text_fields: Sequence[str]) -> str:
    """The text the model reads: the non-blank ``text_fields`` of ``data``, one per line."""
    parts = []
    for name in text_fields:
        value = data.get(name) if isinstance(data, dict) else None
        if value is None:
            continue
        value = value if isinstance(value, str) else str(value)
        if value.strip():
            parts.append(value)
    return "\n".join(parts)
