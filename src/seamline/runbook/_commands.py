"""The commands a runbook gives: every line of its fenced ``sh`` blocks.

Parsed with markdown-it-py (CommonMark, the parser Rich already ships) rather than a regular
expression, so a fence inside a table cell or an indented block is read as Markdown reads it.
A line's comment may document its exit code: ``# exits 2 until …``; otherwise it is 0.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from markdown_it import MarkdownIt

_EXITS = re.compile(r"#\s*exits\s+(\d+)")


@dataclass(frozen=True, slots=True)
class Command:
    line: str  # as written, comment included
    argv: tuple[str, ...]  # the words, comment left out
    exit_code: int  # the code it documents


def commands(markdown: str) -> list[Command]:
    """Every command of the ``sh`` blocks, in order."""
    out = []
    for token in MarkdownIt("commonmark").parse(markdown):
        if token.type != "fence" or token.info.strip() != "sh":
            continue
        for line in token.content.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            code = _EXITS.search(line)
            out.append(Command(line, tuple(shlex.split(line, comments=True)),
                               int(code.group(1)) if code else 0))
    return out
