"""The emulator speaks Anthropic's citations wire format, checked through the official SDK.

Shapes follow https://docs.anthropic.com/en/docs/build-with-claude/citations : document
blocks (plain text, base64 PDF, custom content) in; text blocks carrying ``citations`` of
type char_location, page_location and content_block_location out, streamed as
``citations_delta`` events; citations on all documents or none; no structured outputs
with cited documents.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import anthropic
import pytest

from seamline.emulator import Emulator, ScriptBackend, cite, cited

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "retrieval"))
from retrieval_fixtures import tiny_pdf  # the hand-written PDF of the retrieval tests

TEXT = "Our office opens at 9. Refunds are paid within 14 days."
PDF = base64.b64encode(tiny_pdf(["Cover page.", "Shipping takes 3 days."])).decode()
BLOCKS = ["Plan A: 20 EUR.", "Plan B: 35 EUR."]


def documents(enabled=True):
    on = {"citations": {"enabled": enabled}}
    return [
        {"type": "document", "title": "Policy", **on,
         "source": {"type": "text", "media_type": "text/plain", "data": TEXT}},
        {"type": "document", "title": "Terms", **on,
         "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}},
        {"type": "document", "title": "Plans", **on,
         "source": {"type": "content", "content": [{"type": "text", "text": t} for t in BLOCKS]}},
    ]


@pytest.fixture(scope="module")
def server():
    with Emulator(seed=1).serve() as emu:
        yield emu


@pytest.fixture
def emu(server):
    server.reset()
    yield server


@pytest.fixture
def client(emu):
    with anthropic.Anthropic(base_url=emu.base_url, api_key="test", max_retries=0) as c:
        yield c


def ask(client, docs, **kw):
    return client.messages.create(model="claude-emulated", max_tokens=300, messages=[
        {"role": "user", "content": [*docs, {"type": "text", "text": "What do you know?"}]}], **kw)


ANSWER = cited("Here is what the documents say. ",
               ("Refunds take 14 days.", cite("Refunds are paid within 14 days")),
               ("Shipping takes 3 days.", cite("Shipping takes 3 days", document=1)),
               ("Plan B is 35 EUR.", cite("Plan B", document=2)))


def test_each_document_kind_is_cited_in_its_documented_shape(emu, client):
    emu.backend = ScriptBackend([ANSWER])
    message = ask(client, documents())
    intro, refunds, shipping, plan = message.content
    assert intro.text == "Here is what the documents say. " and not intro.citations
    (char,) = refunds.citations
    assert char.type == "char_location" and char.document_index == 0
    assert TEXT[char.start_char_index:char.end_char_index] == char.cited_text
    assert char.cited_text == "Refunds are paid within 14 days" and char.document_title == "Policy"
    (page,) = shipping.citations
    assert page.type == "page_location" and page.document_index == 1
    assert (page.start_page_number, page.end_page_number) == (2, 3)  # 1-based, end exclusive
    (block,) = plan.citations
    assert block.type == "content_block_location" and block.document_index == 2
    assert (block.start_block_index, block.end_block_index) == (1, 2)
    assert block.cited_text == "Plan B: 35 EUR."  # whole blocks, as the API cites them


def test_a_script_can_forge_a_citation_or_shift_its_offsets(emu, client):
    emu.backend = ScriptBackend([cited(("Forged.", cite("a refund of $5000 was approved")),
                                       ("Shifted.", cite("Refunds are paid", at=(0, 16))))])
    forged, shifted = ask(client, documents()).content
    (f,) = forged.citations
    assert f.cited_text == "a refund of $5000 was approved" and f.cited_text not in TEXT
    (s,) = shifted.citations
    assert (s.start_char_index, s.end_char_index) == (0, 16)
    assert TEXT[0:16] != s.cited_text  # the offsets no longer hold the text


def test_citations_arrive_as_citations_delta_events_when_streamed(emu, client):
    emu.backend = ScriptBackend([ANSWER])
    with client.messages.stream(model="claude-emulated", max_tokens=300, messages=[
            {"role": "user", "content": [*documents(), {"type": "text", "text": "Q?"}]}]) as s:
        kinds = [e.delta.type for e in s if e.type == "content_block_delta"]
        final = s.get_final_message()
    assert kinds.count("citations_delta") == 3
    assert [c.type for b in final.content for c in (b.citations or [])] == [
        "char_location", "page_location", "content_block_location"]


def test_citations_on_some_documents_but_not_all_is_a_400(emu, client):
    mixed = documents()
    mixed[1] = {**mixed[1], "citations": {"enabled": False}}
    with pytest.raises(anthropic.BadRequestError, match="all or none of the documents"):
        ask(client, mixed)


def test_cited_documents_with_structured_outputs_is_a_400(emu, client):
    fmt = {"format": {"type": "json_schema", "schema": {"type": "object"}}}
    with pytest.raises(anthropic.BadRequestError, match="structured outputs"):
        ask(client, documents(), extra_body={"output_config": fmt})
    emu.backend = ScriptBackend([{"ok": True}])
    assert ask(client, documents(enabled=False), extra_body={"output_config": fmt}).content


@pytest.mark.parametrize("source, message", [
    ({"type": "text", "media_type": "text/html", "data": "x"}, "media_type"),
    ({"type": "base64", "media_type": "application/pdf", "data": "not base64!"}, "base64"),
    ({"type": "content", "content": [{"type": "text", "text": ""}]}, "non-empty"),
    ({"type": "zip", "data": "x"}, "does not match"),
])
def test_a_malformed_document_block_is_a_400_naming_the_field(emu, client, source, message):
    with pytest.raises(anthropic.BadRequestError, match=message):
        ask(client, [{"type": "document", "source": source, "citations": {"enabled": True}}])
