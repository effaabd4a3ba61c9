"""The command line: every command on the demo, and a sentence with an exit code on bad input."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import EXAMPLE
from sqlalchemy import select, text
from typer.testing import CliRunner

from seamline.cli import app
from seamline.store import open_store
from seamline.store.tables import events, outbox

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "cli.db")


@pytest.fixture
def example(tmp_path):
    """A copy of the demo, so tests can edit it freely."""
    dest = tmp_path / "support_triage"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def small_inbox(tmp_path, n=12):
    lines = [json.loads(l) for l in (EXAMPLE / "data" / "golden.jsonl").read_text().splitlines()[:n]]
    path = tmp_path / "inbox.jsonl"
    rows = [json.dumps(x["input"]) for x in lines]
    rows += ['{"message_id": "bad-1"}', "this is not json", ""]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_check_passes_on_the_demo_and_fails_with_sentences_on_a_blank_checklist(example):
    ok = invoke("check", example / "integration.yaml")
    assert ok.exit_code == 0 and "ready to go live" in ok.output
    yaml_text = (example / "integration.yaml").read_text()
    (example / "integration.yaml").write_text(yaml_text.replace(
        "owner: support-platform@acme.example", "owner: ''"))
    bad = invoke("check", example / "integration.yaml")
    assert bad.exit_code == 1 and "no owner" in bad.output


def test_run_refuses_to_go_live_while_the_checklist_has_a_blank(example, tmp_path, db):
    yaml_text = (example / "integration.yaml").read_text()
    (example / "integration.yaml").write_text(yaml_text.replace("monthly_cost_ceiling_usd: 200\n", ""))
    result = invoke("run", example / "integration.yaml", "--input", small_inbox(tmp_path), "--db", db)
    assert result.exit_code == 2
    assert "monthly cost ceiling" in result.output and "cannot go live" in result.output


def test_run_shows_states_dead_letter_reasons_latency_and_cost(example, tmp_path, db):
    result = invoke("run", example / "integration.yaml", "--input", small_inbox(tmp_path), "--db", db)
    assert result.exit_code == 0, result.output
    for heading in ("Terminal states", "Dead letters by reason", "Latency per layer", "Cost: total"):
        assert heading in result.output
    assert "not valid JSON" in result.output and "does not match the input schema" in result.output
    with open_store(db).read() as conn:
        assert conn.execute(select(events.c.id)).all().__len__() == 14


@pytest.mark.parametrize("args, sentence", [
    (["check", "nowhere.yaml"], "does not exist"),
    (["run", "EXAMPLE/integration.yaml", "--input", "missing.jsonl"], "does not exist"),
    (["audit", "show", "evt_nope"], "no audit record"),
    (["replay", "evt_nope"], "no event"),
    (["approvals", "approve", "999"], "no action with id 999"),
    (["flag", "set", "x.ai", "150", "--reason", "r"], "between 0 and 100"),
])
def test_bad_input_gets_a_sentence_and_an_exit_code_not_a_traceback(args, sentence, db):
    args = [a.replace("EXAMPLE", str(EXAMPLE)) for a in args]
    result = runner.invoke(app, [*args, "--db", db] if args[0] not in ("check",) else args)
    assert result.exit_code != 0
    # The CLI's main() turns SeamlineErrors into sentences; Typer's runner surfaces them raw.
    message = result.output + (str(result.exception) if result.exception else "")
    assert sentence in message
    assert "Traceback" not in result.output


def test_main_prints_a_sentence_for_a_library_error(capsys, monkeypatch, tmp_path):
    from seamline.cli import main

    bad = tmp_path / "broken.yaml"
    bad.write_text("name: [unclosed")
    monkeypatch.setattr("sys.argv", ["seamline", "check", str(bad)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "not valid YAML" in err and "Traceback" not in err


def test_approvals_list_approve_and_reject(example, tmp_path, db, monkeypatch):
    monkeypatch.setenv("SUPPORT_TRIAGE_HELPDESK_DB", str(tmp_path / "hd.db"))
    invoke("run", example / "integration.yaml", "--input", EXAMPLE / "data" / "inbox.jsonl", "--db", db)
    store = open_store(db)
    with store.read() as conn:
        waiting = conn.execute(select(outbox.c.id, outbox.c.action)
                               .where(outbox.c.status == "awaiting_approval")).all()
    assert len(waiting) >= 2
    listing = invoke("approvals", "list", "--db", db)
    assert listing.exit_code == 0 and "why it waits" in listing.output
    approve = invoke("approvals", "approve", waiting[0].id, "--reviewer", "ana", "--db", db)
    assert approve.exit_code == 0 and "approved" in approve.output
    no_comment = runner.invoke(app, ["approvals", "reject", str(waiting[1].id), "--db", db])
    assert no_comment.exit_code == 2 and "needs a --comment" in no_comment.output
    reject = invoke("approvals", "reject", waiting[1].id, "--comment", "not critical", "--db", db)
    assert reject.exit_code == 0
    with store.read() as conn:
        statuses = dict(conn.execute(select(outbox.c.id, outbox.c.status)).all())
        kinds = list(conn.execute(text("SELECT kind FROM audit_log WHERE kind='approval'")).scalars())
    assert statuses[waiting[0].id] == "done" and statuses[waiting[1].id] == "rejected"
    assert len(kinds) == 2
    with store.read() as conn:
        rejected_event = conn.execute(select(events.c.state).join(
            outbox, outbox.c.event_id == events.c.id).where(outbox.c.id == waiting[1].id)).scalar()
    assert rejected_event in ("rejected", "succeeded")  # succeeded when its tag_ticket ran
    again = runner.invoke(app, ["approvals", "approve", str(waiting[1].id), "--db", db])
    assert again.exit_code != 0


def test_audit_verify_names_an_edited_row(example, tmp_path, db):
    invoke("run", example / "integration.yaml", "--input", small_inbox(tmp_path), "--db", db)
    assert invoke("audit", "verify", "--db", db).exit_code == 0
    store = open_store(db)
    with store.write() as conn:
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("""UPDATE audit_log SET payload = '{"edited": true}' WHERE seq = 7"""))
    result = runner.invoke(app, ["audit", "verify", "--db", db])
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and "row 7" in output and "was edited" in output


def test_audit_show_and_replay_with_another_prompt_version(example, tmp_path, db):
    invoke("run", example / "integration.yaml", "--input", small_inbox(tmp_path, 3), "--db", db)
    with open_store(db).read() as conn:
        event_id = conn.execute(select(events.c.id).where(events.c.state == "succeeded")).scalars().first()
    shown = invoke("audit", "show", event_id, "--db", db)
    assert shown.exit_code == 0 and "model_call" in shown.output and "prompt" in shown.output
    (example / "prompt_user.j2").write_text("E-mail subject: {{ subject }}\n\n{{ body }}\n")
    replayed = invoke("replay", event_id, "--integration", example / "integration.yaml", "--db", db)
    assert replayed.exit_code == 0, replayed.output
    assert "prompt version" in replayed.output and "nothing was acted on" in replayed.output
    # The on-device model never reads the prompt: the replay says so instead of "0 changed".
    assert "does not read the prompt" in " ".join(replayed.output.split())


def test_flag_set_and_show(db):
    assert invoke("flag", "set", "support_triage.ai", "25", "--reason", "canary", "--new", "--db", db).exit_code == 0
    shown = invoke("flag", "show", "--db", db)
    assert "support_triage.ai" in shown.output and "25" in shown.output and "canary" in shown.output


def test_dlq_list_shows_reasons(example, tmp_path, db):
    invoke("run", example / "integration.yaml", "--input", small_inbox(tmp_path), "--db", db)
    listed = invoke("dlq", "list", "--db", db)
    assert "not valid JSON" in listed.output and "input schema" in listed.output


def test_eval_gates_on_a_minimum_score(example):
    golden = EXAMPLE / "data" / "golden.jsonl"
    assert invoke("eval", example / "integration.yaml", "--golden", golden).exit_code == 0
    gated = runner.invoke(app, ["eval", str(example / "integration.yaml"), "--golden", str(golden),
                                "--min-score", "0.99"])
    assert gated.exit_code == 1 and "below the bar" in gated.output


def test_a_store_that_cannot_be_opened_is_a_sentence(capsys, monkeypatch, tmp_path):
    from seamline.cli import main

    (tmp_path / "not-a-db").write_text("this is not sqlite" * 100)
    monkeypatch.setattr("sys.argv", ["seamline", "dlq", "list", "--db", str(tmp_path / "not-a-db")])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "the store failed" in err and "Traceback" not in err


def test_escalations_list_and_release_after_raising_the_cap(example, tmp_path, db):
    yaml_path = example / "integration.yaml"
    original = yaml_path.read_text()
    priced = original.replace("  model: local-linear\n",
                              "  model: local-linear\n  input_usd_per_mtok: 1000\n  output_usd_per_mtok: 1000\n")
    yaml_path.write_text(priced.replace("per_call_usd: 0.05", "per_call_usd: 0.0001"))
    invoke("run", yaml_path, "--input", small_inbox(tmp_path, 3), "--db", db)
    listed = invoke("escalations", "list", "--db", db)
    assert "3 event(s) waiting" in listed.output and "per-call" in listed.output
    yaml_path.write_text(priced.replace("per_call_usd: 0.05", "per_call_usd: 5"))
    released = invoke("escalations", "release", "--all", "--db", db)
    assert released.exit_code == 0 and "3 succeeded" in released.output
    assert "0 event(s) waiting" in invoke("escalations", "list", "--db", db).output
    nothing = runner.invoke(app, ["escalations", "release", "--db", db])
    assert nothing.exit_code == 2 and "--all" in nothing.output


def test_run_with_batch_goes_through_the_providers_batch_api(example, tmp_path, db, monkeypatch):
    from seamline.emulator import Emulator

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-0000000000")
    answer = {"intent": "billing", "urgency": "normal", "summary": "s", "confidence": 0.9,
              "evidence": []}
    with Emulator(lambda req: answer).serve() as emu:
        yaml_path = example / "integration.yaml"
        yaml_path.write_text(yaml_path.read_text().replace(
            "  provider: local\n  model: local-linear\n",
            f"  provider: anthropic\n  model: claude-opus-4\n  base_url: {emu.base_url}\n"))
        result = invoke("run", yaml_path, "--input", small_inbox(tmp_path, 5), "--batch", "10",
                        "--db", db)
        creates = [r for r in emu.requests if r.path.endswith("/messages/batches")]
    assert result.exit_code == 0, result.output
    assert len(creates) == 1 and len(creates[0].body["requests"]) == 5


def test_approvals_replay_and_eval_load_the_kept_fit_and_never_refit(example, tmp_path, db,
                                                                      monkeypatch):
    """`seamline run` fits the on-device model once and keeps the fit beside the store; a
    later process (a fresh in-memory cache) approving, replaying or evaluating loads it."""
    from seamline.inference import _local_fit

    monkeypatch.setenv("SUPPORT_TRIAGE_HELPDESK_DB", str(tmp_path / "hd.db"))
    monkeypatch.setenv("SEAMLINE_DB", db)  # where eval looks for kept fits, as a user's shell
    monkeypatch.delenv("SEAMLINE_MODELS", raising=False)
    inbox = small_inbox(tmp_path, 40)
    assert invoke("run", example / "integration.yaml", "--input", inbox, "--db", db).exit_code == 0
    assert list((tmp_path / "models").glob("local-*.npz")), "run kept no fit beside the store"

    fits: list[str] = []

    def no_fit(*args, **kwargs):  # recorded too: a pipeline turns a raise into a dead letter
        fits.append("fit")
        raise AssertionError("the kept fit must be loaded, not fitted again")

    _local_fit._CACHE.clear()  # as a new process would start
    monkeypatch.setattr("seamline.inference.local.fit", no_fit)
    store = open_store(db)
    with store.read() as conn:
        waiting = conn.execute(select(outbox.c.id).where(
            outbox.c.status == "awaiting_approval")).scalars().first()
        event_id = conn.execute(select(events.c.id).where(
            events.c.state == "succeeded")).scalars().first()
    assert waiting is not None, "the first 40 e-mails of the golden set hold an escalation"
    assert invoke("approvals", "approve", waiting, "--reviewer", "ana", "--db", db).exit_code == 0
    _local_fit._CACHE.clear()  # each command is its own process
    assert invoke("replay", event_id, "--integration", example / "integration.yaml",
                  "--db", db).exit_code == 0
    _local_fit._CACHE.clear()
    golden = tmp_path / "golden.jsonl"
    golden.write_text("\n".join((EXAMPLE / "data" / "golden.jsonl").read_text().splitlines()[:6]))
    evaluated = invoke("eval", "run", example / "integration.yaml", "--golden", golden)
    assert evaluated.exit_code == 0, evaluated.output
    assert fits == []
