"""Anthropic's citations wire format: document blocks out, cited text blocks back.

Follows https://docs.anthropic.com/en/docs/build-with-claude/citations :

- each source goes as a ``document`` content block with ``citations: {"enabled": true}``
  (the API wants all documents of a request cited or none): plain text as
  ``{"type": "text", "media_type": "text/plain", "data": ...}``, a PDF as
  ``{"type": "base64", "media_type": "application/pdf", "data": ...}``, a list of
  blocks as ``{"type": "content", "content": [{"type": "text", "text": ...}, ...]}``;
- the answer comes back as text blocks, some carrying a ``citations`` array of
  ``char_location`` (``document_index``, ``start_char_index``, ``end_char_index``),
  ``page_location`` (``start_page_number``, ``end_page_number``) or
  ``content_block_location`` (``start_block_index``, ``end_block_index``), each with the
  ``cited_text``.

Each text block that carries citations is one statement: it becomes one claim, and its
cited texts the claim's quotes (the grounding checks then hold the claim to them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seamline.citations import Citation, CitationKind, CitationRequest, SourceDocument
from seamline.inference._types import Message

# The docs observe the model rarely cites inside a structure it was asked for unless
# told to, so the cited call asks for plain sentences and says to cite in them.
CITE_INSTRUCTION = (
    "Answer in plain sentences, not JSON, using only the documents provided. Back every "
    "statement with citations of those documents. If they do not hold the answer, say so "
    "in one sentence without citations.")
EXTRACT_INSTRUCTION = (
    "Record the answer you just gave in the output format asked for above. Keep to what it "
    "says: add no fact it does not state.")

# wire type -> (kind, start key, end key)
_LOCATIONS: dict[str, tuple[CitationKind, str, str]] = {
    "char_location": ("char", "start_char_index", "end_char_index"),
    "page_location": ("page", "start_page_number", "end_page_number"),
    "content_block_location": ("block", "start_block_index", "end_block_index"),
}


def document_block(doc: SourceDocument) -> dict[str, Any]:
    """One document content block, citations enabled."""
    source: dict[str, Any]
    if doc.kind == "pdf":
        source = {"type": "base64", "media_type": "application/pdf", "data": doc.pdf_base64}
    elif doc.kind == "content":
        source = {"type": "content", "content": [{"type": "text", "text": b} for b in doc.blocks]}
    else:
        source = {"type": "text", "media_type": "text/plain", "data": doc.text}
    block: dict[str, Any] = {"type": "document", "source": source,
                             "citations": {"enabled": True}}
    if doc.title:
        block["title"] = doc.title[:200]  # the API caps titles; context is not needed here
    return block


def cited_messages(messages: tuple[Message, ...] | list[Message],
                   documents: tuple[SourceDocument, ...]) -> list[dict[str, Any]]:
    """The turns of a cited call: the documents open the first user turn, the instruction
    to cite closes the last one."""
    turns = [m for m in messages if m.role != "system"]
    first_user = next((i for i, m in enumerate(turns) if m.role == "user"), None)
    last_user = max((i for i, m in enumerate(turns) if m.role == "user"), default=None)
    out: list[dict[str, Any]] = []
    for i, m in enumerate(turns):
        content: list[dict[str, Any]] = []
        if i == first_user:
            content += [document_block(d) for d in documents]
        if m.content:
            content.append({"type": "text", "text": m.content})
        if i == last_user:
            content.append({"type": "text", "text": CITE_INSTRUCTION})
        out.append({"role": m.role, "content": content or m.content})
    return out


def citation_of(wire: Any, claim: int) -> Citation:
    """One wire citation (an SDK object) as Seamline's :class:`Citation`."""
    kind_of = str(getattr(wire, "type", "") or "")
    cited = str(getattr(wire, "cited_text", "") or "")
    location = _LOCATIONS.get(kind_of)
    if location is None:  # a web or search-result citation: nothing Seamline sent
        return Citation(claim, -1, "unknown", 0, 0, cited, kind_of)
    kind, start, end = location
    return Citation(claim, int(getattr(wire, "document_index", -1)), kind,
                    int(getattr(wire, start, 0)), int(getattr(wire, end, 0)), cited, kind_of)


@dataclass
class CitedAnswer:
    """A cited reply read: its whole text, its cited statements as claims, their citations."""

    text: str = ""
    claims: list[dict[str, Any]] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)


def read_cited(message: Any, creq: CitationRequest) -> CitedAnswer:
    """The answer of a cited Message: every text block with citations is one claim."""
    answer = CitedAnswer()
    parts: list[str] = []
    for block in message.content:
        if getattr(block, "type", "") != "text":
            continue
        parts.append(block.text)
        wires = getattr(block, "citations", None) or []
        statement = block.text.strip()
        if not wires or not statement:
            continue
        index = len(answer.claims)
        found = [citation_of(w, index) for w in wires]
        answer.claims.append({creq.text_key: statement,
                              creq.quotes_key: [c.cited_text for c in found if c.cited_text]})
        answer.citations += found
    answer.text = "".join(parts).strip()
    return answer


def needs_extraction(schema: dict[str, Any] | None, creq: CitationRequest) -> bool:
    """Whether the output asks for more than the cited answer fills (its claims and text):
    then a second, structured call records the rest."""
    if not schema:
        return False
    filled = {creq.claims_field, creq.answer_field} - {""}
    return bool(set(schema.get("required") or ()) - filled)


def extraction_messages(messages: tuple[Message, ...], answer: str) -> tuple[Message, ...]:
    """The structured call after a cited one: the same conversation, the cited answer as the
    model's turn, and the request to record it in the output format."""
    return (*messages, Message("assistant", answer or "(no answer)"),
            Message("user", EXTRACT_INSTRUCTION))


def merged(output: dict[str, Any], creq: CitationRequest, answer: CitedAnswer) -> dict[str, Any]:
    """The output with the cited claims (and text) written over what extraction put there:
    the claims checked are exactly the statements the provider cited."""
    out = dict(output)
    out[creq.claims_field] = answer.claims
    if creq.answer_field:
        out[creq.answer_field] = answer.text
    return out
