"""Retrieval, chunking: heading-aware chunks with a token overlap, each knowing where it came from.

A chunk never spans two sections, so its heading path says what it is about; a section
longer than ``max_tokens`` is cut into windows that share ``overlap`` tokens, so a
sentence cut at a boundary is still whole in one of the two chunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from seamline.ingest import TokenCounter, default_counter
from seamline.retrieval._documents import Block

DEFAULT_MAX_TOKENS = 512
DEFAULT_OVERLAP = 200


@dataclass(frozen=True)
class Chunk:
    """A piece of one document: its id (``source#n``), heading path and location."""

    id: str
    source: str
    ordinal: int
    heading_path: tuple[str, ...]
    text: str
    start_line: int
    end_line: int
    page: int | None = None

    @property
    def location(self) -> str:
        where = f"p.{self.page} " if self.page else ""
        return f"{self.source}:{where}L{self.start_line}-{self.end_line}"


@dataclass
class _Section:
    path: tuple[str, ...]
    words: list[tuple[str, int]]  # word, line
    page: int | None


def _sections(blocks: list[Block], title: str) -> list[_Section]:
    sections: list[_Section] = []
    path: list[tuple[int, str]] = []
    current: _Section | None = None
    for block in blocks:
        if block.level:
            path = [(lvl, h) for lvl, h in path if lvl < block.level] + [(block.level, block.text)]
            current = None
            continue
        heads = tuple(h for _, h in path) or (title,)
        if current is None or current.page != block.page or current.path != heads:
            current = _Section(heads, [], block.page)
            sections.append(current)
        for offset, line in enumerate(block.text.split("\n")):
            current.words.extend((w, block.line + offset) for w in line.split())
    return sections


def chunk_blocks(source: str, blocks: list[Block], *, max_tokens: int = DEFAULT_MAX_TOKENS,
                 overlap: int = DEFAULT_OVERLAP, counter: TokenCounter | None = None
                 ) -> list[Chunk]:
    """Cut ``blocks`` into chunks of at most ``max_tokens`` (one word may exceed it)."""
    if not 0 <= overlap < max_tokens:
        raise ValueError(f"overlap ({overlap}) must be at least 0 and below max_tokens "
                         f"({max_tokens}).")
    counter = counter or default_counter()
    title = re.sub(r"[_-]+", " ", source.rsplit("/", 1)[-1].rsplit(".", 1)[0])
    chunks: list[Chunk] = []
    for section in _sections(blocks, title):
        cost = [max(1, counter.count(w)) for w, _ in section.words]
        start = 0
        while start < len(section.words):
            end, used = start, 0
            while end < len(section.words) and (end == start or used + cost[end] <= max_tokens):
                used += cost[end]
                end += 1
            words = section.words[start:end]
            chunks.append(Chunk(f"{source}#{len(chunks)}", source, len(chunks), section.path,
                                " ".join(w for w, _ in words), words[0][1], words[-1][1],
                                section.page))
            if end >= len(section.words):
                break
            back, kept = end, 0  # the next window starts ``overlap`` tokens before this end
            while back - 1 > start and kept + cost[back - 1] <= overlap:
                back -= 1
                kept += cost[back]
            start = back
    return chunks
