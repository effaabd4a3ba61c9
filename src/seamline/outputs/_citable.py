"""The documents a provider's citations API is asked to cite: the grounding sources, as sent.

Built from the same (redacted) input the prompt is rendered from, and from the same
declaration the quote checks read (``sources_of``), so a citation is checked against
the very text the provider saw -- never raw PII, which ingest has already replaced.

- every input source field is one plain text document, titled by its name; a source
  path through a list (``lines[]``, ``messages[].body``) is one custom content document
  with one block per value (a transcript, a thread), cited by block;
- each object of the ``documents_field`` is one document: a PDF when it has
  ``media_type: application/pdf`` and base64 ``data``; custom content when its
  ``content`` is a list of texts; else plain text from its ``text`` (or ``content``,
  ``body``), titled by its ``title`` or id.

The builder is deterministic: the checks rebuild the same list to read ``document_index``.
"""

from __future__ import annotations

from typing import Any

from seamline.citations import CitationRequest, SourceDocument
from seamline.integration import GroundingSpec
from seamline.outputs._grounding import sources_of
from seamline.outputs._paths import values_at

_BODY_KEYS = ("text", "content", "body")
PDF = "application/pdf"


def citation_request(spec: GroundingSpec, data: dict[str, Any]) -> CitationRequest | None:
    """What to ask a provider's citations API for, or None under the quote contract."""
    if spec.citations != "provider" or not spec.claims_field:
        return None
    return CitationRequest(citable_documents(spec, data), spec.claims_field,
                           spec.claim_text_key, spec.claim_quotes_key, spec.answer_field)


def citable_documents(spec: GroundingSpec, data: dict[str, Any]) -> tuple[SourceDocument, ...]:
    """Every grounding source as a document, inputs first, then the documents provided."""
    out: list[SourceDocument] = []
    lists: dict[str, list[tuple[str, str]]] = {}
    prefix = f"{spec.documents_field}[" if spec.documents_field else None
    for name, text in sources_of(spec, data).items():
        if prefix and name.startswith(prefix):
            continue  # the documents field is read per document below
        base = name.split("#", 1)[0]
        if "[]" in base:
            lists.setdefault(base, []).append((name, text))
        elif text.strip():
            out.append(SourceDocument(name, name, "text", text=text))
    for base, items in lists.items():
        kept = [(n, t) for n, t in items if t.strip()]
        if kept:
            out.append(SourceDocument(base, base, "content", blocks=tuple(t for _, t in kept),
                                      block_names=tuple(n for n, _ in kept)))
    if spec.documents_field:
        for i, doc in enumerate(values_at(data, spec.documents_field + "[]")):
            if isinstance(doc, dict):
                out += _document(spec, i, doc)
    return tuple(out)


def unit_name(document: str, unit: str, n: int) -> str:
    """The source name of page or block ``n`` of a provided document ("documents[2] page
    3"): a plain key (no dots), so it can stand beside the input for the checks to read."""
    return f"{document} {unit} {n}".replace(".", "/")


def _document(spec: GroundingSpec, i: int, doc: dict[str, Any]) -> list[SourceDocument]:
    name = f"{spec.documents_field}[{i}]"
    title = next((str(doc[k]) for k in ("title", *spec.document_id_keys)
                  if isinstance(doc.get(k), str | int) and str(doc[k]).strip()), name)
    if doc.get("media_type") == PDF and isinstance(doc.get("data"), str) and doc["data"]:
        return [SourceDocument(name, title, "pdf", pdf_base64=doc["data"])]
    content = doc.get("content")
    if isinstance(content, list):
        texts = [c if isinstance(c, str) else c.get("text") if isinstance(c, dict) else None
                 for c in content]
        kept = [(n, t) for n, t in enumerate(texts) if isinstance(t, str) and t.strip()]
        if not kept:
            return []
        return [SourceDocument(name, title, "content", blocks=tuple(t for _, t in kept),
                               block_names=tuple(unit_name(name, "block", n) for n, _ in kept))]
    body = next((k for k in _BODY_KEYS if isinstance(doc.get(k), str) and doc[k].strip()), None)
    keys = [body] if body else [k for k, v in doc.items() if isinstance(v, str) and v.strip()
                                and k not in spec.document_id_keys and k != "title"]
    return [SourceDocument(f"{name}.{k}", title, "text", text=doc[k]) for k in keys]
