"""Prepare once, send many: the structured-output part of a request is handed to the SDK
as a prepared body part (``extra_body``), so the SDK does not walk the JSON schema on every
call, and the bytes on the wire stay what the vendor documents.

OpenAI: https://platform.openai.com/docs/api-reference/chat/create (``response_format``).
(The anthropic SDK 2.x sends ``messages.create``'s body as given, without a walk, so its
adapter needs no such step.)
"""

from __future__ import annotations

import openai.resources.chat.completions.completions as openai_completions
import pytest

from seamline.emulator import Emulator
from seamline.inference import Message, ModelRequest
from seamline.inference.openai import OpenAIModel

ANSWER = {"intent": "billing", "urgency": "high"}
SCHEMA = {"type": "object", "properties": {
    "intent": {"type": "string", "enum": ["billing", "other"]},
    "urgency": {"type": "string", "enum": ["low", "high"]}},
    "required": ["intent", "urgency"], "additionalProperties": False}


def _request(schema=SCHEMA) -> ModelRequest:
    return ModelRequest((Message("system", "Triage."), Message("user", "Charged twice.")),
                        "m", {}, schema, max_tokens=50)


@pytest.fixture
def emu():
    with Emulator(lambda req: ANSWER).serve() as emulator:
        yield emulator


def _spy(monkeypatch, module) -> list[dict]:
    walked: list[dict] = []
    real = module.maybe_transform

    def spy(data, *args, **kwargs):
        if isinstance(data, dict):
            walked.append(dict(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(module, "maybe_transform", spy)
    return walked


def test_openai_sends_the_response_format_without_the_sdk_walking_it(emu, monkeypatch):
    walked = _spy(monkeypatch, openai_completions)
    model = OpenAIModel("gpt-4.1-mini", client=__import__("openai").OpenAI(
        api_key="sk-test", base_url=emu.base_url + "/v1", max_retries=0))
    for _ in range(3):
        reply = model.complete(_request())
        assert reply.text and "billing" in reply.text
    # The SDK transformed the messages each time, never the schema.
    assert len(walked) == 3
    assert all(not isinstance(args.get("response_format"), dict) for args in walked)
    for r in emu.requests:
        assert r.body["response_format"] == {"type": "json_schema", "json_schema": {
            "name": "output", "schema": SCHEMA, "strict": False}}
        assert r.body["messages"][1] == {"role": "user", "content": "Charged twice."}
    # One prepared part per schema, reused.
    assert len(model._formats) == 1
    other = {**SCHEMA, "required": ["intent"]}
    model.complete(_request(other))
    assert emu.requests[-1].body["response_format"]["json_schema"]["schema"] == other
    assert len(model._formats) == 2

