"""Eval-first go-live: a golden set signed off by a person (hash, size, coverage, bar), and
no flag above 0% until the current prompt version and model pass it; an edit voids it.

End to end through the command line (``main()``, so library errors become the sentences
and exit codes a person sees) on a copy of the support-triage demo and its on-device model.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from seamline.errors import ConfigError
from seamline.eval import coverage, read_golden, sign_off
from seamline.integration import RolloutStage, load_integration
from seamline.rollout import go_live_problem, latest_signoff, start_plan
from seamline.store import open_store
from seamline.store.tables import audit_log, eval_signoffs, events

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support_triage"


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
    return code, flat(captured.out + captured.err)


@pytest.fixture
def demo(tmp_path, monkeypatch, capsys):
    """A copy of the demo whose golden set is its first 24 lines (hand-rated), run once on
    12 inbox e-mails so that the store knows the integration and its flag."""
    folder = tmp_path / "support_triage"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    lines = (EXAMPLE / "data" / "golden.jsonl").read_text(encoding="utf-8").splitlines()[:24]
    (folder / "data" / "golden.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    inbox = (EXAMPLE / "data" / "inbox.jsonl").read_text(encoding="utf-8").splitlines()[:12]
    (folder / "data" / "small.jsonl").write_text("\n".join(inbox) + "\n", encoding="utf-8")
    db = tmp_path / "seamline.db"
    code, said = seamline(monkeypatch, capsys, "run", folder / "integration.yaml", "--input",
                          folder / "data" / "small.jsonl", "--db", db)
    assert code == 0, said
    return folder, db


def test_a_rollout_is_refused_without_a_signoff_and_allowed_after_it(demo, monkeypatch, capsys):
    folder, db = demo
    spec, golden = folder / "integration.yaml", folder / "data" / "golden.jsonl"

    def run(*args):
        return seamline(monkeypatch, capsys, *args, "--db", db)

    code, said = run("flag", "set", "support_triage.ai", "25", "--reason", "canary")
    assert code == 2 and "no signed-off golden set" in said and "seamline eval signoff" in said
    code, said = run("rollout", "start", spec, "--steps", "5,100")
    assert code == 2 and "seamline eval signoff" in said
    assert run("flag", "set", "support_triage.ai", "0", "--reason", "shadow first")[0] == 0

    code, said = run("eval", "signoff", golden, "--integration", spec, "--by", "ana",
                     "--min-score", "0.5")
    assert code == 0, said
    assert "24 example(s), 24 hand-rated" in said and "intent (output)" in said
    store = open_store(str(db))
    try:
        row = latest_signoff(store, "support_triage")
        assert row is not None and row.signed_by == "ana" and row.min_score == 0.5
        assert row.golden_hash == hashlib.sha256(golden.read_bytes()).hexdigest()
        with store.read() as conn:
            audited = [json.loads(p) for p in conn.execute(
                select(audit_log.c.payload).where(audit_log.c.kind == "eval_signoff")).scalars()]
        assert [a["signed_by"] for a in audited] == ["ana"]
        assert audited[0]["golden_hash"] == row.golden_hash
    finally:
        store.close()

    # Signed off, but nothing has shown that this prompt and model pass the set yet.
    code, said = run("flag", "set", "support_triage.ai", "25", "--reason", "canary")
    assert code == 2 and "No eval run of support_triage" in said and "seamline eval run" in said

    code, said = run("eval", "run", spec, "--golden", golden)
    assert code == 0, said
    assert "recorded in the store" in said and "The signed-off bar of this golden set is 50.0%" in said
    assert run("flag", "set", "support_triage.ai", "25", "--reason", "canary")[0] == 0
    code, said = run("rollout", "start", spec, "--steps", "5,100")
    assert code == 0 and "started at 5%" in said

    # A person changes one rating in the golden set: the sign-off is void at once.
    text = golden.read_text(encoding="utf-8")
    golden.write_text(text.replace('"urgency": "normal"', '"urgency": "high"', 1), encoding="utf-8")
    code, said = run("rollout", "flip", "support_triage.ai", "on", "--reason", "all in")
    assert code == 2 and "changed since ana signed it off" in said and "voids the sign-off" in said
    assert run("rollout", "flip", "support_triage.ai", "off", "--reason", "rollback")[0] == 0
    # The CI gate reads the same record: the edited set fails it too.
    code, said = run("eval", "run", spec, "--golden", golden)
    assert code == 1 and "voids the sign-off" in said


def test_a_prompt_change_needs_its_own_passing_run(demo, monkeypatch, capsys):
    folder, db = demo
    spec, golden = folder / "integration.yaml", folder / "data" / "golden.jsonl"
    store = open_store(str(db))
    try:
        integration = load_integration(spec)
        sign_off(store, integration, golden, by="ana", min_score=0.5)
    finally:
        store.close()
    assert seamline(monkeypatch, capsys, "eval", "run", spec, "--golden", golden, "--db", db)[0] == 0
    assert seamline(monkeypatch, capsys, "flag", "set", "support_triage.ai", "on",
                    "--reason", "go", "--db", db)[0] == 0
    (folder / "prompt_user.j2").write_text("Subject: {{ subject }}\n\n{{ body }}\n", encoding="utf-8")
    code, said = seamline(monkeypatch, capsys, "flag", "set", "support_triage.ai", "50",
                          "--reason", "more", "--db", db)
    version = load_integration(spec)
    assert code == 2 and "No eval run of support_triage" in said
    from seamline.rollout import prompt_version

    assert prompt_version(version) in said  # the new version is named: the old run was another


def test_a_score_below_the_bar_keeps_the_flag_at_zero(demo, monkeypatch, capsys):
    folder, db = demo
    spec, golden = folder / "integration.yaml", folder / "data" / "golden.jsonl"
    code, said = seamline(monkeypatch, capsys, "eval", "signoff", golden, "--integration", spec,
                          "--by", "ana", "--min-score", "0.99", "--db", db)
    assert code == 0, said
    code, said = seamline(monkeypatch, capsys, "eval", "run", spec, "--golden", golden, "--db", db)
    assert code == 1 and "below the bar of 99.0%" in said
    code, said = seamline(monkeypatch, capsys, "flag", "set", "support_triage.ai", "5",
                          "--reason", "canary", "--db", db)
    assert code == 2 and "below the 99.0% the sign-off by ana declares" in said


def test_a_signoff_needs_twenty_hand_rated_lines_and_a_bar(demo, tmp_path):
    folder, db = demo
    lines = (folder / "data" / "golden.jsonl").read_text(encoding="utf-8").splitlines()
    # 19 rated, 5 with no mark at all: they are scored, but nobody said a person checked them.
    few = [line.replace(', "rated": true}', "}") if i >= 19 else line for i, line in enumerate(lines)]
    path = tmp_path / "few.jsonl"
    path.write_text("\n".join(few) + "\n", encoding="utf-8")
    store = open_store(str(db))
    try:
        integration = load_integration(folder / "integration.yaml")
        with pytest.raises(ConfigError, match="has 19 hand-rated example"):
            sign_off(store, integration, path, by="ana", min_score=0.5)
        with pytest.raises(ConfigError, match="Declare the score"):
            sign_off(store, integration, folder / "data" / "golden.jsonl", by="ana")
        with pytest.raises(ConfigError, match="--by must name"):
            sign_off(store, integration, folder / "data" / "golden.jsonl", by="  ", min_score=0.5)
        with store.read() as conn:
            assert conn.execute(select(eval_signoffs)).all() == []  # nothing half-recorded
    finally:
        store.close()


def test_coverage_is_the_share_of_traffic_whose_value_the_golden_set_holds(demo):
    folder, db = demo
    integration = load_integration(folder / "integration.yaml")
    full = read_golden(folder / "data" / "golden.jsonl")
    # The set without its cancellation e-mails: the intent the traffic below is full of.
    gset = replace(full, examples=[e for e in full.examples
                                   if e["output"]["intent"] != "cancellation"])
    held = {e["output"]["intent"] for e in gset.examples}
    assert "cancellation" not in held and len(gset.examples) < len(full.examples)
    # Before go-live (no traffic): the share of the declared values the set holds.
    before = coverage(None, integration, gset)
    intent = next(f for f in before.fields if f.name == "intent")
    assert intent.basis == "schema" and intent.share == pytest.approx(len(held) / 8)
    assert "cancellation" in {m["value"] for m in intent.missing}
    store = open_store(str(db))
    try:
        with store.write() as conn:  # 20 more events, every one a cancellation
            for n in range(20):
                conn.execute(events.insert().values(
                    id=f"evt_cov_{n}", integration="support_triage", idempotency_key=f"c{n}",
                    state="succeeded", input=json.dumps({"message_id": f"c{n}"}),
                    output=json.dumps({"intent": "cancellation", "urgency": "low"}),
                    created_at=time.time(), updated_at=time.time()))
        with store.read() as conn:
            answers = [json.loads(o) for o in conn.execute(
                select(events.c.output).where(events.c.output.is_not(None))).scalars()]
        expected = sum(a.get("intent") in held for a in answers) / len(answers)
        after = coverage(store, integration, gset)
        intent = next(f for f in after.fields if f.name == "intent")
        assert intent.basis == "production" and intent.counted == len(answers) >= 20
        assert intent.share == pytest.approx(expected) and intent.share < 0.5
        assert intent.missing[0]["value"] == "cancellation"
        assert intent.missing[0]["share"] >= 20 / len(answers)
        assert after.share == min(f.share for f in after.fields)
        # The whole set holds cancellations: the same traffic is covered better.
        assert next(f for f in coverage(store, integration, full).fields
                    if f.name == "intent").share > intent.share
    finally:
        store.close()


def test_a_plan_past_shadow_waits_for_the_signoff_and_shadow_needs_none(demo):
    folder, db = demo
    base = load_integration(folder / "integration.yaml")
    store = open_store(str(db))
    try:
        gated_first = base.model_copy(update={"rollout": base.rollout.model_copy(
            update={"plan": (RolloutStage(stage="gated"),)})})
        with pytest.raises(ConfigError, match="no signed-off golden set"):
            start_plan(store, gated_first)
        shadow_first = base.model_copy(update={"rollout": base.rollout.model_copy(
            update={"plan": (RolloutStage(stage="shadow", for_="1s"), RolloutStage(stage="gated"))})})
        assert start_plan(store, shadow_first).stage == "shadow"
        opted_out = base.model_copy(update={"rollout": base.rollout.model_copy(
            update={"require_signoff": False})})
        assert go_live_problem(store, opted_out) is None
        assert go_live_problem(store, base) is not None
    finally:
        store.close()


def test_the_console_refuses_a_flag_above_zero_without_a_signoff(demo):
    import re

    from fastapi.testclient import TestClient

    from seamline.access import Role, add_user
    from seamline.server import create_app

    folder, db = demo
    store = open_store(str(db))
    try:
        add_user(store, "adam", "a long passphrase of his own", Role.ADMIN, actor="test")
        client = TestClient(create_app([load_integration(folder / "integration.yaml")], store,
                                       allow_anonymous=True, secure_cookies=False))
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        page = client.post("/login", data={"username": "adam", "password": "a long passphrase of his own",
                                           "csrf_token": token, "next": "/console"})
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        asked = {"csrf_token": token, "name": "support_triage.ai", "reason": "canary", "confirm": "yes"}
        refused = client.post("/console/flags/apply", data={**asked, "value": "25"})
        assert refused.status_code == 422 and "no signed-off golden set" in flat(refused.text)
        assert client.post("/console/flags/apply", data={**asked, "value": "0"}).status_code == 200
        from seamline.rollout import Flags

        assert Flags(store, ttl=0).get("support_triage.ai").percent == 0.0
    finally:
        store.close()
