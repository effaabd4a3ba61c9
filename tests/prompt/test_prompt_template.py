"""Prompt templates: deterministic bytes, a version that names the template, and a sandbox."""

from __future__ import annotations

import pytest

from seamline.errors import ConfigError, PromptError
from seamline.prompt import PromptTemplate, RenderedPrompt

SYSTEM = "You classify tickets for {{ company }}. Labels: {{ labels | join(', ') }}."
USER = "Ticket {{ ticket_id }}:\n{{ body }}\n{% for t in tags %}- {{ t }}\n{% endfor %}"
PARAMS = {"company": "Acme", "labels": ["refund", "other"]}
DATA = {"ticket_id": "T-1", "body": "Please refund me.", "tags": ["vip", "eu"]}


def template(**overrides) -> PromptTemplate:
    kw = dict(user=USER, system=SYSTEM, params=PARAMS)
    kw.update(overrides)
    return PromptTemplate(**kw)


# ------------------------------------------------------------- determinism


def test_the_same_data_renders_the_same_bytes_and_version():
    a = template().render(**DATA)
    b = template().render(**dict(DATA))
    assert isinstance(a, RenderedPrompt)
    assert (a.system, a.user, a.version, a.sha256) == (b.system, b.user, b.version, b.sha256)
    assert a.system == "You classify tickets for Acme. Labels: refund, other."
    assert a.user == "Ticket T-1:\nPlease refund me.\n- vip\n- eu\n"


def test_the_version_changes_when_the_user_template_changes():
    assert template().version != template(user=USER + " ").version


def test_the_version_changes_when_the_system_template_changes():
    assert template().version != template(system=SYSTEM + "!").version


def test_the_version_changes_when_the_params_change():
    assert template().version != template(params={**PARAMS, "company": "Acme Ltd"}).version
    assert template().version != template(params={**PARAMS, "labels": ["other", "refund"]}).version


def test_the_version_does_not_change_with_the_data():
    t = template()
    other = {"ticket_id": "T-2", "body": "Something else entirely.", "tags": []}
    first, second = t.render(**DATA), t.render(**other)
    assert first.user != second.user
    assert first.version == second.version == t.version


def test_the_version_does_not_depend_on_param_order():
    a = template(params={"company": "Acme", "labels": ["x"]})
    b = template(params={"labels": ["x"], "company": "Acme"})
    assert a.version == b.version


def test_the_sha256_covers_both_system_and_user():
    base = template().render(**DATA)
    assert base.sha256 != template(system="other").render(**DATA).sha256
    assert base.sha256 != template().render(**{**DATA, "body": "x"}).sha256


def test_tojson_is_plain_sorted_json_not_html_escaped():
    rendered = PromptTemplate("{{ d | tojson }}").render(d={"b": "<a & b>", "a": "é"})
    assert rendered.user == '{"a": "é", "b": "<a & b>"}'


def test_event_data_overrides_a_param_of_the_same_name():
    t = PromptTemplate("{{ company }}", params={"company": "Acme"})
    assert t.render().user == "Acme"
    assert t.render(company="Other").user == "Other"


# ----------------------------------------------------------- strictness


def test_an_undefined_variable_raises_prompt_error_naming_it():
    with pytest.raises(PromptError, match="customer_name"):
        PromptTemplate("Dear {{ customer_name }},").render(body="hi")


def test_a_missing_attribute_of_a_value_raises_prompt_error():
    with pytest.raises(PromptError, match="address"):
        PromptTemplate("{{ customer.address }}").render(customer={"name": "x"})


def test_a_syntax_error_raises_config_error_with_the_line():
    with pytest.raises(ConfigError, match="line 3"):
        PromptTemplate("line one\nline two {{ ok }}\nline three {{ broken \n")


def test_a_syntax_error_in_the_system_template_is_reported_too():
    with pytest.raises(ConfigError, match="line 2"):
        PromptTemplate("fine", system="ok\n{% if %}")


def test_variables_lists_the_top_level_names_of_both_templates():
    assert template().variables() == {"company", "labels", "ticket_id", "body", "tags"}


def test_variables_excludes_names_the_template_sets_itself():
    t = PromptTemplate("{% set x = 1 %}{{ x }}{% for item in items %}{{ item.name }}{% endfor %}")
    assert t.variables() == {"items"}


# ----------------------------------------------------------------- sandbox


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ joiner.__init__.__globals__.__builtins__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ body.__class__ }}",
])
def test_the_sandbox_does_not_reach_python_internals(source):
    try:
        rendered = PromptTemplate(source).render(body="x")
    except PromptError:
        return
    text = rendered.user
    assert "module 'os'" not in text and "<class" not in text and "function" not in text


@pytest.mark.parametrize("source", [
    "{{ cycler.__init__.__globals__ }}",
    "{{ ''.__class__.__mro__ }}",
])
def test_a_sandbox_escape_attempt_raises_prompt_error(source):
    with pytest.raises(PromptError):
        PromptTemplate(source).render()


def test_the_sandbox_forbids_mutating_the_data():
    items = ["a"]
    with pytest.raises(PromptError, match="sandbox"):
        PromptTemplate("{{ items.append('b') }}").render(items=items)
    assert items == ["a"]


@pytest.mark.parametrize("payload", [
    "{{ 7*7 }}",
    "{% for i in range(3) %}x{% endfor %}",
    "{{ cycler.__init__.__globals__.os.system('id') }}",
    "{# comment #}",
])
def test_template_syntax_inside_the_data_is_rendered_literally(payload):
    rendered = PromptTemplate("Body: {{ body }}").render(body=payload)
    assert rendered.user == f"Body: {payload}"


def test_no_html_escaping_is_applied_to_the_data():
    assert PromptTemplate("{{ body }}").render(body="<b>&'\"").user == "<b>&'\""


# ---------------------------------------------------- errors stay seamline errors


@pytest.mark.parametrize("source, data", [
    ("{{ amount + 1 }}", {"amount": "12"}),
    ("{{ 100 / count }}", {"count": 0}),
    ("{{ tags | join(', ') }}", {"tags": 5}),
])
def test_a_template_that_fails_on_the_data_raises_prompt_error(source, data):
    with pytest.raises(PromptError):
        PromptTemplate(source).render(**data)


def test_a_range_the_sandbox_refuses_raises_prompt_error():
    with pytest.raises(PromptError):
        PromptTemplate("{% for i in range(n) %}.{% endfor %}").render(n=10**7)
