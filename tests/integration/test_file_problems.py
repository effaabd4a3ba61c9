"""An integration file read whole: every problem named at once (a typo in one key never hides
another), and every relative path in it resolved beside the file, whatever the working
directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from seamline.cli import app
from seamline.errors import ConfigError
from seamline.integration import load_integration, read_integration

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory) -> Path:
    """A fresh `seamline init`: a file that passes check, to put typos into."""
    folder = tmp_path_factory.mktemp("files") / "leads"
    made = invoke("init", folder)
    assert made.exit_code == 0, made.output
    return folder


def with_typos(folder: Path, name: str = "typos.yaml") -> Path:
    """Three distinct inline-schema typos (an unknown key in an input field, a misspelt
    ``enum`` in an output field, an unknown type), a top-level typo, a value out of range,
    and a problem only the check finds (a local model that does not exist)."""
    text = (folder / "integration.yaml").read_text()
    for before, after in (
            ("message_id: {type: str, min_length: 1}", "message_id: {type: str, min_lenght: 1}"),
            ("priority: {enum: [low, normal, high]}", "priority: {enm: [low, normal, high]}"),
            ("confidence: {type: float, ge: 0, le: 1}", "confidence: {type: flaot, ge: 0, le: 1}"),
            ("\nidempotency_key: message_id", "\nidempotency_kye: message_id"),
            ("below_confidence: 0.3", "below_confidence: 3"),
            ("  model: local-linear", "  model: local-linaer")):
        assert before in text, before  # the scaffold still reads as this test expects
        text = text.replace(before, after)
    path = folder / name
    path.write_text(text)
    return path


def test_reading_a_file_names_every_typo_and_still_builds_what_it_can(scaffold):
    reading = read_integration(with_typos(scaffold))
    said = " | ".join(reading.problems)
    assert "field 'message_id' of Message has the unknown key 'min_lenght'" in said
    assert "did you mean min_length?" in said
    assert "field 'priority' of Triage has the unknown key 'enm' (did you mean enum?)" in said
    assert "field 'confidence' of Triage has type 'flaot'" in said
    assert "idempotency_kye: not a key of the integration file; did you mean idempotency_key?" \
        in said
    assert "actions.0.approval.below_confidence" in said
    assert len(reading.problems) == 5, reading.problems
    # What is wrong is left out, the rest stands: the fields exist, so the check can look.
    assert reading.integration is not None
    assert set(reading.integration.output_schema.model_fields) == {
        "category", "priority", "summary", "confidence"}


def test_load_integration_refuses_the_file_with_all_its_problems_in_one_error(scaffold):
    with pytest.raises(ConfigError) as refused:
        load_integration(with_typos(scaffold))
    message = str(refused.value)
    for typo in ("'min_lenght'", "'enm'", "'flaot'", "idempotency_kye", "below_confidence"):
        assert typo in message


def test_check_reports_the_file_s_problems_and_the_check_s_at_once(scaffold):
    result = invoke("check", with_typos(scaffold))
    said = flat(result.output)
    assert result.exit_code == 2  # the file itself is inconsistent
    assert "Traceback" not in said
    for typo in ("'min_lenght'", "'enm'", "'flaot'", "idempotency_kye", "below_confidence"):
        assert typo in said, typo
    # ... and what only the check finds, in the same run.
    assert "The local model 'local-linaer' is unknown" in said
    assert "list[str]" in said  # the types are printed as written, not eaten as markup
    assert "6 problem(s) to fix" in said  # five in the file, one the check found


def test_a_file_too_broken_to_check_names_all_it_can(scaffold):
    text = (scaffold / "integration.yaml").read_text()
    start = text.index("\ninput_schema:\n") + 1
    end = text.index("\noutput_schema:\n") + 1
    path = scaffold / "noschema.yaml"  # no input schema, and a typo elsewhere
    path.write_text(text[:start] + text[end:].replace("tenant_key:", "tenant_kee:"))
    result = invoke("check", path)
    said = flat(result.output)
    assert result.exit_code == 2
    assert "has no input_schema" in said and "tenant_kee" in said
    assert "cannot be read: 2 problem(s)" in said


def test_a_clean_file_still_passes_check(scaffold):
    result = invoke("check", scaffold / "integration.yaml")
    assert result.exit_code == 0, result.output


# -- relative paths ---------------------------------------------------------------------

FALLBACK_MODEL = """\
model:
  provider: openai-compatible         # nothing listens on port 9: every call fails at once
  model: my-vllm-model
  base_url: http://127.0.0.1:9/v1
  api_key_env: SEAMLINE_TEST_NO_KEY
  input_usd_per_mtok: 0
  output_usd_per_mtok: 0
  timeout_s: 2
  retry: {max_retries: 0}
  fallbacks:
    - provider: openai-compatible
      model: my-other-model
      base_url: http://127.0.0.1:9/v1
      api_key_env: SEAMLINE_TEST_NO_KEY
      input_usd_per_mtok: 0
      output_usd_per_mtok: 0
      retry: {max_retries: 0}
      fallbacks:
        - {provider: local, model: local-words, examples: data/examples.jsonl}
    - {provider: local, model: local-linear, examples: data/examples.jsonl}
"""
JUDGE = """\
grounding:
  judge:
    policy: flag
    route: {provider: local, model: local-linear, examples: data/judge.jsonl}
"""


def with_fallbacks(folder: Path, judge: bool = False) -> Path:
    text = (folder / "integration.yaml").read_text()
    start = text.index("\nmodel:\n") + 1
    end = text.index("\nactions:\n") + 1
    path = folder / ("judged.yaml" if judge else "fallbacks.yaml")
    path.write_text(text[:start] + FALLBACK_MODEL + (JUDGE if judge else "") + text[end:])
    return path


def test_every_model_route_s_examples_resolve_beside_the_file(scaffold, tmp_path, monkeypatch):
    path = with_fallbacks(scaffold, judge=True)
    monkeypatch.chdir(tmp_path)  # not the integration's folder
    spec = load_integration(path)
    beside = (scaffold / "data" / "examples.jsonl").resolve()
    assert spec.model.fallbacks[0].fallbacks[0].examples == beside
    assert spec.model.fallbacks[1].examples == beside
    assert spec.grounding.judge is not None and spec.grounding.judge.route is not None
    assert spec.grounding.judge.route.examples == (scaffold / "data" / "judge.jsonl").resolve()


def test_a_run_from_another_folder_falls_back_to_the_local_model_beside_the_file(
        scaffold, tmp_path, monkeypatch):
    path = with_fallbacks(scaffold)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("SEAMLINE_TEST_NO_KEY", "unused")
    db = elsewhere / "seamline.db"
    ran = invoke("run", path, "--input", scaffold / "data" / "events.jsonl", "--limit", "4",
                 "--db", db)
    assert ran.exit_code == 0, ran.output
    listed = json.loads(invoke("events", "list", "--json", "--db", db).output)
    assert len(listed) == 4
    answered = [e for e in listed if e["state"] == "succeeded"]
    assert answered, listed
    # The fallbacks' on-device models learnt from data/examples.jsonl beside the file.
    assert {e["model"] for e in answered} <= {"local-words", "local-linear"}


def test_check_names_a_model_without_a_price_before_run_refuses_to_start(
        scaffold, monkeypatch):
    """`check` said "ready" while `run` refused: an openai-compatible model that is not in
    prices.toml needs its prices (0 for a free self-hosted one), fallbacks' included."""
    monkeypatch.setenv("SEAMLINE_TEST_NO_KEY", "unused")
    path = with_fallbacks(scaffold)
    assert invoke("check", path).exit_code == 0
    unpriced = scaffold / "unpriced.yaml"
    text = path.read_text()
    first = text.index("      input_usd_per_mtok: 0\n")  # the fallback's, not the primary's
    unpriced.write_text(text[:first] + text[first:].replace(
        "      input_usd_per_mtok: 0\n      output_usd_per_mtok: 0\n", "", 1))
    result = invoke("check", unpriced)
    said = flat(result.output)
    assert result.exit_code == 1
    assert "There is no price for model 'my-other-model'" in said
    assert "my-vllm-model" not in said  # the primary declares its prices
    ran = invoke("run", unpriced, "--input", scaffold / "data" / "events.jsonl",
                 "--db", scaffold / "unpriced.db")
    assert ran.exit_code == 2 and "cannot go live" in flat(ran.output)
