"""The on-device extractive answerer: quotes documents verbatim, or abstains."""

from __future__ import annotations

import json

from pydantic import BaseModel

from seamline.inference._local_extract import ExtractiveModel
from seamline.inference._types import Message, ModelRequest

DOCS = [
    {"id": "refunds.md#1", "text": "Refunds go back to the original payment method and take "
                                   "5 to 10 business days to appear. Ask within 30 days."},
    {"id": "billing.md#0", "text": "We bill on the first day of the month.\nCards: Visa, "
                                   "Mastercard and American Express."},
]


class Out(BaseModel):
    status: str
    answer: str
    citations: list[dict]


def test_it_answers_with_the_sentence_that_covers_the_question():
    out = ExtractiveModel(Out).answer({"question": "How many business days until a refund "
                                                   "appears?", "documents": DOCS})
    assert out["status"] == "answered"
    assert out["citations"] == [{"chunk_id": "refunds.md#1", "quote":
                                 "Refunds go back to the original payment method and take 5 to "
                                 "10 business days to appear."}]
    assert out["answer"] == out["citations"][0]["quote"]


def test_every_quote_is_a_verbatim_piece_of_its_document():
    model = ExtractiveModel(Out)
    for question in ("Which cards do you take?", "When do you bill?", "refund deadline days",
                     "What is this?"):
        out = model.answer({"question": question, "documents": DOCS})
        texts = {d["id"]: d["text"] for d in DOCS}
        for c in out["citations"]:
            assert c["quote"] in texts[c["chunk_id"]]


def test_a_later_document_wins_when_it_covers_the_question_better():
    out = ExtractiveModel(Out).answer({"question": "Which cards: Visa or Mastercard?",
                                       "documents": DOCS})
    assert out["citations"][0]["chunk_id"] == "billing.md#0"
    assert "Visa" in out["answer"]


def test_no_documents_or_no_question_abstains():
    model = ExtractiveModel(Out)
    empty = {"status": "insufficient_information", "answer": "", "citations": []}
    assert model.answer({"question": "How long do refunds take?", "documents": []}) == empty
    assert model.answer({"question": "the of and", "documents": DOCS}) == empty


def test_field_names_come_from_the_route_params_and_the_reply_is_json():
    model = ExtractiveModel(Out, params={"question_field": "q", "documents_field": "passages",
                                         "status_field": "verdict", "abstained": "unknown"})
    request = ModelRequest(messages=(Message("user", "x" * 40),), model="local-extractive",
                           source={"q": "nothing here", "passages": []})
    reply = model.complete(request)
    assert json.loads(reply.text) == {"verdict": "unknown", "answer": "", "citations": []}
    assert reply.usage.input_tokens == 10 and reply.model == "local-extractive"
