"""Chunking: one section per chunk, long sections windowed with a token overlap."""

from __future__ import annotations

import itertools

import pytest

from seamline.retrieval import chunk_blocks
from seamline.retrieval._documents import markdown_blocks, text_blocks


class WordCounter:
    """One token per word, so the expected boundaries can be counted by hand."""

    name = "words"

    def count(self, text: str) -> int:
        return len(text.split())


def test_each_chunk_keeps_its_heading_path_and_line_range():
    md = "# Guide\nIntro.\n## Install\nRun pip.\n### Linux\nUse apt.\n## Use\nCall it.\n"
    chunks = chunk_blocks("guide.md", markdown_blocks(md), counter=WordCounter())
    assert [(c.id, c.heading_path, c.start_line, c.end_line) for c in chunks] == [
        ("guide.md#0", ("Guide",), 2, 2),
        ("guide.md#1", ("Guide", "Install"), 4, 4),
        ("guide.md#2", ("Guide", "Install", "Linux"), 6, 6),
        ("guide.md#3", ("Guide", "Use"), 8, 8),  # a sibling heading pops the deeper ones
    ]
    assert chunks[2].location == "guide.md:L6-6"


def test_a_long_section_is_windowed_with_exactly_the_overlap():
    words = [f"w{i}" for i in range(25)]
    text = "\n".join(" ".join(words[i:i + 5]) for i in range(0, 25, 5))  # 5 lines of 5 words
    chunks = chunk_blocks("notes.txt", text_blocks(text), max_tokens=10, overlap=4,
                          counter=WordCounter())
    bodies = [c.text.split() for c in chunks]
    assert all(len(b) <= 10 for b in bodies)
    for before, after in itertools.pairwise(bodies):
        assert before[-4:] == after[:4]  # 4 tokens shared
    assert bodies[0][0] == "w0" and bodies[-1][-1] == "w24"
    assert [(c.start_line, c.end_line) for c in chunks][:2] == [(1, 2), (2, 4)]
    assert chunks[0].heading_path == ("notes",)  # no headings: the file's name


def test_no_overlap_means_disjoint_chunks_covering_every_word():
    text = " ".join(f"w{i}" for i in range(23))
    chunks = chunk_blocks("a.txt", text_blocks(text), max_tokens=10, overlap=0,
                          counter=WordCounter())
    assert " ".join(c.text for c in chunks) == text
    assert [len(c.text.split()) for c in chunks] == [10, 10, 3]


def test_the_default_overlap_is_200_tokens():
    text = " ".join(f"w{i}" for i in range(1200))
    chunks = chunk_blocks("a.txt", text_blocks(text), counter=WordCounter())
    first, second = chunks[0].text.split(), chunks[1].text.split()
    assert len(first) == 512 and first[-200:] == second[:200]


def test_an_overlap_as_large_as_the_chunk_is_refused():
    with pytest.raises(ValueError, match="overlap"):
        chunk_blocks("a.txt", [], max_tokens=100, overlap=100)
