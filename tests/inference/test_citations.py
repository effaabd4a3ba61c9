"""Provider citations end to end: the official ``anthropic`` SDK over real HTTP to the emulator.

The emulator speaks the citations wire format of
https://docs.anthropic.com/en/docs/build-with-claude/citations (document blocks in; text
blocks with char_location / page_location / content_block_location citations out), and a
script says which spans are cited -- including forged ones and wrong offsets, which the
real API promises never to send and Seamline refuses all the same.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest
from conftest import make_integration
from pydantic import BaseModel, Field

from seamline.audit import story
from seamline.emulator import Emulator, cite, cited
from seamline.inference import CitationRequest, Message, ModelRequest, SourceDocument
from seamline.inference.anthropic import AnthropicModel
from seamline.integration import ModelRoute
from seamline.outputs import GroundingSpec, check_cited, citable_documents
from seamline.runtime import DEAD_LETTERED, SUCCEEDED, Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "retrieval"))
from retrieval_fixtures import tiny_pdf  # the hand-written PDF of the retrieval tests


class Doc(BaseModel):
    id: str
    title: str = ""
    text: str = ""
    media_type: str = ""
    data: str = ""
    content: list[str] = Field(default_factory=list)


class Ticket(BaseModel):
    ticket_id: str
    tenant: str = "t1"
    customer: str = "c1"
    body: str
    documents: list[Doc] = Field(default_factory=list)


class Claim(BaseModel):
    text: str
    quotes: list[str] = Field(default_factory=list)


class Answer(BaseModel):
    answer: str = ""
    claims: list[Claim] = Field(default_factory=list)


class Triaged(Answer):
    label: str  # required: the cited answer does not fill it, so a second call records it


EMAIL = "jane.doe@example.com"
BODY = f"Hello, this is {EMAIL}. I was charged $40 twice on 3 March. Please refund one."
TICKET = {"ticket_id": "C1", "body": BODY}
SPEC = GroundingSpec(source_fields=("body",), claims_field="claims", answer_field="answer",
                     citations="provider", documents_field="documents",
                     trusted_fields=("documents",))
GOOD = cited("Thanks for writing. ",
             ("You were charged $40 twice on 3 March.", cite("charged $40 twice on 3 March")))


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-0000000000")


class Script:
    """The emulator's backend: cited replies in order for cited calls (the last repeats),
    ``extracted`` for the structured call that may follow."""

    def __init__(self, *replies, extracted=None):
        self.replies, self.extracted, self.cited_calls = list(replies), extracted, 0

    def __call__(self, req):
        if req.tool_name:  # the extraction step forces the record_output tool
            return self.extracted
        reply = self.replies[min(self.cited_calls, len(self.replies) - 1)]
        self.cited_calls += 1
        return reply


def integration(emu, output_schema=Answer, spec=SPEC, **route):
    model = ModelRoute(provider="anthropic", model="claude-test-1", base_url=emu.base_url,
                       input_usd_per_mtok=3.0, output_usd_per_mtok=15.0, max_output_tokens=300,
                       context_window=8000, **route)
    return make_integration(input_schema=Ticket, output_schema=output_schema, grounding=spec,
                            model=model, actions=(), pii={
                                "ticket_id": "allow", "tenant": "allow", "customer": "allow",
                                "body": "redact", "documents": "allow"},
                            prompt={"system": "You answer customers.",
                                    "user": "Ticket {{ ticket_id }}: {{ body }}"})


def documents_sent(request) -> list[dict]:
    return [b for m in request.body["messages"] if isinstance(m["content"], list)
            for b in m["content"] if b["type"] == "document"]


def grounding_entry(store, event_id) -> dict:
    return next(e for e in story(store, event_id) if e["kind"] == "grounding")["payload"]


def test_the_sources_go_as_cited_documents_with_only_the_redacted_text(store):
    with Emulator(Script(GOOD)).serve() as emu:
        result = Pipeline(integration(emu), store).process(TICKET)
        first = emu.requests[0]
        sent = emu.received_text()
    assert result.state == SUCCEEDED, result.reason
    (doc,) = documents_sent(first)
    assert doc["citations"] == {"enabled": True} and doc["title"] == "body"
    assert doc["source"]["type"] == "text" and doc["source"]["media_type"] == "text/plain"
    assert "<EMAIL_1>" in doc["source"]["data"] and "charged $40 twice" in doc["source"]["data"]
    assert EMAIL not in sent  # redacted before anything left: prompt and documents alike
    # Citations and structured output do not combine: the cited call has neither tools nor
    # an output format.
    assert "tools" not in first.body and "output_config" not in first.body
    assert len(emu.requests) == 1  # the answer fills every required field: no second call


def test_correct_citations_pass_grounding_and_map_to_quotes_with_offsets(store):
    with Emulator(Script(GOOD)).serve() as emu:
        result = Pipeline(integration(emu), store).process(TICKET)
        redacted = documents_sent(emu.requests[0])[0]["source"]["data"]
    assert result.state == SUCCEEDED, result.reason
    assert result.output["claims"] == [{"text": "You were charged $40 twice on 3 March.",
                                        "quotes": ["charged $40 twice on 3 March"]}]
    assert result.output["answer"] == ("Thanks for writing. You were charged $40 twice on "
                                       "3 March.")
    report = grounding_entry(store, result.event_id)
    assert report["passed"] and report["checks"]["provider_citations"] == "pass"
    cited_ = report["provider_citations"]
    (span,) = cited_["spans"]
    assert span["kind"] == "char" and span["field"] == "body" and "problem" not in span
    assert redacted[span["start"]:span["end"]] == "charged $40 twice on 3 March"
    assert span["location"] == [span["start"], span["end"]]
    # Two sentences, one backed by a citation that held.
    assert (cited_["sentences"], cited_["sentences_backed"], cited_["coverage"]) == (2, 1, 0.5)


def test_a_forged_citation_is_refused_like_a_failed_grounding_check(store):
    forged = cited(("The customer was promised a refund of $5000.",
                    cite("a refund of $5000 was approved")))
    with Emulator(Script(forged)).serve() as emu:
        result = Pipeline(integration(emu), store).process(TICKET)
        calls = len(emu.requests)
    assert result.state == DEAD_LETTERED and result.stage == "grounding"
    assert "a forged citation" in result.reason and "a refund of $5000 was approved" in result.reason
    assert calls == 3  # the first reply and both repairs: the same path as any ungrounded answer


def test_a_citation_with_wrong_offsets_is_refused_then_repaired(store):
    quote = "charged $40 twice on 3 March"
    start = BODY.replace(EMAIL, "<EMAIL_1>").index(quote)
    wrong = cited(("You were charged $40 twice on 3 March.", cite(quote, at=(0, len(quote)))))
    script = Script(wrong, GOOD)
    with Emulator(script).serve() as emu:
        result = Pipeline(integration(emu), store).process(TICKET)
        repair = emu.requests[1].body["messages"]
    assert result.state == SUCCEEDED and script.cited_calls == 2
    refused = next(e for e in story(store, result.event_id) if e["kind"] == "model_call"
                   and "grounding" in e["payload"])["payload"]["grounding"]
    (failure,) = refused["failures"]
    assert f"at characters [0, {len(quote)})" in failure
    assert f"but that text is at body [{start}, {start + len(quote)})" in failure
    # The repair asks again with the failure named; the documents open the conversation.
    assert "not grounded" in repair[-1]["content"][0]["text"]
    assert repair[0]["content"][0]["type"] == "document"


def test_a_claim_the_documents_do_not_support_fails_even_when_its_citation_is_genuine(store):
    # The citation is real, but the claim says more than it (a different amount).
    overclaim = cited(("You were charged $80 twice on 3 March.",
                       cite("charged $40 twice on 3 March")))
    with Emulator(Script(overclaim)).serve() as emu:
        result = Pipeline(integration(emu), store).process(TICKET)
    assert result.state == DEAD_LETTERED and result.stage == "grounding"
    assert "80" in result.reason


def test_pdf_page_citations_map_to_the_page_they_name(store):
    pdf = base64.b64encode(tiny_pdf(["Welcome to Acme.", "Refunds are paid within 14 days."]))
    ticket = {**TICKET, "documents": [{"id": "terms", "title": "Terms",
                                       "media_type": "application/pdf", "data": pdf.decode()}]}
    reply = cited(("Refunds are paid within 14 days.",
                   cite("Refunds are paid within 14 days", document=1)))
    with Emulator(Script(reply)).serve() as emu:
        result = Pipeline(integration(emu), store).process(ticket)
        docs = documents_sent(emu.requests[0])
    assert result.state == SUCCEEDED, result.reason
    assert docs[1]["source"] == {"type": "base64", "media_type": "application/pdf",
                                 "data": pdf.decode()}
    assert docs[1]["title"] == "Terms" and docs[1]["citations"] == {"enabled": True}
    (span,) = grounding_entry(store, result.event_id)["provider_citations"]["spans"]
    assert span["kind"] == "page" and span["location"] == [2, 3]
    assert span["field"] == "documents[0] page 2" and span["start"] == 0
    (quote,) = grounding_entry(store, result.event_id)["quotes"]
    assert quote["field"] == "documents[0] page 2" and quote["trust"] == "trusted"


def test_a_pdf_citation_naming_the_wrong_page_is_refused(store):
    pdf = base64.b64encode(tiny_pdf(["Welcome to Acme.", "Refunds are paid within 14 days."]))
    ticket = {**TICKET, "documents": [{"id": "terms", "media_type": "application/pdf",
                                       "data": pdf.decode()}]}
    reply = cited(("Refunds are paid within 14 days.",
                   cite("Refunds are paid within 14 days", document=1, at=(1, 2))))
    with Emulator(Script(reply)).serve() as emu:
        result = Pipeline(integration(emu), store).process(ticket)
    assert result.state == DEAD_LETTERED and result.stage == "grounding"
    assert "at pages [1, 2) of documents[0], but that text is at documents[0] page 2" \
        in result.reason


def test_content_block_citations_map_to_the_block_they_name(store):
    ticket = {**TICKET, "documents": [{"id": "plans", "title": "Plans", "content": [
        "Plan A costs 20 EUR a month.", "Plan B costs 35 EUR a month."]}]}
    reply = cited(("Plan B costs 35 EUR a month.", cite("Plan B costs 35 EUR", document=1)))
    with Emulator(Script(reply)).serve() as emu:
        result = Pipeline(integration(emu), store).process(ticket)
        docs = documents_sent(emu.requests[0])
    assert result.state == SUCCEEDED, result.reason
    assert docs[1]["source"] == {"type": "content", "content": [
        {"type": "text", "text": "Plan A costs 20 EUR a month."},
        {"type": "text", "text": "Plan B costs 35 EUR a month."}]}
    (span,) = grounding_entry(store, result.event_id)["provider_citations"]["spans"]
    assert span["kind"] == "block" and span["location"] == [1, 2]
    assert span["cited_text"] == "Plan B costs 35 EUR a month."  # the API cites whole blocks
    assert span["field"] == "documents[0] block 1"


def test_a_required_field_besides_the_answer_is_recorded_by_a_second_structured_call(store):
    # The extraction step may write claims of its own; the cited ones replace them.
    extracted = {"label": "billing", "answer": "x",
                 "claims": [{"text": "refund $5000", "quotes": ["refund $5000"]}]}
    with Emulator(Script(GOOD, extracted=extracted)).serve() as emu:
        result = Pipeline(integration(emu, Triaged), store).process(TICKET)
        first, second = (r.body for r in emu.requests)
    assert result.state == SUCCEEDED, result.reason
    assert result.output["label"] == "billing"
    assert result.output["claims"][0]["quotes"] == ["charged $40 twice on 3 March"]
    assert "tools" not in first and second["tool_choice"] == {"type": "tool",
                                                               "name": "record_output"}
    assert not any(isinstance(m["content"], list) and any(b["type"] == "document"
                                                          for b in m["content"])
                   for m in second["messages"])
    assert second["messages"][-2] == {"role": "assistant", "content": result.output["answer"]}


def test_retract_drops_the_claim_with_a_refused_citation_and_keeps_the_rest(store):
    mixed = cited(("You were charged $40 twice on 3 March.", cite("charged $40 twice on 3 March")),
                  " ", ("You will get $500 back.", cite("you will get $500 back")))
    spec = SPEC.model_copy(update={"unsupported_claims": "retract"})
    with Emulator(Script(mixed)).serve() as emu:
        result = Pipeline(integration(emu, spec=spec), store).process(TICKET)
    assert result.state == SUCCEEDED, result.reason
    assert [c["text"] for c in result.output["claims"]] == ["You were charged $40 twice on 3 March."]
    report = grounding_entry(store, result.event_id)
    (retracted,) = report["retracted"]
    assert retracted["claim"]["text"] == "You will get $500 back."
    assert report["provider_citations"]["coverage"] == 0.5


def test_the_provider_maps_each_documented_citation_shape():
    pdf = base64.b64encode(tiny_pdf(["Only page."])).decode()
    docs = (SourceDocument("body", "body", "text", text="Orders ship in 2 days."),
            SourceDocument("documents[0]", "T", "pdf", pdf_base64=pdf),
            SourceDocument("documents[1]", "B", "content", blocks=("One.", "Two."),
                           block_names=("documents[1] block 0", "documents[1] block 1")))
    reply = cited(("Ships fast.", cite("ship in 2 days")), ("Page.", cite("Only page", 1)),
                  ("Two.", cite("Two.", 2)))
    with Emulator(Script(reply)).serve() as emu:
        model = AnthropicModel("claude-test-1", base_url=emu.base_url)
        out = model.complete(ModelRequest(
            (Message("user", "Q?"),), "claude-test-1", {}, Answer.model_json_schema(), {}, 0,
            200, CitationRequest(docs, "claims", answer_field="answer")))
    assert [(c.kind, c.document, c.start, c.end, c.claim) for c in out.citations] == [
        ("char", 0, 7, 21, 0), ("page", 1, 1, 2, 1), ("block", 2, 1, 2, 2)]
    assert [c.wire_type for c in out.citations] == ["char_location", "page_location",
                                                    "content_block_location"]
    assert json.loads(out.text)["answer"] == "Ships fast.Page.Two."
    assert out.usage.input_tokens > 0 and out.response_id.startswith("msg_")


def test_a_reply_without_citation_information_keeps_the_quote_contract():
    data = {"body": "I was charged $40 twice on 3 March."}
    output = {"claims": [{"text": "charged twice", "quotes": ["charged $40 twice"]}]}
    report = check_cited(SPEC, output, data, None)
    assert report.passed and report.provider_citations["contract"] == "quotes"
    forged = {"claims": [{"text": "refund $500", "quotes": ["refund $500"]}]}
    assert not check_cited(SPEC, forged, data, None).passed  # the quote checks still run


def test_a_claim_without_any_citation_is_refused():
    data = {"body": "I was charged $40 twice on 3 March."}
    output = {"claims": [{"text": "charged twice", "quotes": ["charged $40 twice"]}]}
    report = check_cited(SPEC, output, data, ())
    assert not report.passed and "carries no provider citation" in report.failures[0]


def test_input_lists_are_content_documents_cited_by_block():
    spec = GroundingSpec(source_fields=("lines[]",), claims_field="claims", citations="provider")
    (doc,) = citable_documents(spec, {"lines": ["Agent: hello", "", "Customer: cancel it"]})
    assert doc.kind == "content" and doc.blocks == ("Agent: hello", "Customer: cancel it")
    assert doc.block_names == ("lines[]", "lines[]#2")  # the names the quote checks give them


def test_the_eval_reports_citation_coverage_through_the_sdk(tmp_path):
    from seamline.eval import run_eval

    full = cited(("You were charged $40 twice on 3 March.", cite("charged $40 twice on 3 March")))
    golden = tmp_path / "golden.jsonl"
    lines = [{"id": "half", "split": "test", "input": TICKET, "output": {}},
             {"id": "full", "split": "test", "input": {**TICKET, "ticket_id": "C2"}, "output": {}}]
    golden.write_text("".join(json.dumps(line) + "\n" for line in lines))

    def backend(req):
        return full if "Ticket C2" in req.user else GOOD

    with Emulator(backend).serve() as emu:
        report = run_eval(integration(emu), golden)  # the default scorers
    assert "citation_coverage" in report.headline_scorers
    assert report.mean("citation_coverage") == pytest.approx(0.75)  # 0.5 and 1.0


def test_a_cited_reply_served_from_the_response_cache_keeps_its_citations(store):
    from seamline.inference._cache import Caching

    docs = (SourceDocument("body", "body", "text", text=BODY),)
    request = ModelRequest((Message("user", "Q?"),), "claude-test-1", {},
                           Answer.model_json_schema(), {}, 0, 200,
                           CitationRequest(docs, "claims", answer_field="answer"))
    with Emulator(Script(GOOD)).serve() as emu:
        cache = Caching(AnthropicModel("claude-test-1", base_url=emu.base_url), store, 60)
        first, again = cache.complete(request), cache.complete(request)
        calls = len(emu.requests)
        other = cache.complete(ModelRequest(request.messages, "claude-test-1", {},
                                            request.output_schema, {}, 0, 200, CitationRequest(
                                                (SourceDocument("body", "body", "text",
                                                                text="Another text."),),
                                                "claims")))
    assert calls == 1 and getattr(again, "cached", False)
    assert again.citations == first.citations and first.citations
    assert other is not None and len(emu.requests) == 2  # other documents: not the same call


def test_an_answer_through_a_fallback_without_citations_keeps_the_quote_contract(
        store, monkeypatch):
    from seamline.emulator import FaultPlan, FaultRule
    from seamline.integration import RetrySpec

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-00000000000000")
    quoted = {"answer": "You were charged twice.",
              "claims": [{"text": "You were charged $40 twice.", "quotes": ["charged $40 twice"]}]}

    def backend(req):
        return GOOD if req.provider == "anthropic" else quoted

    with Emulator(backend, FaultPlan(rules=(FaultRule(kind="server_error",
                                                      provider="anthropic"),))).serve() as emu:
        fallback = ModelRoute(provider="openai", model="gpt-4.1-mini", base_url=emu.base_url + "/v1",
                              input_usd_per_mtok=1.0, output_usd_per_mtok=2.0)
        result = Pipeline(integration(emu, retry=RetrySpec(max_retries=0),
                                      fallbacks=(fallback,)), store).process(TICKET)
        openai_body = next(r.body for r in emu.requests if r.provider == "openai")
    assert result.state == SUCCEEDED, result.reason
    report = grounding_entry(store, result.event_id)
    assert report["provider_citations"]["contract"] == "quotes" and report["passed"]
    assert report["quotes"][0]["quote"] == "charged $40 twice"  # checked verbatim instead
    assert "document" not in json.dumps(openai_body)  # no document blocks on that wire


def test_retrieved_documents_are_sent_to_be_cited_and_their_citations_checked(store, tmp_path):
    from seamline.integration import RetrievalSpec

    corpus = Path(__file__).resolve().parents[2] / "examples" / "support_answer" / "docs"
    retrieval = RetrievalSpec(docs=corpus, index=tmp_path / "index.db", query_field="body",
                              documents_field="documents", k=2, mode="bm25", min_score=0.0)

    def backend(req):  # cite the first sentence of the first retrieved document
        docs = [b for m in req.body["messages"] if isinstance(m["content"], list)
                for b in m["content"] if b["type"] == "document"]
        text = docs[1]["source"]["data"]
        first = text.split(". ")[0].strip()
        return cited((first + ".", cite(first, document=1)))

    question = {"ticket_id": "R1", "body": "How do I reset my password? The link expired."}
    with Emulator(backend).serve() as emu:
        integ = integration(emu).model_copy(update={"retrieval": retrieval})
        result = Pipeline(integ, store).process(question)
        docs = documents_sent(emu.requests[0])
    assert result.state == SUCCEEDED, result.reason
    assert [d["title"] for d in docs][0] == "body" and len(docs) == 3  # the question + 2 chunks
    assert all(d["citations"] == {"enabled": True} for d in docs)
    (span,) = grounding_entry(store, result.event_id)["provider_citations"]["spans"]
    assert span["field"] == "documents[0].text" and span["document"] == 1
    assert docs[1]["source"]["data"][span["start"]:span["end"]] == span["cited_text"]
