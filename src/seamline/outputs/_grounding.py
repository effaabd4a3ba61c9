"""Grounding checks that need no model: abstention, verbatim quotes, claim support,
closed sources, a source whitelist, visible reasoning, and trust levels of sources.

Deterministic on purpose: a check that asks a model whether a model hallucinated
inherits the problem; these checks are string and set operations a reviewer can
redo by hand. The model-based checks (dual generation, the judge) live in the
runtime, which owns the provider.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import Any
from urllib.parse import urlparse

from seamline.integration import GroundingSpec
from seamline.outputs._parameters import parameter_origins
from seamline.outputs._paths import values_at
from seamline.outputs._sources import Source, locate, prepare
from seamline.outputs._support import SupportRules, judge, quote_problem, short
from seamline.outputs._verbatim import normalise

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
    flags: list[str] = field(default_factory=list)  # canaries, judge and trust doubts
    abstained: bool = False
    reasoning: str | None = None
    claims: list[dict[str, Any]] = field(default_factory=list)  # each claim's verdict
    instructions: list[dict[str, Any]] = field(default_factory=list)  # marked source text
    parameters: list[dict[str, Any]] = field(default_factory=list)  # where each came from

    @property
    def passed(self) -> bool:
        return not self.failures

    def fail(self, check: str, sentence: str) -> None:
        self.checks[check] = FAIL
        self.failures.append(sentence)

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "abstained": self.abstained, "checks": self.checks,
                "failures": self.failures, "quotes": self.quotes, "retracted": self.retracted,
                "flags": self.flags, "reasoning": self.reasoning, "claims": self.claims,
                "instructions": self.instructions, "parameters": self.parameters}


def sources_of(spec: GroundingSpec, data: dict[str, Any]) -> dict[str, str]:
    """Input field -> text the quotes may come from."""
    names = spec.source_fields or tuple(k for k, v in data.items() if isinstance(v, str))
    for extra in spec.trusted_fields:  # a declared reference is a source even if unlisted
        if extra not in names and extra != spec.documents_field:
            names = (*names, extra)
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


def _trusted(spec: GroundingSpec, name: str) -> bool:
    base = name.split("#", 1)[0]
    if spec.documents_field and base.startswith(spec.documents_field + "["):
        return spec.documents_field in spec.trusted_fields
    return base in spec.trusted_fields


def prepared_sources(spec: GroundingSpec, data: dict[str, Any]) -> list[Source]:
    """Every source, tokenised once, with its trust level and instruction-like text."""
    return [prepare(name, text, _trusted(spec, name))
            for name, text in sources_of(spec, data).items()]


def check_grounding(spec: GroundingSpec, output: dict[str, Any], data: dict[str, Any],
                    *, parameters: tuple[str, ...] = ()) -> GroundingReport:
    """Run every deterministic check the spec declares against the source ``data``.

    ``parameters``: the output fields actions take parameters from; each value stated only
    in untrusted text becomes a doubt in ``flags`` (see ``seamline.outputs._parameters``).
    """
    report = GroundingReport(_copy(output))
    out = report.output
    if spec.reasoning_field:
        reasoning = out.get(spec.reasoning_field)
        report.reasoning = reasoning if isinstance(reasoning, str) else None
        report.checks["reasoning"] = PASS if report.reasoning else SKIP
    if spec.abstain_field and str(out.get(spec.abstain_field)) in spec.abstain_values:
        report.abstained = True
        report.checks["abstention"] = PASS
        return report  # "not enough information" is an answer, not a guess to verify
    sources = prepared_sources(spec, data)
    report.instructions = [{"field": s.name, "start": m.start, "end": m.end, "phrase": m.phrase}
                           for s in sources for m in s.marked]
    _check_quotes(spec, out, sources, report)
    _check_claims(spec, out, sources, report)
    _check_parameters(spec, out, sources, parameters, report)
    _check_citations(spec, out, data, report)
    return report


def _copy(value: Any) -> Any:
    """A deep copy of a parsed (JSON-shaped) output, faster than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _check_quotes(spec: GroundingSpec, out: dict[str, Any], sources: list[Source],
                  report: GroundingReport) -> None:
    if not spec.quote_fields:
        return
    report.checks["quotes"] = PASS
    for path in spec.quote_fields:
        for quote in values_at(out, path):
            if not isinstance(quote, str) or not quote.strip():
                continue
            hit = locate(quote, sources)
            if hit is None:
                report.fail("quotes", f"the quote {short(quote)!r} ({path}) does not occur in "
                                      "the source")
                continue
            report.quotes.append(hit.as_dict(path))
            poor = quote_problem(hit, spec.min_quote_words)
            if poor:
                report.fail("quotes", f"the answer ({path}) {poor}")
            elif hit.marked is not None:
                report.fail("quotes", f"the quote {short(quote)!r} ({path}) is inside text that "
                                      f"reads as instructions to the model ({hit.marked.phrase!r}),"
                                      " which never counts as support")


def _check_claims(spec: GroundingSpec, out: dict[str, Any], sources: list[Source],
                  report: GroundingReport) -> None:
    if not spec.claims_field:
        return
    claims = out.get(spec.claims_field)
    if not isinstance(claims, list):
        return
    report.checks["claims"] = PASS
    rules = SupportRules(spec.min_quote_words, frozenset(spec.claim_checks), spec.claim_coverage)
    path = f"{spec.claims_field}[].{spec.claim_quotes_key}"
    kept: list[Any] = []
    source_numbers = (_numbers(" ".join(s.text for s in sources)) if spec.numbers_from_sources
                      else set())
    for i, claim in enumerate(claims):
        problem = _claim_problem(spec, claim, sources, rules, source_numbers, path, report)
        if problem is None:
            kept.append(claim)
        elif spec.unsupported_claims == "retract":
            report.retracted.append({"claim": claim, "why": problem})
        else:
            report.fail("claims", f"claim {i + 1} {problem}")
    if report.retracted:
        out[spec.claims_field] = kept


def _claim_problem(spec: GroundingSpec, claim: Any, sources: list[Source], rules: SupportRules,
                   source_numbers: set[str], path: str, report: GroundingReport) -> str | None:
    if not isinstance(claim, dict):
        report.claims.append({"text": None, "supported": False,
                              "problems": ["is not an object with its quotes"]})
        return "is not an object with its quotes"
    text = str(claim.get(spec.claim_text_key, ""))
    quotes = claim.get(spec.claim_quotes_key)
    quotes = [quotes] if isinstance(quotes, str) else quotes if isinstance(quotes, list) else []
    quotes = [str(q) for q in quotes if isinstance(q, str | int | float) and str(q).strip()]
    verdict = judge(text, quotes, sources, rules)
    report.quotes += [q.as_dict(path) for q in (*verdict.quotes, *verdict.excluded)]
    if spec.numbers_from_sources and verdict.supported:
        stray = sorted(_numbers(text) - source_numbers)
        if stray:
            verdict.problems.append(f"states numbers not in the source: {', '.join(stray)}")
    report.claims.append(verdict.as_dict())
    if verdict.supported:
        return None
    return f"({short(text)!r}) " + "; ".join(verdict.problems)


def _check_parameters(spec: GroundingSpec, out: dict[str, Any], sources: list[Source],
                      parameters: tuple[str, ...], report: GroundingReport) -> None:
    if not parameters or not spec.claims_field or spec.untrusted_parameters == "allow":
        return
    origins = parameter_origins(parameters, out, sources)
    report.parameters = [o.as_dict() for o in origins]
    doubts = [o.doubt for o in origins if o.doubt]
    report.checks["trust"] = "flag" if doubts else PASS
    report.flags += doubts


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


def grounding_instruction(report: GroundingReport) -> str:
    """The follow-up message after an ungrounded reply."""
    return ("Your previous reply is not grounded in the source: "
            + "; ".join(report.failures)
            + ". Quote the source exactly (copy the words), support every claim with such a "
              "quote, cite only the documents provided, or answer that the information is "
              "insufficient. Reply again with exactly one JSON object and nothing else.")
