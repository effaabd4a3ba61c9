"""The on-device model: learns from labelled examples, answers in the schema."""

from __future__ import annotations

import enum
import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from seamline.errors import ConfigError
from seamline.inference import _local_fit
from seamline.inference._types import Message, ModelReply, ModelRequest, Provider
from seamline.inference.local import LocalModel, split_sentences

# --------------------------------------------------------------------- schema


Intent = Literal[
    "billing", "refund", "technical", "account", "shipping", "cancellation", "feedback", "other"
]


class Urgency(enum.Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class Ticket(BaseModel):
    intent: Intent
    urgency: Urgency | None
    summary: str = Field(min_length=1, max_length=60)
    confidence: float = Field(ge=0, le=1)
    evidence: list[str] = Field(default_factory=list)
    needs_human: bool = False  # never in the training data: left to the schema's default
    priority: int | None = Field(None, ge=1, le=5)  # never in the training data
    tags: list[str] = Field(default_factory=lambda: ["triage"])
    channel: Literal["email", "chat"] = "chat"  # categorical, never labelled


# ------------------------------------------------------------------- dataset
# 8 intents x 6 short e-mails, phrased differently from the unseen set below.

TRAIN: dict[str, list[str]] = {
    "billing": [
        "I was charged twice for my subscription this month. Please fix the duplicate charge.",
        "My invoice shows the wrong amount. The bill is higher than the price on your site.",
        "Why did my payment go through twice? I see two charges on my credit card statement.",
        "The invoice for March lists extra seats we never used. Please correct the billing.",
        "You billed my card after I changed plans and the charge does not match the invoice.",
        "Can you send a copy of last month's invoice? Our accountant needs the billing receipt.",
    ],
    "refund": [
        "I returned the jacket last week. When will I get my refund?",
        "Please refund my order, the item arrived broken and I want my money back.",
        "I want a refund for the unused months of my annual plan.",
        "The return reached your warehouse ten days ago but no refund has arrived.",
        "Requesting my money back for the defective headphones I sent back.",
        "How long does a refund take to reach my bank account after a return?",
    ],
    "technical": [
        "The app crashes every time I open the settings page.",
        "I get an error 500 when I try to upload a file.",
        "The dashboard will not load and shows a blank screen.",
        "The page freezes and the console shows an error when I click save.",
        "Sync stopped working after the latest update and the app keeps crashing.",
        "Exports fail with a timeout error since yesterday.",
    ],
    "account": [
        "I forgot my password and the reset email never arrives.",
        "Please change the email address on my account.",
        "How do I add a second user to my account profile?",
        "My account got locked and I cannot reset my password.",
        "I want to update my username and my profile details.",
        "Please merge my two accounts into one profile.",
    ],
    "shipping": [
        "My package has not arrived yet and the tracking number shows no updates.",
        "Where is my order? It was supposed to be delivered on Monday.",
        "The courier says the parcel was delivered but I never received it.",
        "Can you ship my order to a different address?",
        "Tracking has been stuck in transit for a week.",
        "How long does delivery take to Canada?",
    ],
    "cancellation": [
        "Please cancel my subscription at the end of this month.",
        "I want to cancel my plan and close my membership.",
        "How do I stop my subscription from renewing?",
        "Cancel my order before it ships please.",
        "I no longer need the service, please terminate my contract.",
        "Do not renew my annual plan, I want to cancel.",
    ],
    "feedback": [
        "I love the new design, great job to the team!",
        "Just wanted to say your support was amazing, thank you.",
        "Suggestion: it would be great to have a dark mode.",
        "The new feature is really useful, thanks for building it.",
        "Your product is great but the menu could be simpler, just a suggestion.",
        "Thank you for the fast help yesterday, really appreciated.",
    ],
    "other": [
        "Do you have a physical office in Berlin?",
        "Are you hiring software engineers this year?",
        "I am a journalist writing an article about your company.",
        "Can I partner with you for a marketing event?",
        "What are your office opening hours during the holidays?",
        "Is your company sponsoring the local football club?",
    ],
}

UNSEEN: list[tuple[str, str]] = [
    ("billing", "There is a double charge on my card statement for this month's invoice."),
    ("billing", "The amount on the bill is wrong, we were charged for seats we never had."),
    ("refund", "I sent the broken item back, please give me my money back."),
    ("refund", "Still waiting on the refund for my return from two weeks ago."),
    ("technical", "Every time I upload a photo the app crashes with an error."),
    ("technical", "The dashboard page freezes after the update and will not load."),
    ("account", "The password reset link does not arrive, can you unlock my account?"),
    ("account", "How can I change the email and username on my profile?"),
    ("shipping", "The tracking for my parcel has not moved and the order is not delivered."),
    ("shipping", "My package is stuck in transit, where is my delivery?"),
    ("cancellation", "Please stop the renewal and cancel my membership."),
    ("cancellation", "I would like to terminate my subscription plan."),
    ("feedback", "Great job on the new design, thank you team!"),
    ("feedback", "A suggestion for the product: a dark mode would be great."),
    ("other", "Is your company hiring for the Berlin office?"),
    ("other", "I'd like to write an article about your company for a magazine."),
]

URGENCY_BY_INTENT = {
    "billing": "normal",
    "refund": "normal",
    "technical": "high",
    "account": "normal",
    "shipping": "normal",
    "cancellation": "normal",
    "feedback": "low",
    "other": "low",
}


def _examples() -> list[tuple[dict, dict]]:
    rows = []
    for intent, bodies in TRAIN.items():
        for i, body in enumerate(bodies):
            urgency = URGENCY_BY_INTENT[intent]
            subject = f"Question {i}"
            if i == 0 and intent not in ("feedback", "other"):
                subject, urgency = "URGENT please help", "high"
            rows.append(
                (
                    {"subject": subject, "body": body, "customer_id": f"c{i}"},
                    {"intent": intent, "urgency": urgency},
                )
            )
    return rows


def _request(source: dict) -> ModelRequest:
    prompt = f"Classify this e-mail.\n\n{source.get('subject', '')}\n{source.get('body', '')}"
    return ModelRequest(
        messages=(Message("system", "You triage support e-mail."), Message("user", prompt)),
        model="local-linear",
        source=source,
    )


def _text(source: dict) -> str:
    return "\n".join(v for v in (source.get("subject"), source.get("body")) if v)


@pytest.fixture(scope="module")
def model() -> LocalModel:
    return LocalModel(Ticket, _examples(), ["subject", "body"])


def _answer(model: LocalModel, source: dict) -> dict:
    reply = model.complete(_request(source))
    Ticket.model_validate_json(reply.text)
    return json.loads(reply.text)


# --------------------------------------------------------------------- tests


def test_classifies_unseen_paraphrases_well_above_chance(model: LocalModel) -> None:
    right = sum(
        _answer(model, {"subject": "Hello", "body": body})["intent"] == intent
        for intent, body in UNSEEN
    )
    # chance is 1 in 8 (2 of 16)
    assert right >= 12, f"only {right} of {len(UNSEEN)} unseen e-mails classified right"


def test_reply_validates_and_is_a_model_reply(model: LocalModel) -> None:
    source = {"subject": "Where is my order", "body": "My package has not arrived yet."}
    reply = model.complete(_request(source))
    assert isinstance(reply, ModelReply)
    result = Ticket.model_validate_json(reply.text)
    assert result.intent == "shipping"
    assert reply.model == "local-linear"
    assert reply.stop_reason == "end"
    prompt_chars = sum(len(m.content) for m in _request(source).messages)
    assert abs(reply.usage.input_tokens - prompt_chars / 4) <= 1
    assert abs(reply.usage.output_tokens - len(reply.text) / 4) <= 1
    said = list(json.loads(reply.text))
    assert said == [name for name in Ticket.model_fields if name in said]  # schema order


def test_evidence_quotes_are_verbatim_and_pick_the_telling_sentence(model: LocalModel) -> None:
    source = {
        "subject": "Hi",
        "body": (
            "Hello team,\n\nI hope you are all well and had a nice weekend. "
            "My package has not arrived and the tracking number shows no updates!  "
            "Kind regards,\nBob"
        ),
    }
    answer = _answer(model, source)
    assert answer["intent"] == "shipping"
    assert 1 <= len(answer["evidence"]) <= 2
    text = _text(source)
    for quote in answer["evidence"]:
        assert quote and quote in text
    assert answer["evidence"][0] == (
        "My package has not arrived and the tracking number shows no updates!"
    )


def test_long_sentences_are_capped_but_stay_verbatim(model: LocalModel) -> None:
    long = "My invoice shows a double charge " + "and another extra line item " * 30 + "today."
    source = {"subject": "invoice", "body": long}
    answer = _answer(model, source)
    quote = answer["evidence"][0]
    assert quote in long
    assert 150 <= len(quote) <= 300
    assert long[len(quote)] == " "  # cut at a word boundary


def test_summary_is_one_line_cut_to_max_length_at_a_word(model: LocalModel) -> None:
    source = {
        "subject": "charge",
        "body": "I was charged twice \t  for my   subscription this month and the invoice "
        "shows a duplicate charge on my credit card statement.",
    }
    answer = _answer(model, source)
    summary = answer["summary"]
    assert "\n" not in summary and "  " not in summary
    assert len(summary) <= 60
    assert summary.endswith("…")
    assert " ".join(source["body"].split()).startswith(summary[:-1].rstrip())


def test_summary_is_never_empty(model: LocalModel) -> None:
    assert _answer(model, {"subject": "", "body": ""})["summary"] == "(no text)"
    assert _answer(model, {})["evidence"] == []
    answer = _answer(model, {"subject": "ok", "body": "?!"})  # no sentence of 3+ chars
    assert answer["summary"] == "ok"


def test_same_input_gives_byte_identical_output(model: LocalModel) -> None:
    source = {"subject": "Refund", "body": "I returned the shoes. When do I get my money back?"}
    first = model.complete(_request(source)).text
    assert model.complete(_request(source)).text == first
    # A fresh training run from the same examples gives the same bytes too.
    _local_fit._CACHE.clear()
    again = LocalModel(Ticket, _examples(), ["subject", "body"])
    assert again.complete(_request(source)).text == first


def test_confidence_is_a_probability_and_lower_when_ambiguous(model: LocalModel) -> None:
    clear = _answer(
        model,
        {
            "subject": "Refund",
            "body": "Please refund my order. I returned the broken item and want my money back.",
        },
    )
    vague = _answer(model, {"subject": "Hello", "body": "I have a question about something."})
    assert 0.0 <= vague["confidence"] <= 1.0 and 0.0 <= clear["confidence"] <= 1.0
    assert clear["intent"] == "refund"
    assert vague["confidence"] < clear["confidence"]
    assert clear["confidence"] == round(clear["confidence"], 3)


def test_predictions_come_from_the_fitted_sklearn_pipelines(model: LocalModel) -> None:
    from sklearn.pipeline import Pipeline

    assert set(model.pipelines) == {"intent", "urgency"}
    for source in (
        {"subject": "URGENT please help", "body": "The app crashes on start. Fix it!"},
        {"subject": "hi", "body": "Do you have an office in Paris? Are you hiring?"},
    ):
        answer = _answer(model, source)
        lowest = 1.0
        for name, pipeline in model.pipelines.items():
            assert isinstance(pipeline, Pipeline)
            proba = pipeline.predict_proba([_text(source)])[0]
            label = pipeline.classes_[proba.argmax()]
            assert model.fitted.heads[name].labels[int(proba.argmax())] == answer[name]
            assert label == proba.argmax()  # classes are label indices
            lowest = min(lowest, float(proba.max()))
        assert answer["confidence"] == pytest.approx(round(lowest, 3), abs=1e-3)


def test_fields_it_cannot_fill_are_left_to_the_schema_never_invented(model: LocalModel) -> None:
    source = {"subject": "hi", "body": "The app crashes on start."}
    reply = model.complete(_request(source))
    answer = json.loads(reply.text)
    # The model says nothing about what the input does not state...
    for name in ("needs_human", "priority", "tags", "channel"):
        assert name not in answer
    assert set(reply.evidence["unfilled"]) == {"needs_human", "priority", "tags", "channel"}
    # ...and the schema's own defaults stand (they are the schema's, not the model's word).
    ticket = Ticket.model_validate(answer)
    assert (ticket.needs_human, ticket.priority, ticket.tags, ticket.channel) == (
        False, None, ["triage"], "chat")
    assert set(model.pipelines) == {"intent", "urgency"}


def test_a_required_field_it_cannot_fill_refuses_the_event() -> None:
    from seamline.errors import CannotFill

    class Strict(BaseModel):
        intent: Intent
        needs_human: bool
        priority: int = Field(ge=1, le=5)

    strict = LocalModel(Strict, _examples(), ["subject", "body"])
    with pytest.raises(CannotFill) as info:
        strict.complete(_request({"subject": "hi", "body": "The app crashes on start."}))
    assert str(info.value).startswith(
        "the on-device model cannot fill needs_human and priority from this input")
    assert info.value.fields == ("needs_human", "priority")
    # Stated in the input, the same fields are read, with their evidence.
    body = "The app crashes on start. Priority 2, and I want to talk to a person."
    reply = strict.complete(_request({"subject": "hi", "body": body}))
    assert json.loads(reply.text) == {"intent": "technical", "needs_human": True, "priority": 2}
    found = reply.evidence["filled"]["priority"]["found"][0]
    assert body[found["start"]:found["end"]] == found["quote"] == "Priority 2"


def test_is_a_provider(model: LocalModel) -> None:
    assert isinstance(model, Provider)
    assert model.name == "local"


def test_training_is_shared_between_instances() -> None:
    a = LocalModel(Ticket, _examples(), ["subject", "body"])
    b = LocalModel(Ticket, _examples(), ["subject", "body"], model="local-linear")
    assert a.fitted is b.fitted
    c = LocalModel(Ticket, _examples()[:-1], ["subject", "body"])
    assert c.fitted is not a.fitted


def test_local_words_is_another_model_that_reads_words_only(model: LocalModel) -> None:
    words = LocalModel(Ticket, _examples(), ["subject", "body"], model="local-words")
    assert (model.model, model.char_ngrams) == ("local-linear", True)
    assert (words.model, words.char_ngrams) == ("local-words", False)
    # Another model is another fit, cached apart from the default one.
    assert words.fitted is not model.fitted
    assert words.fitted.char_vocab == {} and model.fitted.char_vocab
    features = words.pipelines["intent"].named_steps["features"]
    assert [kind for kind, _ in features.transformer_list] == ["word"]

    source = {"subject": "Where is my order", "body": "My package has not arrived yet."}
    reply = words.complete(_request(source))
    assert reply.model == "local-words"  # what a replay records as the new model
    assert Ticket.model_validate_json(reply.text).intent == "shipping"


def test_an_explicit_char_ngrams_wins_over_the_model_name() -> None:
    rows, fields = _examples(), ["subject", "body"]
    words_with_chars = LocalModel(Ticket, rows, fields, model="local-words", char_ngrams=True)
    assert words_with_chars.char_ngrams is True
    # Same features, same cached fit.
    assert words_with_chars.fitted is LocalModel(Ticket, rows, fields, model="local-linear").fitted
    linear_without = LocalModel(Ticket, rows, fields, model="local-linear", char_ngrams=False)
    assert linear_without.fitted is LocalModel(Ticket, rows, fields, model="local-words").fitted


def test_an_unknown_local_model_name_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="'local-bert'") as info:
        LocalModel(Ticket, _examples(), ["subject", "body"], model="local-bert")
    assert "'local-linear'" in str(info.value) and "'local-words'" in str(info.value)
    with pytest.raises(ConfigError, match="'gpt-4o'"):  # the keyword does not rescue the name
        LocalModel(Ticket, _examples(), ["subject", "body"], model="gpt-4o", char_ngrams=True)
    # From a file, the name is checked before the examples are read.
    with pytest.raises(ConfigError, match="'local-bert'"):
        LocalModel.from_jsonl(tmp_path / "missing.jsonl", Ticket, ["body"], model="local-bert")


def test_missing_or_empty_examples_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="examples"):
        LocalModel(Ticket, None, ["body"])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="examples"):
        LocalModel(Ticket, [], ["body"])


def test_a_categorical_field_with_one_label_is_a_config_error() -> None:
    rows = [(i, {**o, "urgency": "normal"}) for i, o in _examples()]
    with pytest.raises(ConfigError, match="urgency") as info:
        LocalModel(Ticket, rows, ["subject", "body"])
    assert "two different labels" in str(info.value)


def test_a_label_outside_the_schema_is_a_config_error() -> None:
    rows = _examples() + [({"body": "hi"}, {"intent": "spam", "urgency": "low"})]
    with pytest.raises(ConfigError, match="spam"):
        LocalModel(Ticket, rows, ["subject", "body"])


def test_from_jsonl(tmp_path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(
        "\n".join(json.dumps({"input": i, "output": o}) for i, o in _examples()) + "\n\n",
        encoding="utf-8",
    )
    model = LocalModel.from_jsonl(path, Ticket, ["subject", "body"])
    answer = _answer(model, {"subject": "x", "body": "Please cancel my subscription."})
    assert answer["intent"] == "cancellation"
    words = LocalModel.from_jsonl(path, Ticket, ["subject", "body"], model="local-words")
    assert (words.model, words.char_ngrams) == ("local-words", False)

    with pytest.raises(ConfigError, match="does not exist"):
        LocalModel.from_jsonl(tmp_path / "missing.jsonl", Ticket, ["body"])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no examples"):
        LocalModel.from_jsonl(empty, Ticket, ["body"])
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"input": {}, "output": {}}\n{"input": \n', encoding="utf-8")
    with pytest.raises(ConfigError, match="Line 2"):
        LocalModel.from_jsonl(broken, Ticket, ["body"])


def test_non_english_input_does_not_crash(model: LocalModel) -> None:
    bodies = [
        "Hola, me cobraron dos veces este mes. ¿Pueden devolverme el dinero? Gracias.",
        "Guten Tag! Meine Bestellung ist noch nicht angekommen. Bitte prüfen Sie das.",
        "Bonjour, je voudrais annuler mon abonnement. Merci d'avance.",
        "Olá! O aplicativo trava quando abro as configurações. Podem ajudar?",
        "請求が二重になっています。返金してください！よろしくお願いします。",
    ]
    for body in bodies:
        source = {"subject": "…", "body": body}
        answer = _answer(model, source)
        assert answer["evidence"], body
        for quote in answer["evidence"]:
            assert quote in _text(source)
        assert 1 <= len(answer["summary"]) <= 60


def test_sentences_split_on_western_and_japanese_stops() -> None:
    text = "請求が二重です。返金してください！本当？ It costs $12.50 today. Why?\nThanks"
    pieces = [text[a:b] for a, b in split_sentences(text)]
    assert pieces == [
        "請求が二重です。",
        "返金してください！",
        "本当？",
        "It costs $12.50 today.",
        "Why?",
        "Thanks",
    ]


def test_char_ngrams_give_signal_in_japanese() -> None:
    class Topic(BaseModel):
        topic: Literal["billing", "shipping"]
        evidence: list[str] = []

    billing = [
        "今月の請求書の金額が間違っています。",
        "クレジットカードに二重請求されました。",
        "請求書の再発行をお願いします。",
        "請求金額が高すぎます。",
    ]
    shipping = [
        "注文した商品がまだ届いていません。",
        "配送状況の追跡番号が更新されません。",
        "荷物が配達されていません。",
        "配送先の住所を変更したいです。",
    ]
    rows = [({"body": b}, {"topic": "billing"}) for b in billing]
    rows += [({"body": b}, {"topic": "shipping"}) for b in shipping]
    model = LocalModel(Topic, rows, ["body"])
    for body, topic in [
        ("先月の請求書に二重請求があります。確認してください。", "billing"),
        ("商品がまだ届いていません。配送状況を教えてください。", "shipping"),
    ]:
        answer = json.loads(model.complete(_request({"body": body})).text)
        assert answer["topic"] == topic, body
        assert all(q in body for q in answer["evidence"])
        assert answer["evidence"][0] != "確認してください。"


def test_schema_without_a_categorical_field_is_a_config_error() -> None:
    class Free(BaseModel):
        summary: str

    with pytest.raises(ConfigError, match="Literal or Enum"):
        LocalModel(Free, _examples(), ["body"])
