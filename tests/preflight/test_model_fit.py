"""``seamline check`` refuses routes that cannot serve the schema, features the model cannot
honour, typos in inline schemas and expressions that name what is not there (issue 15)."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from conftest import make_integration
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from seamline.errors import ConfigError
from seamline.integration import (
    ActionSpec,
    DualSpec,
    GroundingSpec,
    JudgeSpec,
    ModelRoute,
    load_integration,
)
from seamline.preflight import check


class Refund(BaseModel):
    label: Literal["refund", "other"]
    confidence: float = Field(ge=0, le=1)
    amount: float
    reply_draft: str
    needs_human: bool = False


class Plain(BaseModel):
    label: Literal["refund", "other"]
    confidence: float = Field(ge=0, le=1)
    amount: float = 0.0
    quote: str = ""


def _examples(tmp_path) -> str:
    path = tmp_path / "train.jsonl"
    rows = [({"ticket_id": f"t{i}", "body": body}, {"label": label}) for i, (body, label) in
            enumerate([("refund me", "refund"), ("money back please", "refund"),
                       ("hello", "other"), ("where is it", "other")])]
    path.write_text("".join(json.dumps({"input": i, "output": o}) + "\n" for i, o in rows),
                    encoding="utf-8")
    return str(path)


def _local(tmp_path, **kw) -> ModelRoute:
    return ModelRoute(provider="local", examples=_examples(tmp_path), **kw)


def _sentences(integration, level: str = "error") -> list[str]:
    return [p.sentence for p in check(integration) if p.level == level]


def test_a_required_field_the_local_model_can_never_fill_is_an_error(tmp_path):
    integ = make_integration(output_schema=Refund, model=_local(tmp_path))
    errors = _sentences(integ)
    (fit,) = [s for s in errors if "'reply_draft'" in s]
    assert "every event would be dead-lettered" in fit
    assert "remote model" in fit and "model.provider" in fit
    # The amount can be read when the input states it: a warning that says what happens.
    (warned,) = [s for s in _sentences(integ, "warning") if "'amount'" in s]
    assert "the on-device model cannot fill amount from this input" in warned


def test_each_fallback_is_checked_too(tmp_path):
    remote = ModelRoute(provider="scripted", model="s", fallbacks=(_local(tmp_path),))
    errors = _sentences(make_integration(output_schema=Refund, model=remote))
    assert any("model.fallbacks[0]" in s and "'reply_draft'" in s for s in errors)
    missing = ModelRoute(provider="scripted", model="s",
                         fallbacks=(ModelRoute(provider="local"),))
    assert any("model.fallbacks[0]" in s and "examples" in s
               for s in _sentences(make_integration(model=missing)))


class Paged(Plain):
    needs_human: bool = False


def test_an_action_reading_a_field_the_model_never_fills_is_warned(tmp_path):
    action = ActionSpec(name="page", handler=lambda p, idempotency_key: {},
                        when="output.needs_human")
    integ = make_integration(output_schema=Paged, model=_local(tmp_path), actions=(action,))
    (warned,) = [s for s in _sentences(integ, "warning") if "output.needs_human" in s]
    assert "schema's default False" in warned


def test_features_a_model_that_does_not_read_prompts_cannot_honour(tmp_path):
    spec = GroundingSpec(quote_fields=("quote",), dual=DualSpec(fields=("amount",)),
                         judge=JudgeSpec())
    integ = make_integration(output_schema=Plain, grounding=spec,
                             model=_local(tmp_path, max_repairs=2))
    errors = [p for p in check(integ) if p.level == "error"]
    text = " ".join(p.sentence for p in errors)
    assert "grounding.dual" in text and "never diverge" in text
    assert "Use a remote route for the judge: grounding.judge.route" in text
    assert "max_repairs: 2" in text
    # With the judge on its own remote route, the judge is fine.
    judged = make_integration(output_schema=Plain, model=_local(tmp_path), grounding=GroundingSpec(
        judge=JudgeSpec(route=ModelRoute(provider="anthropic", model="claude-x"))))
    assert not any("judge" in s for s in _sentences(judged) if "grounding" in s)
    # The default max_repairs is not a declaration: no error for it.
    assert not any("max_repairs" in s for s in _sentences(
        make_integration(output_schema=Plain, model=_local(tmp_path))))


def test_expressions_are_checked_against_the_schemas(tmp_path):
    action = ActionSpec(name="refund", handler=lambda p, idempotency_key: {},
                        when="output.label == 'refnud' and output.amont > 0",
                        params={"t": "input.ticket", "who": "customer"})
    errors = _sentences(make_integration(actions=(action,)))
    assert any("'refnud'" in s and "never be" in s for s in errors)
    assert any("output.amont" in s and "no field 'amont'" in s for s in errors)
    assert any("input.ticket" in s and "no field 'ticket'" in s for s in errors)
    assert any("'customer'" in s and "neither input nor output" in s for s in errors)
    broken = ActionSpec(name="x", handler=lambda p, idempotency_key: {}, when="output.(")
    assert any("not a valid expression" in s for s in _sentences(make_integration(actions=(broken,))))


def test_every_problem_is_reported_at_once(tmp_path):
    action = ActionSpec(name="refund", handler=lambda p, idempotency_key: {},
                        when="output.nope")
    spec = GroundingSpec(dual=DualSpec(fields=("amount",)))
    errors = _sentences(make_integration(output_schema=Refund, model=_local(tmp_path),
                                         actions=(action,), grounding=spec))
    assert len([s for s in errors if "'reply_draft'" in s or "output.nope" in s
                or "grounding.dual" in s]) == 3


YAML = """
name: typo
input_schema:
  fields:
    ticket_id: str
    body: {type: str, min_lenght: 1}
output_schema:
  fields:
    urgency: {enm: [low, high]}
prompt: {user: "{{ body }}"}
"""


def test_an_inline_schema_rejects_unknown_keys_all_at_once(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text(YAML, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_integration(path)
    message = str(info.value)
    assert "'enm'" in message and "'urgency'" in message
    assert "'min_lenght'" in message  # the input schema's typo in the same sentence


def test_check_on_the_command_line_exits_1_with_the_sentences(tmp_path):
    from seamline.cli import app

    path = tmp_path / "refunds.yaml"
    path.write_text(f"""
name: refunds
checklist: {{workflow: w, owner: o, baseline_metric: b, monthly_cost_ceiling_usd: 1}}
input_schema: {{fields: {{ticket_id: str, body: str}}}}
output_schema:
  fields:
    label: {{enum: [refund, other]}}
    reply_draft: str
prompt: {{user: "{{{{ body }}}}"}}
model: {{provider: local, examples: {_examples(tmp_path)}}}
grounding: {{judge: {{policy: fail}}}}
rollout: {{baseline: "base.py:b"}}
""", encoding="utf-8")
    (tmp_path / "base.py").write_text("def b(d):\n    return {}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "'reply_draft'" in flat and "grounding.judge.route" in flat
