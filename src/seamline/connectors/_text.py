"""Is the text a vendor shows the text we sent? (finding a note or reply after a crash)

Pipedrive keeps a note as sanitised HTML and Intercom wraps a reply in ``<p>``; comparing
what a person reads (tags dropped, entities decoded, whitespace collapsed) tells our
text from another. Built on the standard library's ``html.parser``, which decodes
entities and tolerates broken markup; no dependency does exactly this comparison.
"""

from __future__ import annotations

from html.parser import HTMLParser


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p", "div", "li"):
            self.parts.append(" ")


def readable(html_or_text: str) -> str:
    """The words a person reads in ``html_or_text``, whitespace collapsed."""
    parser = _Text()
    parser.feed(html_or_text)
    parser.close()
    return " ".join("".join(parser.parts).split())


def same_text(shown: object, sent: str) -> bool:
    """Whether ``shown`` (what the vendor returns) reads as ``sent``."""
    return isinstance(shown, str) and readable(shown) == readable(sent)
