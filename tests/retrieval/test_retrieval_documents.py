"""Loading: each format becomes headed blocks that remember their line or page."""

from __future__ import annotations

import pytest
from retrieval_fixtures import tiny_pdf

from seamline.errors import ConfigError
from seamline.retrieval import load_blocks
from seamline.retrieval._documents import html_blocks, markdown_blocks, text_blocks


def test_markdown_headings_become_levelled_blocks_and_fenced_code_is_not_a_heading():
    text = "# Title\n\nIntro line.\n\n## Part\n\n```\n# not a heading\n```\nBody.\n"
    blocks = markdown_blocks(text)
    assert [(b.level, b.text.splitlines()[0], b.line) for b in blocks] == [
        (1, "Title", 1), (0, "Intro line.", 3), (2, "Part", 5), (0, "```", 7)]
    assert "# not a heading" in blocks[-1].text


def test_html_keeps_headings_and_drops_scripts_styles_and_navigation():
    html = ("<html><head><style>p{}</style></head><body><nav>Menu</nav>\n<h1>Guide</h1>\n"
            "<p>First &amp; foremost.</p><script>x()</script>\n<h2>Setup</h2>\n<p>Run it.</p>"
            "</body></html>")
    blocks = html_blocks(html)
    assert [(b.level, b.text) for b in blocks] == [
        (1, "Guide"), (0, "First & foremost."), (2, "Setup"), (0, "Run it.")]
    assert blocks[2].line == 4


def test_plain_text_is_split_into_paragraphs_with_their_lines():
    blocks = text_blocks("one\ntwo\n\n\nthree\n")
    assert [(b.text, b.line, b.end_line) for b in blocks] == [("one\ntwo", 1, 2), ("three", 5, 5)]


def test_pdf_pages_become_blocks_that_know_their_page(tmp_path):
    path = tmp_path / "manual.pdf"
    path.write_bytes(tiny_pdf(["Refunds take ten days.", "Invoices are monthly."]))
    blocks = load_blocks(path)
    assert [(b.page, b.text) for b in blocks] == [
        (1, "Refunds take ten days."), (2, "Invoices are monthly.")]


def test_an_unknown_suffix_is_refused_with_a_sentence(tmp_path):
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(b"")
    with pytest.raises(ConfigError, match="not Markdown, HTML, text or PDF"):
        load_blocks(path)
