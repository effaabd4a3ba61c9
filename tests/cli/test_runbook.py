"""``seamline runbook``: the hand-over runbook generated from the declaration and the store,
every command in it run (on a throw-away copy of the store) with the exit code it documents,
and the console page showing the same document."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from seamline.access import Role, add_user
from seamline.alerts import Alert, raise_alert
from seamline.integration import load_integration
from seamline.runbook import commands
from seamline.runtime import dead_letters_now
from seamline.server import create_app
from seamline.store import open_store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support_triage"
PASSWORD = "a long passphrase of the viewer's own"


def flat(text: str) -> str:
    return " ".join(text.split())


def seamline(monkeypatch, capsys, *args) -> tuple[int, str]:
    """Run as the console script does (main() turns library errors into sentences)."""
    from seamline.cli import main

    monkeypatch.setattr("sys.argv", ["seamline", *map(str, args)])
    monkeypatch.setenv("COLUMNS", "200")
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def handed_over(tmp_path, monkeypatch, capsys):
    """The demo after a day's work: the whole inbox run (dead letters of several reasons),
    its golden set signed off and passed, a canary started, alert rules and an alert."""
    folder = tmp_path / "support_triage"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    lines = (EXAMPLE / "data" / "golden.jsonl").read_text(encoding="utf-8").splitlines()[:24]
    (folder / "data" / "golden.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec, golden, db = folder / "integration.yaml", folder / "data" / "golden.jsonl", tmp_path / "s.db"
    for args in (("run", spec, "--input", folder / "data" / "inbox.jsonl"),
                 ("eval", "signoff", golden, "--integration", spec, "--by", "ana", "--min-score", "0.5"),
                 ("eval", "run", spec, "--golden", golden),
                 ("rollout", "start", spec, "--steps", "5,25,100")):
        code, said = seamline(monkeypatch, capsys, *args, "--db", db)
        assert code == 0, said
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump([
        {"name": "dead letters piling up", "metric": "dead_letters", "above": 5,
         "integration": "support_triage"},
        {"name": "reviewers behind", "metric": "approvals_waiting", "above": 50,
         "severity": "critical"}]))
    store = open_store(str(db))
    raise_alert(store, Alert("eval_drift", "Production accuracy of support_triage fell.",
                             "warning", {"integration": "support_triage"}))
    store.close()
    out = tmp_path / "RUNBOOK.md"
    code, said = seamline(monkeypatch, capsys, "runbook", spec, "--rules", rules, "--out", out,
                          "--db", db)
    assert code == 0, said
    return folder, db, out.read_text(encoding="utf-8")


def test_the_runbook_states_what_the_declaration_and_the_store_say(handed_over):
    folder, db, text = handed_over
    spec = load_integration(folder / "integration.yaml")
    assert "| owner (paged) | support-platform@acme.example |" in text
    assert spec.checklist.workflow in text
    assert "now **5%**; its staged rollout is running at 5%" in text
    assert "seamline rollout flip support_triage.ai off --reason 'rollback: INCIDENT'" in text
    store = open_store(str(db))
    try:
        dead = Counter(d.reason for d in dead_letters_now(store, integration="support_triage"))
    finally:
        store.close()
    assert len(dead) >= 2  # the inbox's dirty e-mails die for more than one reason
    for reason, count in dead.items():  # every reason, grouped, with its count and redrive
        assert f"| {count} | ingest | {reason} |" in text
        assert f"seamline dlq redrive --name support_triage --reason '{reason}'" in text
    assert f"{sum(dead.values())} event(s) in the dead-letter queue" in text
    assert "| `eval_drift` | 1 |" in text and "| `rollout_rolled_back` | 0 |" in text
    assert "| dead letters piling up | dead_letters | above 5 over 3600 s |" in text
    assert "| reviewers behind | approvals_waiting | above 50" in text
    assert "| `daily_usd` | 20.0 |" in text and "Spent today (UTC): **$0.000000**" in text
    assert "signed off by ana" in text and "24 hand-rated" in text and "(intact)" in text
    assert "Go-live: the flag may go above 0%." in text


def test_every_command_in_the_runbook_runs(handed_over, tmp_path, monkeypatch, capsys):
    folder, db, text = handed_over
    found = commands(text)
    kinds = {" ".join(c.argv[1:3]) for c in found}
    # The sections each give their commands: rollback, redrive, alerts, caps, eval, drift.
    assert {"rollout flip", "dlq redrive", "alerts --days", "costs --days", "eval run",
            "drift --days", "rollout watch", "feedback runs", "escalations release",
            "rollout start"} <= kinds
    assert all(c.argv[0] == "seamline" for c in found) and len(found) >= 15
    throwaway = tmp_path / "throwaway.db"  # commands that change state change a copy
    shutil.copy(db, throwaway)
    monkeypatch.setenv("SEAMLINE_DB", str(throwaway))
    results = []
    for c in found:
        code, said = seamline(monkeypatch, capsys, *c.argv[1:])
        results.append((c.line, code, c.exit_code, flat(said)[-300:]))
    wrong = [r for r in results if r[1] != r[2]]
    assert wrong == [], "\n".join(f"{line}: exit {got}, documented {want}: {said}"
                                 for line, got, want, said in wrong)
    # They ran on the copy: the original store still has its canary at 5%.
    store = open_store(str(db))
    try:
        from seamline.rollout import get_plan

        plan = get_plan(store, "support_triage.ai")
        assert plan is not None and plan.status == "running"
    finally:
        store.close()


def test_the_console_shows_the_same_runbook(handed_over, monkeypatch, capsys):
    folder, db, text = handed_over
    spec = load_integration(folder / "integration.yaml")
    store = open_store(str(db))
    try:
        add_user(store, "vic", PASSWORD, Role.VIEWER, actor="test")
        client = TestClient(create_app([spec], store, allow_anonymous=True, secure_cookies=False))
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        client.post("/login", data={"username": "vic", "password": PASSWORD, "csrf_token": token,
                                    "next": "/console"})
        index = client.get("/console/runbook")
        assert index.status_code == 200 and 'href="/console/runbook/support_triage"' in index.text
        page = client.get("/console/runbook/support_triage")
        assert page.status_code == 200 and "<h1>Runbook: support_triage</h1>" in page.text
        assert "<table>" in page.text and "support-platform@acme.example" in page.text
        md = client.get("/console/runbook/support_triage.md")
        assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")

        def body(doc: str) -> str:  # all but the line naming when it was generated
            return "\n".join(line for line in doc.splitlines() if not line.startswith("Generated "))

        # What `seamline runbook` writes for this store (the console is given no rules file).
        code, cli = seamline(monkeypatch, capsys, "runbook", folder / "integration.yaml", "--db", db)
        assert code == 0 and body(md.text) == body(cli)
        assert body(cli) != body(text) and "dead letters piling up" not in cli
        for c in commands(cli):  # every command is on the page, escaped as text
            shown = c.line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            assert shown.replace("'", "&#x27;") in page.text or shown in page.text
        missing = client.get("/console/runbook/nosuch")
        assert missing.status_code == 404 and "no declaration of nosuch" in missing.text
    finally:
        store.close()
