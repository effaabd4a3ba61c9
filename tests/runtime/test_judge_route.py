"""``grounding.judge.route``: the judge asks its own model, not the integration's route."""

from __future__ import annotations

import json

from conftest import make_integration
from pydantic import BaseModel, Field

from seamline.inference import ScriptedModel
from seamline.integration import GroundingSpec, JudgeSpec, ModelRoute
from seamline.runtime import SUCCEEDED, Pipeline
from seamline.runtime._grounding_calls import JUDGE_SYSTEM


class Claim(BaseModel):
    text: str
    quotes: list[str] = Field(default_factory=list)


class Grounded(BaseModel):
    label: str
    confidence: float = 0.9
    amount: float = 0.0
    claims: list[Claim] = Field(default_factory=list)


def test_the_judge_uses_its_own_route(store, monkeypatch):
    answer = {"label": "refund", "amount": 40,
              "claims": [{"text": "double charge", "quotes": ["charged $40 twice"]}]}
    main = ScriptedModel(lambda req: json.dumps(answer))
    judge = ScriptedModel(lambda req: json.dumps({"supported": True, "reason": "stated"}))
    built = []

    def fake_gateway(integration, store=None, **kw):
        built.append(integration.model)
        return judge

    monkeypatch.setattr("seamline.runtime._pipeline.build_gateway", fake_gateway)
    route = ModelRoute(provider="anthropic", model="judge-1", input_usd_per_mtok=3.0)
    spec = make_integration(output_schema=Grounded, grounding=GroundingSpec(
        claims_field="claims", judge=JudgeSpec(route=route)))
    result = Pipeline(spec, store, provider=main).process(
        {"ticket_id": "J1", "body": "I was charged $40 twice. Please refund one."})
    assert result.state == SUCCEEDED
    assert built == [route]  # a gateway for the judge's route, and only for it
    assert all(r.messages[0].content != JUDGE_SYSTEM for r in main.requests)
    (asked,) = judge.requests
    assert asked.messages[0].content == JUDGE_SYSTEM and asked.model == "judge-1"
