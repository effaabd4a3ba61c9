"""`seamline emulate`: a fault file and a script file become a running emulator."""

from __future__ import annotations

import json

import openai
import pytest
import typer
from typer.testing import CliRunner

from seamline.cli._emulate import build_emulator, emulate_cmd
from seamline.errors import ConfigError

SCRIPT = '''
def answer(request):
    return {"label": "refund", "model": request.model, "saw": request.user}
'''


@pytest.fixture
def files(tmp_path):
    (tmp_path / "drill.py").write_text(SCRIPT)
    (tmp_path / "faults.yaml").write_text(
        "rules:\n  - {kind: rate_limit, retry_after: 3, first: 1}\n")
    return tmp_path


def test_the_options_build_an_emulator_with_the_script_and_the_plan(files):
    emu = build_emulator(files / "faults.yaml", f"{files / 'drill.py'}:answer", latency_ms=5,
                         port=0)
    assert emu.faults.latency.seconds == 0.005
    with emu.serve(), openai.OpenAI(base_url=emu.base_url + "/v1", api_key="k", max_retries=0) as o:
        with pytest.raises(openai.RateLimitError) as exc:
            o.chat.completions.create(model="g", messages=[{"role": "user", "content": "hi"}])
        assert exc.value.response.headers["retry-after"] == "3"
        done = o.chat.completions.create(model="g", messages=[{"role": "user", "content": "hi"}])
    assert json.loads(done.choices[0].message.content) == {
        "label": "refund", "model": "g", "saw": "hi"}


def test_the_default_backend_echoes_a_small_json_object():
    with build_emulator(port=0).serve() as emu, \
            openai.OpenAI(base_url=emu.base_url + "/v1", api_key="k", max_retries=0) as o:
        done = o.chat.completions.create(model="g", messages=[{"role": "user", "content": "hi"}])
    assert json.loads(done.choices[0].message.content) == {"model": "g", "echo": "hi"}


@pytest.mark.parametrize("spec", ["nofunction", "missing.py:answer", "DRILL:nope"])
def test_a_bad_script_is_a_config_error(files, spec):
    with pytest.raises(ConfigError):
        build_emulator(script=spec.replace("DRILL", str(files / "drill.py")))


def test_the_command_refuses_a_missing_fault_file_or_script_with_a_sentence(files):
    app = typer.Typer()
    app.command()(emulate_cmd)
    missing = CliRunner().invoke(app, ["--faults", str(files / "nope.yaml")])
    assert missing.exit_code == 2 and "does not exist" in " ".join(missing.output.split())
    bad = CliRunner().invoke(app, ["--script", "nofunction"])
    assert bad.exit_code == 2 and "file.py:function" in " ".join(bad.output.split())


def test_the_emulator_can_answer_with_an_integrations_local_model(monkeypatch, tmp_path):
    """A staging drill with real-looking answers: the SDK gets the demo model's triage."""
    import json as _json
    from pathlib import Path

    import openai

    from seamline.cli._emulate import build_emulator

    example = Path(__file__).resolve().parents[2] / "examples" / "support_triage"
    emu = build_emulator(integration=str(example / "integration.yaml"), port=0)
    text = ("Subject: refund\n\nI was charged twice for my subscription this month. "
            "Please refund the duplicate payment.")
    with emu.serve():
        client = openai.OpenAI(base_url=emu.base_url + "/v1", api_key="k", max_retries=0)
        reply = client.chat.completions.create(model="local-linear",
                                               messages=[{"role": "user", "content": text}])
    answer = _json.loads(reply.choices[0].message.content)
    assert answer["intent"] in {"refund", "billing"} and 0 <= answer["confidence"] <= 1
    assert answer["evidence"] and all(quote in text for quote in answer["evidence"])
