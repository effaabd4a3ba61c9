"""What a provider's citations API is sent and answers: documents out, citations in.

Shared by two layers, so it sits beside them: inference carries these across the seam
(``ModelRequest.citations``, ``ModelReply.citations``) and outputs builds the documents
and checks the citations (``seamline.outputs.check_cited``).

A request that carries a :class:`CitationRequest` asks a provider that has a citations API
(Anthropic's Messages API) to answer from these documents and say, for each statement,
which span of which document backs it. The documents are the integration's grounding
sources exactly as the prompt sees them -- the redacted input and the retrieved
documents, never raw PII -- built by ``seamline.outputs.citation_request``.

A provider without a citations API ignores the request; its reply's ``citations`` stays
None, and the grounding checks fall back to the quote contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

DocumentKind = Literal["text", "pdf", "content"]
CitationKind = Literal["char", "page", "block", "unknown"]


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """One document sent to be cited: a plain text, a PDF, or a list of content blocks.

    ``name`` is the grounding source it stands for (an input field, ``documents[2].text``),
    so what the provider cites is checked against the very text that was sent.
    """

    name: str
    title: str
    kind: DocumentKind = "text"
    text: str = ""  # kind "text": the (redacted) text
    pdf_base64: str = ""  # kind "pdf": the PDF, base64-encoded
    blocks: tuple[str, ...] = ()  # kind "content": one text per block
    block_names: tuple[str, ...] = ()  # kind "content": the source each block is


@dataclass(frozen=True, slots=True)
class CitationRequest:
    """The documents to cite from, and where the cited statements go in the output.

    Each statement the provider backs with citations becomes one claim of
    ``claims_field`` (``{text_key: statement, quotes_key: [cited text, ...]}``); the whole
    answer's text goes to ``answer_field`` when one is named.
    """

    documents: tuple[SourceDocument, ...]
    claims_field: str
    text_key: str = "text"
    quotes_key: str = "quotes"
    answer_field: str = ""


@dataclass(frozen=True, slots=True)
class Citation:
    """One span a provider says backs claim ``claim``: its location as the provider gave it.

    ``kind`` "char": ``start``/``end`` are character offsets into a text document (0-based,
    end exclusive); "page": page numbers of a PDF (1-based, end exclusive); "block": block
    indices of a content document (0-based, end exclusive). "unknown": a location Seamline
    does not check (it never counts as support).
    """

    claim: int
    document: int
    kind: CitationKind
    start: int
    end: int
    cited_text: str
    wire_type: str = ""  # the provider's name for the location ("char_location", ...)

    def as_dict(self) -> dict[str, Any]:
        return {"claim": self.claim, "document": self.document, "kind": self.kind,
                "start": self.start, "end": self.end, "cited_text": self.cited_text,
                "wire_type": self.wire_type}
