"""The support-answer integration on a remote model: the official Anthropic SDK over real
HTTP to the emulator, whose "model" only sees the prompt the pipeline rendered."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from seamline.audit import story
from seamline.emulator import Emulator
from seamline.integration import load_integration
from seamline.runtime import Pipeline

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support_answer"
DOC = re.compile(r"^\[([^\]\n]+)\] [^\n]*\n([^\n]+)", re.MULTILINE)


@pytest.fixture
def remote(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SUPPORT_ANSWER_HELPDESK_DB", str(tmp_path / "answers.db"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    base = load_integration(EXAMPLE / "integration.yaml")

    def on(emu):
        route = base.model.model_copy(update={
            "provider": "anthropic", "model": "claude-test-1", "base_url": emu.base_url,
            "input_usd_per_mtok": 1.0, "output_usd_per_mtok": 5.0})
        return base.model_copy(update={"model": route})

    return on


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


def test_a_cited_answer_round_trips_through_the_sdk_and_passes_grounding(remote, store):
    def model(request):  # answers from the documents in the prompt, as a good model would
        docs = DOC.findall(request.user)
        if not docs:
            return {"status": "insufficient_information", "answer": "", "citations": []}
        chunk_id, text = docs[0]
        quote = _first_sentence(text)
        return {"status": "answered", "answer": quote,
                "citations": [{"chunk_id": chunk_id, "quote": quote}]}

    with Emulator(model).serve() as emu:
        pipeline = Pipeline(remote(emu), store)
        result = pipeline.process({"ticket_id": "r-1", "question":
                                   "I'm bob@example.com: how long does a refund take to appear?"})
        off = pipeline.process({"ticket_id": "r-2", "question": "What is the capital of France?"})
        sent = [json.dumps(r.body) for r in emu.requests]
    assert result.state == "succeeded", result.reason
    assert result.output["citations"][0]["chunk_id"].startswith("refunds.md#")
    assert off.output["status"] == "insufficient_information"
    assert len(sent) == 2 and "refunds.md#" in sent[0]
    assert "bob@example.com" not in sent[0]  # redacted before retrieval and the prompt
    call = next(e["payload"] for e in story(store, result.event_id) if e["kind"] == "model_call")
    assert call["cost_usd"] > 0


def test_an_invented_citation_is_sent_back_with_the_failure_then_corrected(remote, store):
    def model(request):
        docs = DOC.findall(request.user)
        chunk_id, text = docs[0]
        quote = _first_sentence(text)
        if "not among the documents provided" not in request.user:
            chunk_id = "pricing.md#9"  # a page that was never retrieved
        return {"status": "answered", "answer": quote,
                "citations": [{"chunk_id": chunk_id, "quote": quote}]}

    with Emulator(model).serve() as emu:
        result = Pipeline(remote(emu), store).process(
            {"ticket_id": "r-3", "question": "Which credit cards do you accept?"})
        calls = len(emu.requests)
    assert result.state == "succeeded", result.reason
    assert calls == 2 and result.output["citations"][0]["chunk_id"].startswith("billing.md#")
