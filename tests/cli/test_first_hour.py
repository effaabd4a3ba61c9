"""The first hour: `seamline init` writes an integration that passes check and runs at once
(on the local model and on the emulator), `seamline schema` and docs/reference.md come from
the spec and match it, and `seamline events` shows what became of every event."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from seamline.cli import app
from seamline.cli._reference import (
    INLINE_CONSTRAINTS,
    INLINE_FIELD_KEYS,
    INLINE_TYPES,
    json_schema,
    markdown,
    schema_text,
    sections,
    undocumented,
)
from seamline.cli._reference_docs import DOCS
from seamline.integration import load_integration

runner = CliRunner()
REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def invoke(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input, env={"COLUMNS": "80"})


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory):
    """`seamline init lead_intake` and `seamline run` of its sample events, once."""
    root = tmp_path_factory.mktemp("first_hour")
    folder = root / "lead_intake"
    made = invoke("init", folder)
    assert made.exit_code == 0, made.output
    db = root / "seamline.db"
    ran = invoke("run", folder / "integration.yaml", "--input", folder / "data" / "events.jsonl",
                 "--db", db)
    assert ran.exit_code == 0, ran.output
    return folder, db, ran.output


# -- seamline init -----------------------------------------------------------------------

def test_init_writes_an_integration_that_passes_check_and_runs(scaffolded):
    folder, _db, output = scaffolded
    for name in ("integration.yaml", "integration.schema.json", "prompt_system.j2",
                 "prompt_user.j2", "baseline.py", "actions.py", "README.md",
                 "data/examples.jsonl", "data/events.jsonl", "data/golden.jsonl"):
        assert (folder / name).is_file(), name
    checked = invoke("check", folder / "integration.yaml")
    assert checked.exit_code == 0 and "ready to go live" in checked.output, checked.output
    assert "warning" not in checked.output  # not even a warning on a fresh scaffold
    assert "succeeded" in output and "dead_lettered" in output and "duplicate" in output
    # The action stub ran, once per key.
    sent = [json.loads(line) for line in (folder / "sent.jsonl").read_text().splitlines()]
    assert sent and len({s["idempotency_key"] for s in sent}) == len(sent)


def test_the_scaffold_names_its_schema_and_the_schema_is_the_generated_one(scaffolded):
    folder, _, _ = scaffolded
    first = (folder / "integration.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=./integration.schema.json"
    assert (folder / "integration.schema.json").read_text() == schema_text()


def test_init_refuses_an_existing_folder_and_writes_nothing(tmp_path):
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    refused = invoke("init", folder)
    assert refused.exit_code == 1
    assert "already exists; nothing was written" in flat(refused.output)
    assert [p.name for p in folder.iterdir()] == ["mine.txt"]


@pytest.mark.parametrize("args, sentence", [
    (["init", "Bad Name"], "must start with a lower-case letter"),
    (["init", "fine", "--provider", "bedrock"], "provider 'bedrock' is unknown"),
])
def test_init_usage_errors_are_sentences_with_exit_2(tmp_path, monkeypatch, args, sentence):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2 and sentence in flat(result.output)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("provider", ["anthropic", "openai", "openai-compatible"])
def test_init_for_each_remote_provider_passes_check(tmp_path, monkeypatch, provider):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000000000")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0000000000")
    folder = tmp_path / "leads"
    made = invoke("init", folder, "--provider", provider)
    assert made.exit_code == 0, made.output
    spec = load_integration(folder / "integration.yaml")
    assert spec.model.provider == provider
    checked = invoke("check", folder / "integration.yaml")
    assert checked.exit_code == 0, checked.output


def test_init_anthropic_runs_on_the_emulator(tmp_path, monkeypatch):
    from seamline.emulator import Emulator

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000000000")
    folder = tmp_path / "leads"
    assert invoke("init", folder, "--provider", "anthropic").exit_code == 0
    answer = {"category": "support", "priority": "normal", "summary": "A question.",
              "confidence": 0.9}
    with Emulator(lambda req: answer).serve() as emu:
        yaml_path = folder / "integration.yaml"
        yaml_path.write_text(yaml_path.read_text().replace(
            "  # base_url: http://127.0.0.1:8787", f"  base_url: {emu.base_url}"))
        ran = invoke("run", yaml_path, "--input", folder / "data" / "events.jsonl",
                     "--db", tmp_path / "s.db")
        calls = [r for r in emu.requests if r.path.endswith("/messages")]
    assert ran.exit_code == 0, ran.output
    assert len(calls) == 20  # every valid, distinct event asked the emulated model
    listed = json.loads(invoke("events", "list", "--state", "succeeded", "--json",
                               "--db", tmp_path / "s.db").output)
    assert len(listed) == 20 and all(e["model"] == "claude-haiku-4-5" for e in listed)


# -- seamline schema and docs/reference.md -----------------------------------------------

def test_every_key_of_the_spec_is_documented_and_no_entry_is_stale():
    assert undocumented() == []
    fields = {f"{model.__name__}.{name}" for _, model in sections()
              for name in model.model_fields}
    assert set(DOCS) - fields == set(), "descriptions of keys the spec no longer has"


def test_docs_reference_md_is_generated_from_the_spec():
    written = (REPO / "docs" / "reference.md").read_text(encoding="utf-8")
    assert written == markdown(), ("docs/reference.md is out of date: run "
                                   "`seamline schema --markdown -o docs/reference.md`")


def test_the_reference_covers_what_a_new_user_asked_for():
    text = markdown()
    for needle in ("{fields: …}", "{enum: …}", "approval", "below_confidence", ("The local model's "
                   "examples"), "base_url", "openai-compatible", "SEAMLINE_PRICES",
                   "`model.structured`", "--script", "Return a **dict**"):
        assert needle in text, needle
    for _, model in sections():  # every key with a type, a default and an example
        for name, info in model.model_fields.items():
            if name == "source_path":
                continue
            key = info.alias or name  # written as the file spells it (`for`, not `for_`)
            row = next((line for line in text.splitlines() if line.startswith(f"| `{key}` |")),
                       None)
            assert row is not None, f"{model.__name__}.{name}"
            assert row.count(" | ") >= 4 and "(undocumented)" not in row


def test_seamline_schema_prints_the_schema_built_from_the_spec():
    printed = invoke("schema")
    assert printed.exit_code == 0
    schema = json.loads(printed.output)
    assert schema == json_schema()
    top = schema["properties"]
    from seamline.integration import Integration

    assert set(top) == set(Integration.model_fields) - {"source_path"}
    # Typos are flagged by editors: no unknown key anywhere.
    assert schema["additionalProperties"] is False
    for name, definition in schema["$defs"].items():
        if definition.get("type") == "object" and "properties" in definition:
            assert definition.get("additionalProperties") is False, name
    # The file form: schemas by reference or inline, prompts from files, durations as text.
    assert {"$ref": "#/$defs/InlineSchema"} in top["input_schema"]["anyOf"]
    assert "user_file" in schema["$defs"]["PromptSpec"]["properties"]
    lateness = schema["$defs"]["StreamSpec"]["properties"]["allowed_lateness"]
    assert any(option.get("type") == "string" for option in lateness["anyOf"])


def test_the_inline_schema_syntax_in_the_reference_is_the_loader_s():
    from seamline.integration import _files

    assert tuple(_files._TYPES) == INLINE_TYPES
    assert tuple(_files._CONSTRAINTS) == INLINE_CONSTRAINTS
    assert set(_files._FIELD_KEYS) == set(INLINE_FIELD_KEYS)


def test_the_shipped_integration_files_use_only_keys_the_schema_knows():
    import yaml

    schema = json_schema()

    def check(data, node, where):
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
        options = node.get("anyOf")
        if options and isinstance(data, dict):
            objects = [o for o in options if "$ref" in o or o.get("type") == "object"]
            if objects:
                check(data, objects[0], where)
            return
        if isinstance(data, dict) and "properties" in node:
            unknown = set(data) - set(node["properties"])
            assert not unknown, f"{where}: {unknown}"
            for key, value in data.items():
                check(value, node["properties"][key], f"{where}.{key}")
        elif isinstance(data, list) and "items" in node:
            for item in data:
                check(item, node["items"], f"{where}[]")

    paths = [REPO / "examples" / "support_triage" / "integration.yaml",
             REPO / "examples" / "support_answer" / "integration.yaml",
             REPO / "src" / "seamline" / "cli" / "_scaffold" / "integration.yaml.tmpl"]
    for path in paths:
        text = path.read_text().replace("__MODEL__", "").replace("__NAME__", "x")
        check(yaml.safe_load(text), schema, path.name)


# -- seamline events ---------------------------------------------------------------------

def test_events_list_filters_and_prints_json(scaffolded):
    _, db, _ = scaffolded
    everything = json.loads(invoke("events", "list", "--json", "--db", db).output)
    assert len(everything) == 22
    assert {e["state"] for e in everything} == {"succeeded", "dead_lettered", "duplicate"}
    dead = json.loads(invoke("events", "list", "--state", "dead_lettered", "--json",
                             "--db", db).output)
    assert len(dead) == 1 and "input schema" in dead[0]["reason"]
    billing = json.loads(invoke("events", "list", "--search", "invoice", "--json",
                                "--db", db).output)
    assert 0 < len(billing) < len(everything)
    recent = json.loads(invoke("events", "list", "--since", "1h", "--json", "--db", db).output)
    assert len(recent) == 22
    future = json.loads(invoke("events", "list", "--since", "2999-01-01", "--json",
                               "--db", db).output)
    assert future == []
    other = json.loads(invoke("events", "list", "--integration", "nope", "--json",
                              "--db", db).output)
    assert other == []
    ids = invoke("events", "list", "--limit", "3", "--ids", "--db", db).output.split()
    assert len(ids) == 3 and all(i.startswith("evt_") for i in ids)


def test_events_tables_read_at_80_columns(scaffolded):
    _, db, _ = scaffolded
    listed = invoke("events", "list", "--db", db)
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    for event_id in json.loads(invoke("events", "list", "--json", "--db", db).output):
        assert any(event_id["id"] in line for line in lines), "an id was wrapped"
    # Reasons wrap at word breaks, never inside a word: each word is whole on some line.
    dead = json.loads(invoke("events", "list", "--state", "dead_lettered", "--json",
                             "--db", db).output)[0]
    tokens = set(listed.output.replace("│", " ").split())
    for word in dead["reason"].split():
        assert word in tokens, f"{word!r} was cut"


def test_events_show_tells_the_input_output_actions_cost_and_latency(scaffolded):
    _, db, _ = scaffolded
    listed = json.loads(invoke("events", "list", "--state", "succeeded", "--json",
                               "--db", db).output)
    event_id = next(e["id"] for e in listed if e["output"]["category"] != "spam")
    shown = json.loads(invoke("events", "show", event_id, "--json", "--db", db).output)
    assert shown["input"]["from_email"].startswith("<EMAIL")  # as redacted
    assert set(shown["output"]) >= {"category", "priority", "summary", "confidence"}
    assert shown["actions"] and shown["actions"][0]["action"] == "route_message"
    assert shown["cost_usd"] == 0.0 and shown["latency_ms"]
    table = invoke("events", "show", event_id[:20], "--db", db)  # a unique prefix will do
    text = flat(table.output)
    assert table.exit_code == 0
    for needle in ("input (redacted)", "output", "actions (1)", "route_message", "cost",
                   "latency", event_id):
        assert needle in text, needle


@pytest.mark.parametrize("args, code, sentence", [
    (["events", "show", "evt_nope"], 1, "There is no event evt_nope"),
    (["events", "show", "evt_"], 2, "More than one event starts with evt_"),
    (["events", "list", "--state", "finished"], 2, "The state 'finished' is unknown"),
    (["events", "list", "--since", "last tuesday"], 2, "--since takes a date"),
])
def test_events_bad_input_is_a_sentence(scaffolded, args, code, sentence):
    _, db, _ = scaffolded
    result = invoke(*args, "--db", db)
    assert result.exit_code == code and sentence in flat(result.output), result.output


def test_events_actions_lists_the_outbox_with_ids(scaffolded):
    _, db, _ = scaffolded
    actions = json.loads(invoke("events", "actions", "--json", "--db", db).output)
    assert actions and {a["action"] for a in actions} == {"route_message"}
    ids = invoke("events", "actions", "--status", "done", "--ids", "--db", db).output.split()
    assert ids and all(i.isdigit() for i in ids)
    table = invoke("events", "actions", "--db", db)
    assert table.exit_code == 0 and max(len(line) for line in table.output.splitlines()) <= 80


def test_the_states_events_list_accepts_are_the_runtime_s():
    from seamline.cli._events import STATES
    from seamline.runtime import ACTING, PROCESSING, RETRYING, TERMINAL

    assert set(STATES) == {*TERMINAL, PROCESSING, RETRYING, ACTING}


def test_serve_prints_the_console_url_at_start(scaffolded, monkeypatch):
    import uvicorn

    folder, db, _ = scaffolded
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    served = invoke("serve", folder / "integration.yaml", "--allow-anonymous", "--workers", "0",
                    "--port", "8123", "--db", db)
    assert served.exit_code == 0, served.output
    assert "console is at http://127.0.0.1:8123/console" in flat(served.output)


def test_new_commands_are_listed_lazily():
    from seamline.cli import COMMANDS

    for name in ("init", "schema", "events"):
        assert name in COMMANDS and COMMANDS[name].module.startswith("seamline.cli._")


def test_run_out_writes_one_json_line_per_event(scaffolded, tmp_path):
    folder, _, _ = scaffolded
    out = tmp_path / "results.jsonl"
    ran = invoke("run", folder / "integration.yaml", "--input", folder / "data" / "events.jsonl",
                 "--db", tmp_path / "r.db", "--out", out)
    assert ran.exit_code == 0, ran.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 22
    assert {r["state"] for r in rows} == {"succeeded", "dead_lettered", "duplicate"}
    done = next(r for r in rows if r["state"] == "succeeded")
    assert done["output"]["category"] and done["id"].startswith("evt_") and done["latency_ms"]
    bad = invoke("run", folder / "integration.yaml", "--input", folder / "data" / "events.jsonl",
                 "--db", tmp_path / "r2.db", "--out", tmp_path / "no" / "r.jsonl")
    assert bad.exit_code == 2 and "nothing was run" in flat(bad.output)
    assert not (tmp_path / "r2.db").exists()


def test_queue_status_says_how_many_events_are_dead_lettered_in_all(scaffolded):
    _, db, _ = scaffolded
    status = invoke("queue", "status", "--db", db)
    assert status.exit_code == 0
    assert "1 event(s) are dead-lettered in all" in flat(status.output)
