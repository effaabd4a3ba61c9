"""Grounding checks that need no model: abstention, verbatim quotes, claims need quotes,
closed sources, a source whitelist, visible reasoning.

Deterministic on purpose: a check that asks a model whether a model hallucinated
inherits the problem; these checks are string and set operations a reviewer can
redo by hand. The model-based checks (dual generation, the judge) live in the
runtime, which owns the provider.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import Any
from urllib.parse import urlparse

from seamline.integration import GroundingSpec
from seamline.outputs._verbatim import find_verbatim, normalise

PASS, FAIL, SKIP = "pass", "fail", "skip"
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?%?")


@dataclass
class GroundingReport:
    """What the checks found; ``output`` is the answer after retractions."""

    output: dict[str, Any]
    checks: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    quotes: list[dict[str, Any]] = field(default_factory=list)  # quote, field, start, end
    retracted: list[dict[str, Any]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # canaries and judge doubts (not failures)
    abstained: bool = False
    reasoning: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    def fail(self, check: str, sentence: str) -> None:
        self.checks[check] = FAIL
        self.failures.append(sentence)

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "abstained": self.abstained, "checks": self.checks,
                "failures": self.failures, "quotes": self.quotes, "retracted": self.retracted,
                "flags": self.flags, "reasoning": self.reasoning}


def values_at(obj: Any, path: str) -> list[Any]:
    """Every value at ``path`` (``a.b``, ``claims[].quotes[]``) in ``obj``; missing: none."""
    found = [obj]
    for part in path.split("."):
        many = part.endswith("[]")
        key = part[:-2] if many else part
        step: list[Any] = []
        for item in found:
            if key:
                if not isinstance(item, dict) or key not in item:
                    continue
                item = item[key]
            if many:
                step.extend(item if isinstance(item, list) else [])
            else:
                step.append(item)
        found = step
    return [v for v in found if v is not None]


def sources_of(spec: GroundingSpec, data: dict[str, Any]) -> dict[str, str]:
    """Input field -> text the quotes may come from."""
    names = spec.source_fields or tuple(k for k, v in data.items() if isinstance(v, str))
    texts: dict[str, str] = {}
    for name in names:
        for i, value in enumerate(values_at(data, name)):
            if isinstance(value, str):
                texts[name if i == 0 else f"{name}#{i}"] = value
    if spec.documents_field:
        for i, doc in enumerate(values_at(data, spec.documents_field + "[]")):
            if isinstance(doc, dict):
                for key, value in doc.items():
                    if isinstance(value, str) and key not in spec.document_id_keys:
                        texts[f"{spec.documents_field}[{i}].{key}"] = value
    return texts


def check_grounding(spec: GroundingSpec, output: dict[str, Any],
                    data: dict[str, Any]) -> GroundingReport:
    """Run every deterministic check the spec declares against the source ``data``."""
    report = GroundingReport(copy.deepcopy(output))
    out = report.output
    if spec.reasoning_field:
        reasoning = out.get(spec.reasoning_field)
        report.reasoning = reasoning if isinstance(reasoning, str) else None
        report.checks["reasoning"] = PASS if report.reasoning else SKIP
    if spec.abstain_field and str(out.get(spec.abstain_field)) in spec.abstain_values:
        report.abstained = True
        report.checks["abstention"] = PASS
        return report  # "not enough information" is an answer, not a guess to verify
    sources = sources_of(spec, data)
    _check_quotes(spec, out, sources, report)
    _check_claims(spec, out, sources, report)
    _check_citations(spec, out, data, report)
    return report


def _locate(quote: str, sources: dict[str, str]) -> dict[str, Any] | None:
    for name, text in sources.items():
        at = find_verbatim(quote, text)
        if at is not None:
            return {"quote": quote, "field": name, "start": at[0], "end": at[1]}
    return None


def _check_quotes(spec: GroundingSpec, out: dict[str, Any], sources: dict[str, str],
                  report: GroundingReport) -> None:
    if not spec.quote_fields:
        return
    report.checks["quotes"] = PASS
    for path in spec.quote_fields:
        for quote in values_at(out, path):
            if not isinstance(quote, str) or not quote.strip():
                continue
            hit = _locate(quote, sources)
            if hit is None:
                report.fail("quotes", f"the quote {_short(quote)!r} ({path}) does not occur in "
                                      "the source")
            else:
                report.quotes.append({**hit, "path": path})


def _check_claims(spec: GroundingSpec, out: dict[str, Any], sources: dict[str, str],
                  report: GroundingReport) -> None:
    if not spec.claims_field:
        return
    claims = out.get(spec.claims_field)
    if not isinstance(claims, list):
        return
    report.checks["claims"] = PASS
    kept: list[Any] = []
    source_numbers = _numbers(" ".join(sources.values())) if spec.numbers_from_sources else set()
    for i, claim in enumerate(claims):
        problem = _claim_problem(spec, claim, sources, source_numbers, report)
        if problem is None:
            kept.append(claim)
        elif spec.unsupported_claims == "retract":
            report.retracted.append({"claim": claim, "why": problem})
        else:
            report.fail("claims", f"claim {i + 1} {problem}")
    if report.retracted:
        out[spec.claims_field] = kept


def _claim_problem(spec: GroundingSpec, claim: Any, sources: dict[str, str],
                   source_numbers: set[str], report: GroundingReport) -> str | None:
    if not isinstance(claim, dict):
        return "is not an object with its quotes"
    text = str(claim.get(spec.claim_text_key, ""))
    quotes = claim.get(spec.claim_quotes_key)
    quotes = [quotes] if isinstance(quotes, str) else quotes
    if not quotes or not any(isinstance(q, str) and q.strip() for q in quotes):
        return f"({_short(text)!r}) names no quote that supports it"
    for quote in quotes:
        hit = _locate(str(quote), sources)
        if hit is None:
            return f"({_short(text)!r}) rests on a quote that is not in the source: {_short(quote)!r}"
        report.quotes.append({**hit, "path": f"{spec.claims_field}[].{spec.claim_quotes_key}"})
    if spec.numbers_from_sources:
        stray = sorted(_numbers(text) - source_numbers)
        if stray:
            return f"({_short(text)!r}) states numbers not in the source: {', '.join(stray)}"
    return None


def _check_citations(spec: GroundingSpec, out: dict[str, Any], data: dict[str, Any],
                     report: GroundingReport) -> None:
    if not spec.citations_field and not spec.allowed_sources:
        return
    cited = [_ident(c, spec.document_id_keys) for c in values_at(out, spec.citations_field + "[]")
             ] if spec.citations_field else []
    cited = [c for c in cited if c]
    if spec.citations_field and spec.documents_field:
        report.checks["closed_sources"] = PASS
        provided = {str(doc[key]) for doc in values_at(data, spec.documents_field + "[]")
                    if isinstance(doc, dict)
                    for key in spec.document_id_keys if doc.get(key) is not None}
        for c in cited:
            if c not in provided:
                report.fail("closed_sources", f"the citation {c!r} is not among the documents "
                                              "provided")
    if spec.allowed_sources:
        report.checks["whitelist"] = PASS
        # A document's provenance is its URL when it has one (where it really came
        # from), else its id.
        docs = [_ident(d, ("url", *spec.document_id_keys)) for d in
                values_at(data, spec.documents_field + "[]")] if spec.documents_field else []
        for c in dict.fromkeys([*cited, *(d for d in docs if d)]):
            if not _allowed(c, spec.allowed_sources):
                report.fail("whitelist", f"the source {c!r} is not on the allowed list")


def _ident(value: Any, keys: tuple[str, ...]) -> str:
    if isinstance(value, dict):
        for key in keys:
            if value.get(key) is not None:
                return str(value[key])
        return ""
    return str(value) if value is not None else ""


def _allowed(ident: str, patterns: tuple[str, ...]) -> bool:
    host = urlparse(ident).hostname or ""
    return any(fnmatch(ident, p) or (host and fnmatch(host, p)) for p in patterns)


def _numbers(text: str) -> set[str]:
    normal, _ = normalise(text)
    return {m.group(0).replace(",", "").lstrip("+") for m in _NUMBER.finditer(normal)}


def _short(text: Any, width: int = 80) -> str:
    s = str(text)
    return s if len(s) <= width else s[: width - 1] + "…"


def grounding_instruction(report: GroundingReport) -> str:
    """The follow-up message after an ungrounded reply."""
    return ("Your previous reply is not grounded in the source: "
            + "; ".join(report.failures)
            + ". Quote the source exactly (copy the words), support every claim with such a "
              "quote, cite only the documents provided, or answer that the information is "
              "insufficient. Reply again with exactly one JSON object and nothing else.")
