"""How an integration declares its grounding checks (each one optional and composable).

Paths name fields of the output (or input): ``evidence``, ``answer.quotes[]``,
``claims[].quotes[]`` — ``[]`` steps into every item of a list.

The strict checks are the defaults: every quote needs ``min_quote_words`` content words,
and a declared ``claims_field`` brings every claim check in ``claim_checks`` with the
measured ``claim_coverage`` (docs/grounding.md). An integration loosens them only by
declaring so (a lower number, a shorter tuple, ``untrusted_parameters: allow``), never by
leaving a field out. Every input is untrusted user text unless ``trusted_fields`` names it.
``citations: provider`` asks the provider's citations API for the claims' quotes instead
of the model's own (the same checks then run on what it cites).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from seamline.integration._spec import ModelRoute


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class DualSpec(_Frozen):
    """Generate twice; a divergence on these high-stakes fields is a hallucination canary."""

    fields: tuple[str, ...] = Field(min_length=1)
    temperature: float = Field(1.0, ge=0, le=2)
    seed: int = 7
    policy: Literal["flag", "fail"] = "flag"


class JudgeSpec(_Frozen):
    """A fresh-context judge: a second call that sees only the source and one claim.

    ``route``: the judge's own model route (a remote model when the integration's route is
    the on-device one, which cannot judge); None: the integration's route (``model``: another
    model of the same provider; empty: the route's own)."""

    model: str = ""
    policy: Literal["fail", "retract", "flag"] = "fail"
    route: ModelRoute | None = None  # resolved in _spec (ModelRoute is declared there)


ClaimCheck = Literal["numbers", "dates", "entities", "negation", "coverage"]
CLAIM_CHECKS: tuple[ClaimCheck, ...] = ("numbers", "dates", "entities", "negation", "coverage")
# Measured on the labelled dev split (tests/outputs/data/grounding_dev.jsonl): the share
# of a claim's content words its own quotes must hold (benchmarks/grounding.py --tune).
CLAIM_COVERAGE = 0.55


class GroundingSpec(_Frozen):
    # Input fields quotes must come from; empty: every string field of the input.
    source_fields: tuple[str, ...] = ()
    # Output fields holding verbatim quotes (a string, or lists of strings).
    quote_fields: tuple[str, ...] = ()
    # Claims: a list of objects, each with its text and the quotes that support it.
    claims_field: str = ""
    claim_text_key: str = "text"
    claim_quotes_key: str = "quotes"
    unsupported_claims: Literal["fail", "retract"] = "fail"
    # A claim's numbers, dates, names and negations must agree with its own quotes, which
    # must hold claim_coverage of its content words. Loosen by naming fewer checks.
    claim_checks: tuple[ClaimCheck, ...] = CLAIM_CHECKS
    claim_coverage: float = Field(CLAIM_COVERAGE, ge=0, le=1)
    # Every quote (quote fields and claims) needs this many content words (not stop words).
    min_quote_words: int = Field(2, ge=0, le=20)
    # Trust levels: these input fields (or the documents field) are trusted references —
    # knowledge base, CRM record, retrieved documents; every other source is untrusted
    # user text. An action parameter stated only in untrusted text raises a doubt (the
    # approval policy then sets the model's confidence aside) unless this says "allow".
    trusted_fields: tuple[str, ...] = ()
    untrusted_parameters: Literal["doubt", "allow"] = "doubt"
    # Abstention: this output field holding one of these values is a valid answer.
    abstain_field: str = ""
    abstain_values: tuple[str, ...] = ("insufficient_information",)
    # Closed sources: what the output cites must be among the documents provided.
    citations_field: str = ""  # output: ids/URLs, or objects with one of document_id_keys
    documents_field: str = ""  # input: the documents provided (objects)
    document_id_keys: tuple[str, ...] = ("id", "url")
    numbers_from_sources: bool = False  # every number in a claim occurs in the source
    # Which contract backs the claims: "quotes" (the model copies quotes, checked verbatim)
    # or "provider" (the provider's citations API, on an anthropic route: the sources go as
    # document blocks and its citations become the claims' quotes; docs/citations.md).
    citations: Literal["quotes", "provider"] = "quotes"
    answer_field: str = ""  # output: the cited answer's whole text (provider citations)
    # Source whitelist: cited ids/URLs must match one of these (fnmatch patterns; for a
    # URL, its host may match instead, e.g. "docs.acme.example" or "*.acme.example").
    allowed_sources: tuple[str, ...] = ()
    # Visible reasoning: a field written before the claims, kept in the audit trail.
    reasoning_field: str = ""
    dual: DualSpec | None = None
    judge: JudgeSpec | None = None

    @property
    def active(self) -> bool:
        return bool(self.quote_fields or self.claims_field or self.abstain_field
                    or self.citations_field or self.allowed_sources or self.reasoning_field
                    or self.dual or self.judge)
