"""Provider citations, checked: each one must point at text that was sent, where it says.

A provider's citations API (Anthropic's) says which span of which document backs each
statement; the provider turns those statements into claims whose quotes are the cited
texts. Nothing here trusts that: the checks are the deterministic ones of
``check_grounding`` plus, for every citation,

- the document it names was provided (``document_index`` in range), and its location is
  of that document's kind (character offsets into a text, pages of a PDF, blocks of a
  custom content document);
- the location holds the cited text: ``text[start:end]`` is it (a text document), the
  pages ``[start, end)`` contain it (a PDF, read here with pypdf), the blocks
  ``[start, end)`` are or contain it (custom content) -- compared after the same
  whitespace, case and Unicode normalisation as every quote;
- text that is in no document is a forged citation; text that is, but elsewhere, is a
  citation with wrong offsets. Both are refused, with the place named;

and every claim carries at least one citation. A claim with a refused citation is treated
exactly like an unsupported claim under the quote contract: a failure (repair, then the
dead-letter queue) or, with ``unsupported_claims: retract``, retracted. A reply without
citation information (a provider that has no citations API, a batch) is checked under
the quote contract, and the report says so.

The report also measures coverage: the share of the answer's sentences (its
``answer_field``; else of its claims) that a citation which held backs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any

from seamline.citations import Citation, SourceDocument
from seamline.integration import GroundingSpec
from seamline.outputs._citable import citable_documents, unit_name
from seamline.outputs._grounding import PASS, GroundingReport, check_grounding
from seamline.outputs._support import short
from seamline.outputs._verbatim import find_verbatim, normal_form

# A sentence ends at . ! ? before a space or the end ("4.5" and "acme.example" go on).
_SENTENCE = re.compile(r"\S.*?(?:[.!?](?=\s|$)|$)", re.DOTALL)
_WORD = re.compile(r"\w")


@dataclass
class CitedReport(GroundingReport):
    """A grounding report with what the provider's citations said and how they fared."""

    provider_citations: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, report: GroundingReport, cited: dict[str, Any]) -> CitedReport:
        return cls(**{f.name: getattr(report, f.name) for f in fields(report)},
                   provider_citations=cited)

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "provider_citations": self.provider_citations}


@dataclass(frozen=True, slots=True)
class _Unit:
    """One citable stretch of a document: a whole text, a PDF page, a content block."""

    name: str  # the grounding source it is
    text: str


@dataclass(frozen=True, slots=True)
class _View:
    """A document as sent, and its units in the order its locations count them."""

    doc: SourceDocument
    units: tuple[_Unit, ...]
    error: str = ""  # why its units could not be read (an unreadable PDF)


def check_cited(spec: GroundingSpec, output: dict[str, Any], data: dict[str, Any],
                citations: tuple[Citation, ...] | None, *,
                parameters: tuple[str, ...] = ()) -> CitedReport:
    """``check_grounding`` for an answer whose claims carry provider citations."""
    if citations is None:
        report = check_grounding(spec, output, data, parameters=parameters)
        return CitedReport.of(report, {"contract": "quotes", "why": (
            "the reply carries no citation information (a provider without a citations "
            "API, or a batch): its claims stand on their quotes")})
    views = [_view(d) for d in citable_documents(spec, data)]
    wider_spec, wider_data = _with_units(spec, data, views)
    report = CitedReport.of(check_grounding(wider_spec, output, wider_data,
                                            parameters=parameters), {})
    claims = output.get(spec.claims_field) if spec.claims_field else None
    claims = claims if isinstance(claims, list) else []
    spans: list[dict[str, Any]] = []
    problems: dict[int, list[str]] = {}
    held: set[int] = set()
    for c in citations:
        span = _verify(c, views)
        spans.append(span)
        if "problem" in span:
            problems.setdefault(c.claim, []).append(span["problem"])
        else:
            held.add(c.claim)
    cited = {c.claim for c in citations}
    for i in range(len(claims)):
        if i not in cited:
            problems.setdefault(i, []).append("carries no provider citation")
    if not report.abstained:
        report.checks["provider_citations"] = PASS
        _refuse(spec, report, claims, problems)
    report.provider_citations = {
        "contract": "provider",
        "documents": [{"index": i, "name": v.doc.name, "kind": v.doc.kind,
                       "title": v.doc.title} for i, v in enumerate(views)],
        "spans": spans,
        **_coverage(spec, output, claims, held - set(problems), report.abstained),
    }
    return report


def _refuse(spec: GroundingSpec, report: CitedReport, claims: list[Any],
            problems: dict[int, list[str]]) -> None:
    """A claim with a refused citation fails the answer, or is retracted (the same policy
    as an unsupported claim; one the quote checks retracted already stays retracted)."""
    kept = report.output.get(spec.claims_field)
    for i in sorted(problems):
        claim = claims[i] if 0 <= i < len(claims) else None
        why = "; ".join(dict.fromkeys(problems[i]))
        if spec.unsupported_claims == "retract" and claim is not None:
            if isinstance(kept, list) and claim in kept:
                kept.remove(claim)
                report.retracted.append({"claim": claim, "why": why})
            continue
        text = claim.get(spec.claim_text_key) if isinstance(claim, dict) else claim
        report.fail("provider_citations", f"claim {i + 1} ({short(text)!r}) {why}")


# ---- one citation against what was sent -------------------------------------------------

_KIND_OF = {"char": "text", "page": "pdf", "block": "content"}


def _verify(c: Citation, views: list[_View]) -> dict[str, Any]:
    """The citation as a located span (``field``, ``start``, ``end`` in that source), or
    with the ``problem`` that refuses it."""
    span: dict[str, Any] = {"claim": c.claim, "document": c.document, "kind": c.kind,
                            "location": [c.start, c.end], "cited_text": c.cited_text}
    if c.kind == "unknown":
        return {**span, "problem": f"has a {c.wire_type or 'nameless'} citation, which points "
                                   "at nothing Seamline sent"}
    if not 0 <= c.document < len(views):
        return {**span, "problem": f"cites document {c.document}, but the documents provided "
                                   f"are numbered 0 to {len(views) - 1}"}
    view = views[c.document]
    if _KIND_OF[c.kind] != view.doc.kind:
        return {**span, "problem": f"cites {view.doc.name} by {c.kind} location, but it was "
                                   f"sent as a {view.doc.kind} document"}
    if view.error:
        return {**span, "problem": view.error}
    if not c.cited_text.strip():
        return {**span, "problem": f"cites no text of {view.doc.name}"}
    where = _located(c, view)
    if where is not None:
        name, start, end = where
        return {**span, "field": name, "start": start, "end": end}
    elsewhere = _anywhere(c.cited_text, view.units)
    unit = {"char": "characters", "page": "pages", "block": "blocks"}[c.kind]
    if elsewhere is not None:
        name, start, end = elsewhere
        return {**span, "problem": f"cites {short(c.cited_text)!r} at {unit} [{c.start}, "
                                   f"{c.end}) of {view.doc.name}, but that text is at "
                                   f"{name} [{start}, {end})"}
    return {**span, "problem": f"cites {short(c.cited_text)!r}, which is not in "
                               f"{view.doc.name} (a forged citation)"}


def _located(c: Citation, view: _View) -> tuple[str, int, int] | None:
    """Where the cited text is, when the citation's own location holds it."""
    units = view.units
    if c.kind == "char":
        text = units[0].text
        if not 0 <= c.start < c.end <= len(text):
            return None
        return (units[0].name, c.start, c.end) if _same(text[c.start:c.end], c.cited_text) \
            else None
    first, last = (c.start - 1, c.end - 1) if c.kind == "page" else (c.start, c.end)
    if not 0 <= first < last <= len(units):
        return None
    chosen = units[first:last]
    if c.kind == "block" and _same("".join(u.text for u in chosen), c.cited_text):
        return chosen[0].name, 0, len(chosen[0].text)
    return _anywhere(c.cited_text, chosen)


def _anywhere(quote: str, units: tuple[_Unit, ...]) -> tuple[str, int, int] | None:
    for u in units:
        hit = find_verbatim(quote, u.text)
        if hit is not None:
            return u.name, hit[0], hit[1]
    return None


def _same(a: str, b: str) -> bool:
    return a == b or normal_form(a).text == normal_form(b).text


# ---- what was sent, unit by unit ---------------------------------------------------------


def _view(doc: SourceDocument) -> _View:
    if doc.kind == "text":
        return _View(doc, (_Unit(doc.name, doc.text),))
    if doc.kind == "content":
        return _View(doc, tuple(_Unit(n, t) for n, t in zip(doc.block_names, doc.blocks,
                                                            strict=True)))
    try:
        pages = _pdf_pages(doc.pdf_base64)
    except ValueError as exc:
        return _View(doc, (), f"cites {doc.name}, a PDF that cannot be read here ({exc})")
    return _View(doc, tuple(_Unit(unit_name(doc.name, "page", n), t)
                            for n, t in enumerate(pages, 1)))


def _pdf_pages(data: str) -> tuple[str, ...]:
    return _pages_of(hashlib.sha256(data.encode()).hexdigest(), data)


@lru_cache(maxsize=64)
def _pages_of(digest: str, data: str) -> tuple[str, ...]:
    """Each page's text, as pypdf extracts it (the library retrieval reads PDFs with)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        raw = base64.b64decode(data, validate=True)
        return tuple((p.extract_text() or "") for p in PdfReader(io.BytesIO(raw)).pages)
    except (binascii.Error, PdfReadError, ValueError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None


def _with_units(spec: GroundingSpec, data: dict[str, Any],
                views: list[_View]) -> tuple[GroundingSpec, dict[str, Any]]:
    """The spec and input with every page and block only a document holds (a PDF's pages,
    a provided document's content blocks) as sources of their own, so the claim checks
    read the cited texts in their place."""
    # An input list's blocks ("lines[]", "lines[]#1") are sources of the input already.
    extra = {u.name: u.text for v in views if v.doc.kind != "text" and "[]" not in v.doc.name
             for u in v.units if u.name not in data}
    if not extra:
        return spec, data
    update: dict[str, Any] = {}
    if spec.source_fields:
        update["source_fields"] = (*spec.source_fields, *extra)
    if spec.documents_field in spec.trusted_fields:
        update["trusted_fields"] = (*spec.trusted_fields, *extra)
    return spec.model_copy(update=update), {**data, **extra}


# ---- coverage ------------------------------------------------------------------------------


def _coverage(spec: GroundingSpec, output: dict[str, Any], claims: list[Any], backed: set[int],
              abstained: bool) -> dict[str, Any]:
    """Claims and sentences backed by a citation that held; coverage None when abstaining."""
    out: dict[str, Any] = {"claims": len(claims), "claims_backed": len(backed)}
    answer = output.get(spec.answer_field) if spec.answer_field else None
    if isinstance(answer, str) and answer.strip():
        # A sentence is backed when a backed claim (a cited stretch of the answer) overlaps it.
        norm = normal_form(answer).text
        sentences = [(m.start(), m.end()) for m in _SENTENCE.finditer(norm)
                     if _WORD.search(m.group())]
        texts = [normal_form(str(claims[i].get(spec.claim_text_key, ""))).text
                 for i in backed if isinstance(claims[i], dict)]
        spans = [(at, at + len(t)) for t in texts if t and (at := norm.find(t)) >= 0]
        hit = sum(1 for s, e in sentences if any(a < e and s < b for a, b in spans))
        out.update(sentences=len(sentences), sentences_backed=hit,
                   coverage=None if abstained or not sentences else round(hit / len(sentences), 4))
    else:
        out["coverage"] = None if abstained or not claims else round(len(backed) / len(claims), 4)
    return out
