"""The file form of an integration: YAML or TOML that says exactly what the Python API says."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLE
from pydantic import ValidationError

from seamline.errors import ConfigError
from seamline.integration import Integration, load_integration
from seamline.preflight import check

YAML_FORM = EXAMPLE / "integration.yaml"
PY_FORM = EXAMPLE / "integration.py"


@pytest.fixture(scope="module")
def both_forms() -> tuple[Integration, Integration]:
    return load_integration(YAML_FORM), load_integration(PY_FORM.resolve())


def _route(route) -> dict:
    data = route.model_dump()
    data["examples"] = Path(data["examples"]).resolve() if data["examples"] else None
    return data


def _actions(actions) -> list[dict]:
    return [{"name": a.name, "handler": a.handler, "when": a.when, "params": a.params,
             "reveal_pii": a.reveal_pii, "approval": a.approval.model_dump()} for a in actions]


# --------------------------------------------------------- YAML == Python


def test_both_forms_load_as_integrations(both_forms):
    y, p = both_forms
    assert isinstance(y, Integration) and isinstance(p, Integration)
    assert y.name == p.name == "support_triage"
    assert y.source_path == YAML_FORM.resolve()
    assert p.source_path == PY_FORM.resolve()


@pytest.mark.parametrize("part", [
    "checklist", "pii", "pii_kinds", "idempotency_key", "tenant_key", "text_fields", "rollout",
])
def test_both_forms_declare_the_same(both_forms, part):
    y, p = both_forms
    assert getattr(y, part) == getattr(p, part)


@pytest.mark.parametrize("schema", ["input_schema", "output_schema"])
def test_both_forms_have_the_same_schemas(both_forms, schema):
    y, p = both_forms
    assert getattr(y, schema).model_json_schema() == getattr(p, schema).model_json_schema()


@pytest.mark.parametrize("field", ["system", "user", "params"])
def test_both_forms_have_the_same_prompt(both_forms, field):
    y, p = both_forms
    assert getattr(y.prompt, field) == getattr(p.prompt, field)
    assert getattr(y.prompt, field)  # and it is not empty in either


def test_both_forms_have_the_same_model_route(both_forms):
    y, p = both_forms
    assert _route(y.model) == _route(p.model)
    assert Path(y.model.examples).is_file()


def test_both_forms_have_the_same_actions(both_forms):
    y, p = both_forms
    assert _actions(y.actions) == _actions(p.actions)
    assert [a.name for a in y.actions] == ["tag_ticket", "escalate"]


def test_both_forms_are_equal_but_for_where_they_came_from(both_forms):
    y, p = both_forms
    assert y.model_dump(exclude={"source_path"}) == p.model_dump(exclude={"source_path"})


@pytest.mark.parametrize("form", [YAML_FORM, PY_FORM])
def test_the_complete_demo_has_no_errors(form):
    problems = check(load_integration(form.resolve()))
    assert [p for p in problems if p.level == "error"] == []


def test_the_python_form_can_be_named_by_file_and_attribute():
    obj = load_integration(f"{PY_FORM.resolve()}:integration")
    assert isinstance(obj, Integration) and obj.name == "support_triage"


# --------------------------------------------------------------- TOML inline


TOML = '''
name = "tickets"
idempotency_key = "ticket_id"
tenant_key = "tenant"

[checklist]
workflow = "Label tickets."
owner = "ops"
baseline_metric = "manual labels"
monthly_cost_ceiling_usd = 10

[input_schema]
name = "Ticket"
[input_schema.fields]
ticket_id = { type = "str", min_length = 1 }
tenant = "str"
body = { type = "str", min_length = 1, max_length = 50 }
language = { type = "str", required = false }
priority = { type = "int", ge = 1, le = 5, default = 3 }

[output_schema.fields]
label = { enum = ["refund", "other"] }
confidence = { type = "float", ge = 0, le = 1 }
tags = { type = "list[str]", default = [] }

[pii]
ticket_id = "allow"
tenant = "allow"
body = "redact"
language = "allow"

[prompt]
user_file = "user.j2"
[prompt.params]
labels = ["refund", "other"]

[model]
provider = "scripted"
[model.budgets]
daily_usd = 5

[rollout]
default = 25.0
sticky_key = "tenant"
baseline = "rules.py:baseline"
'''


@pytest.fixture
def toml_file(tmp_path) -> Path:
    (tmp_path / "user.j2").write_text("{{ body }} ({{ labels | join('/') }})", encoding="utf-8")
    (tmp_path / "rules.py").write_text(
        "def baseline(data):\n    return {'label': 'other', 'confidence': 0.5}\n", encoding="utf-8")
    path = tmp_path / "tickets.toml"
    path.write_text(TOML, encoding="utf-8")
    return path


def test_a_toml_file_with_inline_schemas_loads(toml_file):
    integ = load_integration(toml_file)
    assert integ.name == "tickets"
    assert integ.input_schema.__name__ == "Ticket"
    assert integ.prompt.user == "{{ body }} ({{ labels | join('/') }})"
    assert integ.rollout.default == 25.0
    assert integ.model.budgets.daily_usd == 5
    assert [p for p in check(integ) if p.level == "error"] == []


def test_an_inline_input_schema_validates_required_optional_and_constraints(toml_file):
    Ticket = load_integration(toml_file).input_schema
    t = Ticket.model_validate({"ticket_id": "T-1", "tenant": "acme", "body": "refund please"})
    assert (t.language, t.priority) == (None, 3)
    assert Ticket.model_validate({"ticket_id": "T-1", "tenant": "a", "body": "b",
                                  "language": "de", "priority": 5}).language == "de"
    for bad in ({"tenant": "a", "body": "b"},                                  # required missing
                {"ticket_id": "", "tenant": "a", "body": "b"},                 # min_length
                {"ticket_id": "T", "tenant": "a", "body": "x" * 51},           # max_length
                {"ticket_id": "T", "tenant": "a", "body": "b", "priority": 9}):  # le
        with pytest.raises(ValidationError):
            Ticket.model_validate(bad)


def test_an_inline_enum_field_accepts_only_its_values(toml_file):
    Out = load_integration(toml_file).output_schema
    assert Out.model_validate({"label": "refund", "confidence": 0.9}).tags == []
    assert Out.model_json_schema()["properties"]["label"]["enum"] == ["refund", "other"]
    with pytest.raises(ValidationError):
        Out.model_validate({"label": "billing", "confidence": 0.9})
    with pytest.raises(ValidationError):
        Out.model_validate({"label": "refund", "confidence": 1.5})


def test_an_inline_field_with_a_default_is_not_nullable(toml_file):
    Ticket = load_integration(toml_file).input_schema
    with pytest.raises(ValidationError):
        Ticket.model_validate({"ticket_id": "T", "tenant": "a", "body": "b", "priority": None})


def test_an_unknown_inline_type_raises_config_error_naming_the_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ninput_schema:\n  fields:\n    when: datetime\n"
                    "output_schema:\n  fields:\n    x: str\nprompt:\n  user: hi\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="'when'.*'datetime'"):
        load_integration(path)


def test_an_inline_schema_without_fields_raises_config_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ninput_schema: {fields: {}}\noutput_schema: {fields: {x: str}}\n"
                    "prompt: {user: hi}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no fields"):
        load_integration(path)


def test_file_relative_references_resolve_beside_the_file_not_the_working_directory(
        toml_file, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    integ = load_integration(toml_file)
    assert [p for p in check(integ) if p.level == "error"] == []


# ---------------------------------------------------------------- bad files


def test_invalid_yaml_raises_config_error_with_a_sentence(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nprompt: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.yaml is not valid YAML"):
        load_integration(path)


def test_invalid_toml_raises_config_error_with_a_sentence(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("name = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.toml is not valid TOML"):
        load_integration(path)


def test_a_missing_file_raises_config_error_naming_it(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere\.yaml does not exist"):
        load_integration(tmp_path / "nowhere.yaml")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", ""])
def test_a_top_level_that_is_not_a_mapping_raises_config_error(tmp_path, text):
    path = tmp_path / "list.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_integration(path)


def test_a_missing_schema_raises_config_error_naming_it(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("name: x\noutput_schema: {fields: {x: str}}\nprompt: {user: hi}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="input_schema"):
        load_integration(path)


def test_a_missing_prompt_file_raises_config_error_naming_it(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("name: x\ninput_schema: {fields: {a: str}}\noutput_schema: {fields: {b: str}}\n"
                    "prompt: {user_file: gone.j2}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"user_file .*gone\.j2 does not exist"):
        load_integration(path)


def test_an_unknown_key_raises_config_error_naming_where(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("name: x\ninput_schema: {fields: {a: str}}\noutput_schema: {fields: {b: str}}\n"
                    "prompt: {user: hi}\nmodel: {provider: local, temprature: 0.2}\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r"model\.temprature"):
        load_integration(path)


def test_a_python_object_that_is_not_an_integration_is_refused(tmp_path):
    mod = tmp_path / "thing.py"
    mod.write_text("integration = 42\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a seamline Integration"):
        load_integration(mod)


def test_an_unquoted_on_in_yaml_means_on_not_one_percent(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("name: x\ninput_schema: {fields: {a: str}}\noutput_schema: {fields: {b: str}}\n"
                    "prompt: {user: hi}\nrollout:\n  default: on\n", encoding="utf-8")
    try:
        integ = load_integration(path)
    except ConfigError:
        return  # refusing the ambiguity is fine too
    assert integ.rollout.default == "on"
