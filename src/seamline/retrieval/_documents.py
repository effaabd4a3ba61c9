"""Retrieval, loading: Markdown, HTML, plain text and PDF read into headed blocks.

Every loader returns the same shape (a list of :class:`Block`) so the chunker needs to
know nothing about formats; each block keeps where it came from (line or page) so an
answer's citation can be traced back to the page a person would open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from seamline.errors import ConfigError

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
            ".txt": "text", ".pdf": "pdf"}
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass(frozen=True)
class Block:
    """A heading (``level`` 1-6) or a run of body text, with its first line and its page."""

    text: str
    line: int
    level: int = 0  # 0: body text
    page: int | None = None
    end_line: int | None = None


def load_blocks(path: Path) -> list[Block]:
    """The blocks of one file, by its suffix; an unknown suffix is a configuration error."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ConfigError(f"{path} is not Markdown, HTML, text or PDF "
                          f"(suffixes {', '.join(sorted(SUFFIXES))}).")
    if kind == "pdf":
        return pdf_blocks(path.read_bytes())
    text = path.read_text(encoding="utf-8", errors="replace")
    return {"markdown": markdown_blocks, "html": html_blocks, "text": text_blocks}[kind](text)


def markdown_blocks(text: str) -> list[Block]:
    """ATX headings (``#`` … ``######``) start sections; fenced code never does."""
    blocks: list[Block] = []
    body: list[str] = []
    start = 1
    fenced = False

    def flush(end: int) -> None:
        if "".join(body).strip():
            blocks.append(Block("\n".join(body).strip("\n"), start, end_line=end))
        body.clear()

    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        match = None if fenced else _MD_HEADING.match(line)
        if match:
            flush(n - 1)
            blocks.append(Block(match.group(2), n, level=len(match.group(1)), end_line=n))
            start = n + 1
        elif body or line.strip():  # a body starts at its first non-blank line
            if not body:
                start = n
            body.append(line)
    flush(len(text.splitlines()))
    return blocks


def text_blocks(text: str) -> list[Block]:
    """Plain text has no headings: paragraphs (blank-line separated) are its blocks."""
    blocks: list[Block] = []
    para: list[str] = []
    start = 1
    for n, line in enumerate([*text.splitlines(), ""], 1):
        if line.strip():
            if not para:
                start = n
            para.append(line)
        elif para:
            blocks.append(Block("\n".join(para), start, end_line=n - 1))
            para = []
    return blocks


class _HtmlBlocks(HTMLParser):
    _SKIP = frozenset({"script", "style", "head", "nav", "noscript"})
    _BREAK = frozenset({"p", "div", "li", "br", "tr", "section", "article", "pre", "table", "ul",
                        "ol"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._buf: list[str] = []
        self._start = 1
        self._level = 0
        self._skip = 0

    def _flush(self) -> None:
        text = re.sub(r"[ \t]+", " ", "".join(self._buf)).strip()
        text = re.sub(r"\s*\n\s*", "\n", text)
        if text:
            self.blocks.append(Block(text, self._start, level=self._level,
                                     end_line=self.getpos()[0]))
        self._buf = []
        self._level = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._level = int(tag[1])
            self._start = self.getpos()[0]
        elif tag in self._BREAK:
            self._buf.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._start = self.getpos()[0]

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if not "".join(self._buf).strip() and data.strip():
            self._start = self.getpos()[0]
        self._buf.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def html_blocks(text: str) -> list[Block]:
    """``<h1>``–``<h6>`` start sections; scripts, styles and navigation are dropped."""
    parser = _HtmlBlocks()
    parser.feed(text)
    parser.close()
    return parser.blocks


def pdf_blocks(data: bytes) -> list[Block]:
    """One block per page with text (PDF has no reliable headings); the page is the location."""
    import io

    from pypdf import PdfReader

    blocks = []
    for number, page in enumerate(PdfReader(io.BytesIO(data)).pages, 1):
        text = (page.extract_text() or "").strip()
        if text:
            blocks.append(Block(text, 1, page=number, end_line=text.count("\n") + 1))
    return blocks
