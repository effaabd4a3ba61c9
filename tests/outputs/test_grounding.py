"""Grounding checks without a model: each with cases that must pass and cases that must fail."""

from __future__ import annotations

import pytest

from seamline.outputs import GroundingSpec, check_grounding, values_at
from seamline.outputs._verbatim import find_verbatim

SOURCE = {"ticket_id": "T1",
          "body": "Hi,\u00a0I was charged   \u201c$40\u201d twice on 3 March.\nPlease refund one "
                  "charge. My order is #A-1001."}


@pytest.mark.parametrize("quote", [
    "charged \"$40\" twice",            # typographic quotes, runs of spaces
    "charged \u201c$40\u201d   twice",
    "I was charged",                    # non-breaking space
    "3 March. Please refund",            # a line break
    "Please refund one charge.",
    "please REFUND one charge.",         # letter case (casefold): models re-case quotes
])
def test_quotes_that_occur_after_normalisation_pass_with_offsets(quote):
    at = find_verbatim(quote, SOURCE["body"])
    assert at is not None
    start, end = at
    # The span found is the quote itself, up to spacing and typography.
    assert find_verbatim(SOURCE["body"][start:end], quote) == (0, len(quote.rstrip()))


@pytest.mark.parametrize("quote", [
    "charged \"$45\" twice",             # one number changed
    "I was billed",                      # one word changed
    "Please refund both charges.",       # paraphrase
    "harged",                            # part of a word: quotes match whole words
    "4",                                 # a digit of "$40" is not the number 4
    "",
])
def test_quotes_with_anything_changed_fail(quote):
    assert find_verbatim(quote, SOURCE["body"]) is None


def test_the_offsets_point_at_the_original_characters():
    start, end = find_verbatim("Please refund one charge", SOURCE["body"])
    assert SOURCE["body"][start:end] == "Please refund one charge"


def test_quote_fields_record_where_each_quote_is_and_fail_on_an_invented_one():
    spec = GroundingSpec(quote_fields=("evidence[]",))
    ok = check_grounding(spec, {"evidence": ["charged \"$40\" twice"]}, SOURCE)
    assert ok.passed and ok.checks == {"quotes": "pass"}
    (q,) = ok.quotes
    assert q["field"] == "body" and SOURCE["body"][q["start"]:q["end"]].startswith("charged")
    bad = check_grounding(spec, {"evidence": ["charged \"$40\" twice", "I want $80 back"]}, SOURCE)
    assert not bad.passed and "'I want $80 back'" in bad.failures[0]


CLAIMS = GroundingSpec(claims_field="claims")


def test_claims_need_quotes_that_exist():
    good = {"claims": [{"text": "double charge", "quotes": ["charged \"$40\" twice"]}]}
    assert check_grounding(CLAIMS, good, SOURCE).passed
    naked = {"claims": [{"text": "customer is angry", "quotes": []}]}
    assert "names no quote" in check_grounding(CLAIMS, naked, SOURCE).failures[0]
    forged = {"claims": [{"text": "refund all", "quotes": ["Please refund every charge."]}]}
    assert "not in the source" in check_grounding(CLAIMS, forged, SOURCE).failures[0]


def test_unsupported_claims_are_retracted_when_the_policy_says_so():
    spec = CLAIMS.model_copy(update={"unsupported_claims": "retract"})
    out = {"claims": [{"text": "double charge", "quotes": ["charged \"$40\" twice"]},
                      {"text": "wants a voucher", "quotes": ["give me a voucher"]}]}
    report = check_grounding(spec, out, SOURCE)
    assert report.passed and [c["text"] for c in report.output["claims"]] == ["double charge"]
    assert report.retracted[0]["claim"]["text"] == "wants a voucher"
    assert len(out["claims"]) == 2  # the original is left alone


def test_numbers_in_claims_must_come_from_the_source_when_the_claim_checks_are_loosened():
    # The old whole-source number check, on its own: the claim checks loosened explicitly.
    spec = CLAIMS.model_copy(update={"numbers_from_sources": True, "claim_checks": (),
                                     "min_quote_words": 1})
    ok = {"claims": [{"text": "charged $40 twice on 3 March", "quotes": ["charged"]}]}
    assert check_grounding(spec, ok, SOURCE).passed
    bad = {"claims": [{"text": "charged $45 twice", "quotes": ["charged"]}]}
    assert check_grounding(spec, bad, SOURCE).failures[0].endswith(
        "states numbers not in the source: 45")


def test_by_default_a_claim_is_held_to_its_own_quotes_not_the_whole_source():
    # The same claim the loosened spec accepts: "charged" is one content word, and $40 and
    # 3 March are in the source but not in that quote.
    claim = {"claims": [{"text": "charged $40 twice on 3 March", "quotes": ["charged"]}]}
    (failure,) = check_grounding(CLAIMS, claim, SOURCE).failures
    assert "too short" in failure and "1 content word" in failure
    longer = {"claims": [{"text": "charged $40 twice on 3 March",
                          "quotes": ["charged \"$40\" twice"]}]}
    (failure,) = check_grounding(CLAIMS, longer, SOURCE).failures
    assert "states '3', which its quotes do not" in failure  # the day: a number
    assert "says 'March', which its quotes do not" in failure  # the month: a date


def test_abstention_is_a_valid_answer_and_skips_the_other_checks():
    spec = GroundingSpec(abstain_field="status", quote_fields=("evidence[]",))
    report = check_grounding(spec, {"status": "insufficient_information", "evidence": []}, SOURCE)
    assert report.passed and report.abstained and report.checks == {"abstention": "pass"}
    answered = check_grounding(spec, {"status": "answered", "evidence": ["no such words"]}, SOURCE)
    assert not answered.abstained and not answered.passed


DOCS = {"question": "How long do refunds take?",
        "documents": [{"id": "kb-12", "url": "https://docs.acme.example/refunds",
                       "text": "Refunds reach the card in 5 to 10 business days."},
                      {"id": "kb-40", "url": "https://blog.other.example/x", "text": "Other."}]}


def test_closed_sources_refuse_a_citation_to_a_document_that_was_not_provided():
    spec = GroundingSpec(citations_field="citations", documents_field="documents",
                         quote_fields=("quote",), source_fields=("question",))
    ok = check_grounding(spec, {"citations": ["kb-12"], "quote": "5 to 10 business days"}, DOCS)
    assert ok.passed and ok.quotes[0]["field"] == "documents[0].text"
    invented = check_grounding(spec, {"citations": ["kb-12", "kb-99"], "quote": "5 to 10"}, DOCS)
    assert invented.failures == ["the citation 'kb-99' is not among the documents provided"]
    by_url = check_grounding(spec, {"citations": [{"url": "https://docs.acme.example/refunds"}],
                                    "quote": "5 to 10"}, DOCS)
    assert by_url.passed


def test_only_whitelisted_sources_pass():
    spec = GroundingSpec(citations_field="citations", documents_field="documents",
                         allowed_sources=("docs.acme.example", "kb-*"))
    report = check_grounding(spec, {"citations": ["kb-12"]}, DOCS)
    # kb-12 is allowed; the second provided document's URL host is not.
    assert report.failures == [
        "the source 'https://blog.other.example/x' is not on the allowed list"]
    narrow = GroundingSpec(citations_field="citations", allowed_sources=("kb-1*",))
    assert check_grounding(narrow, {"citations": ["kb-12"]}, DOCS).passed
    assert not check_grounding(narrow, {"citations": ["kb-40"]}, DOCS).passed


def test_visible_reasoning_is_kept_in_the_report():
    spec = GroundingSpec(reasoning_field="reasoning")
    report = check_grounding(spec, {"reasoning": "The body says charged twice.", "x": 1}, SOURCE)
    assert report.reasoning == "The body says charged twice." and report.as_dict()["reasoning"]


def test_paths_step_into_lists():
    obj = {"claims": [{"quotes": ["a", "b"]}, {"quotes": ["c"]}, {"text": "none"}]}
    assert values_at(obj, "claims[].quotes[]") == ["a", "b", "c"]
    assert values_at(obj, "missing.field") == []
