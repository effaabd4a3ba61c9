"""Emulated citations: document blocks in, text blocks carrying ``citations`` arrays out.

Follows https://docs.anthropic.com/en/docs/build-with-claude/citations :

- a ``document`` block's ``source`` is plain text (``{"type": "text", "media_type":
  "text/plain", "data"}``), a PDF (``{"type": "base64", "media_type": "application/pdf",
  "data"}``), custom content (``{"type": "content", "content": [text blocks]}``), a PDF
  URL or an uploaded file; ``citations: {"enabled": true}`` turns citations on, and they
  must be on for all documents of a request or for none;
- cited documents do not combine with structured outputs (``output_config.format``):
  the API answers 400;
- a cited answer is a list of text blocks; a cited one carries ``citations``, each a
  ``char_location`` (0-based ``start_char_index``, exclusive ``end_char_index``), a
  ``page_location`` (1-based ``start_page_number``, exclusive ``end_page_number``) or a
  ``content_block_location`` (0-based block indices, end exclusive; its ``cited_text`` is
  the whole blocks), with ``document_index`` counting documents in request order.

A script answers with :func:`cited`: ``cited("The plan costs ", ("20 EUR a month.",
cite("20 EUR per month")))``. The emulator finds each quote in the document and reports
where it is, the way the API would; a quote that is in no document is sent as it is (a
forged citation), and ``cite(..., at=(start, end))`` reports that location instead of the
true one (a citation with wrong offsets). The real API promises valid pointers; these two
exist so tests can prove Seamline does not take that on trust.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from seamline.emulator._backend import EmulatedRequest
from seamline.emulator._usage import PromptUsage, approx_tokens
from seamline.emulator._wire import invalid, new_id

_SOURCES = {"text", "base64", "content", "url", "file"}


@dataclass(frozen=True, slots=True)
class Cite:
    """One citation a script asks for: the text cited, in which document (request order)."""

    quote: str
    document: int = 0
    at: tuple[int, int] | None = None  # report this location, not the quote's own


@dataclass(frozen=True, slots=True)
class CitedReply:
    """A script step answering with text blocks, each with the citations it carries."""

    parts: tuple[tuple[str, tuple[Cite, ...]], ...]


def cite(quote: str, document: int = 0, at: tuple[int, int] | None = None) -> Cite:
    return Cite(quote, document, at)


def cited(*parts: str | tuple[str, Cite | Sequence[Cite]]) -> CitedReply:
    """``cited("Intro. ", ("A cited statement.", cite("its source text")))``."""
    out: list[tuple[str, tuple[Cite, ...]]] = []
    for part in parts:
        if isinstance(part, str):
            out.append((part, ()))
        else:
            text, cites = part
            out.append((text, (cites,) if isinstance(cites, Cite) else tuple(cites)))
    return CitedReply(tuple(out))


# ---- the request side ------------------------------------------------------------------------


def check_document(block: dict[str, Any], at: str) -> None:
    """Refuse a malformed document block the way the API does."""
    source = block.get("source")
    if not isinstance(source, dict):
        raise invalid(f"{at}.source: Field required")
    kind = source.get("type")
    if kind not in _SOURCES:
        raise invalid(f"{at}.source.type: Input tag {kind!r} found using 'type' does not match "
                      "any of the expected tags: " + ", ".join(f"'{t}'" for t in sorted(_SOURCES)))
    if kind == "text":
        if source.get("media_type") != "text/plain":
            raise invalid(f"{at}.source.text.media_type: Input should be 'text/plain'")
        if not isinstance(source.get("data"), str):
            raise invalid(f"{at}.source.text.data: Field required")
    elif kind == "base64":
        if source.get("media_type") != "application/pdf":
            raise invalid(f"{at}.source.base64.media_type: Input should be 'application/pdf'")
        try:
            base64.b64decode(str(source.get("data", "")), validate=True)
        except binascii.Error:
            raise invalid(f"{at}.source.base64.data: the PDF is not valid base64") from None
    elif kind == "content":
        content = source.get("content")
        if isinstance(content, list):
            for i, item in enumerate(content):
                if not isinstance(item, dict) or item.get("type") not in ("text", "image"):
                    raise invalid(f"{at}.source.content.content.{i}.type: Input should be "
                                  "'text' or 'image'")
                if item["type"] == "text" and not item.get("text"):
                    raise invalid(f"{at}.source.content.content.{i}: text content blocks must "
                                  "be non-empty")
        elif not isinstance(content, str):
            raise invalid(f"{at}.source.content.content: Input should be a valid string or list")
    config = block.get("citations")
    if config is not None and not (isinstance(config, dict)
                                   and isinstance(config.get("enabled", False), bool)):
        raise invalid(f"{at}.citations.enabled: Input should be a valid boolean")
    for name in ("title", "context"):
        if block.get(name) is not None and not isinstance(block[name], str):
            raise invalid(f"{at}.{name}: Input should be a valid string")


def document_text(block: dict[str, Any]) -> str:
    """A document's text as the model reads it (a PDF's is not decoded here)."""
    source = block.get("source") or {}
    if source.get("type") == "text":
        return str(source.get("data", ""))
    if source.get("type") == "content":
        content = source.get("content")
        if isinstance(content, str):
            return content
        return "".join(str(b.get("text", "")) for b in content or [] if isinstance(b, dict))
    return ""


def documents_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every document block of a request, in the order ``document_index`` counts them."""
    return [block for msg in body.get("messages") or [] if isinstance(msg, dict)
            and isinstance(msg.get("content"), list)
            for block in msg["content"] if isinstance(block, dict)
            and block.get("type") == "document"]


def _enabled(block: dict[str, Any]) -> bool:
    config = block.get("citations")
    return isinstance(config, dict) and config.get("enabled") is True


def check_request(body: dict[str, Any]) -> None:
    """The rules across documents: citations on all or none; none with structured outputs."""
    docs = documents_of(body)
    on = [_enabled(d) for d in docs]
    if any(on) and not all(on):
        raise invalid("citations must be enabled on all or none of the documents in a request")
    config = body.get("output_config")
    if any(on) and isinstance(config, dict) and config.get("format") is not None:
        raise invalid("Citations are not supported together with structured outputs "
                      "(output_config.format): turn citations off or drop the output format")


# ---- the reply side --------------------------------------------------------------------------


def reply(req: EmulatedRequest, out: CitedReply, prompt: PromptUsage) -> dict[str, Any]:
    """The Message: one text block per part, a cited part carrying its citations."""
    docs = documents_of(req.body)
    content: list[dict[str, Any]] = []
    for text, cites in out.parts:
        block: dict[str, Any] = {"type": "text", "text": text}
        if cites:
            block["citations"] = [_citation(docs, c) for c in cites]
        content.append(block)
    output_tokens = max(1, approx_tokens("".join(t for t, _ in out.parts)))
    return {
        "id": new_id("msg_"), "type": "message", "role": "assistant", "model": req.model,
        "content": content, "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": prompt.input_tokens, "output_tokens": output_tokens,
                  "cache_creation_input_tokens": prompt.cache_write_tokens,
                  "cache_read_input_tokens": prompt.cache_read_tokens},
    }


def _citation(docs: list[dict[str, Any]], c: Cite) -> dict[str, Any]:
    """The wire citation of ``c``: where its quote is in its document (or, for a quote in
    no document, or an ``at`` given, the location as scripted)."""
    doc = docs[c.document] if 0 <= c.document < len(docs) else {}
    source = doc.get("source") or {}
    head: dict[str, Any] = {"cited_text": c.quote, "document_index": c.document,
                            "document_title": doc.get("title")}
    if source.get("type") == "base64":
        pages = _pdf_pages(str(source.get("data", "")))
        page = next((n for n, t in enumerate(pages, 1) if _squash(c.quote) in _squash(t)), 1)
        start, end = c.at or (page, page + 1)
        return {"type": "page_location", **head, "start_page_number": start,
                "end_page_number": end}
    if source.get("type") == "content" and isinstance(source.get("content"), list):
        blocks = [str(b.get("text", "")) for b in source["content"] if isinstance(b, dict)]
        found = next((i for i, t in enumerate(blocks) if c.quote in t), None)
        if c.at is not None:
            start, end = c.at
        elif found is not None:  # the real API cites whole blocks
            start, end, head["cited_text"] = found, found + 1, blocks[found]
        else:
            start, end = 0, 1
        return {"type": "content_block_location", **head, "start_block_index": start,
                "end_block_index": end}
    at = document_text(doc).find(c.quote)
    start, end = c.at or ((at, at + len(c.quote)) if at >= 0 else (0, len(c.quote)))
    return {"type": "char_location", **head, "start_char_index": start, "end_char_index": end}


def _squash(text: str) -> str:
    return " ".join(text.split())


def _pdf_pages(data: str) -> list[str]:
    """Each page's text (pypdf: the library Seamline's retrieval reads PDFs with)."""
    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(base64.b64decode(data))).pages]
