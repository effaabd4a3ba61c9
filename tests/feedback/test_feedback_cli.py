"""`seamline feedback`: record, import, accuracy over time, watch; and the library under them."""

from __future__ import annotations

import json
import threading

import pytest
from feedback_seed import DAY, english_only, integration, model, run_day, week_start
from sqlalchemy import select
from typer.testing import CliRunner

from seamline.alerts import list_alerts
from seamline.cli import app
from seamline.errors import NotFound
from seamline.eval._feedback import (
    TruthRefused,
    accuracy_over_time,
    bucket_start,
    import_truths,
    record_truth,
    sparkline,
)
from seamline.eval._production import parse_duration, watch
from seamline.store import open_store
from seamline.store.tables import eval_runs, ground_truth

runner = CliRunner()


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "cli.db")


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "refunds_spec.py"
    path.write_text("from feedback_seed import integration as _make\n\nintegration = _make()\n")
    return str(path)


def seeded(db: str, days: int = 1, languages: list[str] | None = None) -> tuple[list[str], float]:
    store = open_store(db)
    start = week_start()
    ids = []
    for day in range(days):
        ids += run_day(store, integration(), model(english_only), day, start,
                       languages or ["en"] * 10)
    store.close()
    return ids, start


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def stored_truth(db: str, event_id: str) -> dict | None:
    store = open_store(db)
    with store.read() as conn:
        raw = conn.execute(select(ground_truth.c.truth)
                           .where(ground_truth.c.event_id == event_id)).scalar()
    store.close()
    return None if raw is None else json.loads(raw)


def test_record_with_set_or_json_and_refusals_in_sentences(db, spec_file):
    ids, _ = seeded(db)
    r = invoke("feedback", "record", ids[0], "--set", "label=other", "--set", "amount=3",
               "--integration", spec_file, "--actor", "ana", "--db", db)
    assert r.exit_code == 0, r.output
    assert "Recorded the truth of" in r.output and "by ana" in r.output
    assert stored_truth(db, ids[0]) == {"label": "other", "amount": 3.0}
    r = invoke("feedback", "record", ids[1], "--json", '{"label": "refund"}',
               "--integration", spec_file, "--db", db)
    assert r.exit_code == 0 and stored_truth(db, ids[1]) == {"label": "refund"}
    bad = invoke("feedback", "record", ids[2], "--set", "colour=red", "--integration", spec_file,
                 "--db", db)
    assert bad.exit_code == 2 and "'colour' is not a field" in bad.output
    unknown = invoke("feedback", "record", "evt_nope", "--set", "label=other", "--db", db)
    assert unknown.exit_code == 1 and "no event 'evt_nope'" in unknown.output
    neither = invoke("feedback", "record", ids[2], "--db", db)
    assert neither.exit_code == 2 and "--set" in neither.output
    python_declared = invoke("feedback", "record", ids[2], "--set", "label=other", "--db", db)
    assert python_declared.exit_code == 2 and "--integration" in python_declared.output
    assert stored_truth(db, ids[2]) == {"label": "refund"}  # the seed's truth, unchanged


def test_import_records_good_lines_and_lists_bad_ones(db, spec_file, tmp_path):
    ids, _ = seeded(db)
    lines = [json.dumps({"event_id": ids[0], "truth": {"label": "other"}}),
             "not json",
             json.dumps({"event_id": "evt_nope", "truth": {"label": "other"}}),
             "",
             json.dumps({"event_id": ids[1], "truth": {"label": "nonsense"}}),
             json.dumps({"event_id": ids[3], "truth": {"label": "refund"}})]
    file = tmp_path / "truth.jsonl"
    file.write_text("\n".join(lines) + "\n")
    r = invoke("feedback", "import", file, "--integration", spec_file, "--db", db)
    assert r.exit_code == 1  # some lines were refused: cron notices
    assert "Recorded 2 truths" in r.output and "refused 3 lines" in r.output
    assert "line 2:" in r.output and "line 3:" in r.output and "line 5:" in r.output
    assert stored_truth(db, ids[0]) == {"label": "other"}
    assert stored_truth(db, ids[3]) == {"label": "refund"}


def test_accuracy_over_time_per_day_and_week_with_a_sparkline(db):
    _, start = seeded(db, days=3, languages=["en"] * 6 + ["de"] * 4)
    store = open_store(db)
    days = accuracy_over_time(store, "refunds", by="day")
    weeks = accuracy_over_time(store, "refunds", by="week")
    store.close()
    assert [b.start for b in days] == [start, start + DAY, start + 2 * DAY]
    # per day: the first ticket wrong, and the two German refunds (i = 6, 8) missed
    assert [b.events for b in days] == [10, 10, 10]
    assert [b.accuracy("label") for b in days] == [0.7, 0.7, 0.7]
    assert sum(b.events for b in weeks) == 30
    assert all(b.start == bucket_start(b.start, "week") for b in weeks)
    r = invoke("feedback", "accuracy", "refunds", "--db", db)
    assert r.exit_code == 0, r.output
    assert "Accuracy of refunds by day" in r.output and "70.0%" in r.output
    assert sparkline([0.7, 0.7, 0.7]) in r.output
    r = invoke("feedback", "accuracy", "refunds", "--by", "week", "--db", db)
    assert r.exit_code == 0 and "by week" in r.output
    none = invoke("feedback", "accuracy", "nothing", "--db", db)
    assert none.exit_code == 0 and "No events of nothing" in none.output


def test_a_dead_letter_counts_as_wrong(store):
    spec = integration()
    start = week_start()
    run_day(store, spec, model(lambda d: None), 0, start, ["en"] * 4)
    [bucket] = accuracy_over_time(store, "refunds")
    assert bucket.events == 4 and bucket.accuracy("label") == 0.0


def test_the_library_refuses_unknown_events_and_bad_sources(store):
    with pytest.raises(NotFound):
        record_truth(store, "evt_nope", {"label": "refund"}, source="api", actor="x",
                     integration=integration())
    ids = run_day(store, integration(), model(english_only), 0, week_start(), ["en"] * 2)
    with pytest.raises(TruthRefused, match="source"):
        record_truth(store, ids[0], {"label": "refund"}, source="email", actor="x",
                     integration=integration())
    report = import_truths(store, ['{"event_id": 3, "truth": {}}'], actor="x")
    assert report.recorded == 0 and report.refused[0][0] == 1


def test_watch_runs_on_a_schedule_until_stopped_and_once_for_cron(db):
    seeded(db)
    store = open_store(db)
    stop = threading.Event()
    seen = []

    def on_score(result):
        seen.append(result)
        if len(seen) == 3:
            stop.set()

    runs = watch(store, "refunds", every_s=0.01, window_s=30 * DAY, stop=stop, on_score=on_score)
    assert runs == 3 and all(s.examples == 10 for s in seen)
    assert watch(store, "refunds", every_s=60, window_s=30 * DAY, stop=threading.Event(),
                 once=True) == 1
    store.close()
    r = invoke("feedback", "watch", "refunds", "--once", "--window", "30d", "--db", db)
    assert r.exit_code == 0, r.output
    # overlapping windows never make a baseline for each other
    assert "refunds: 90.0 over 10 events" in r.output and "baseline yet" in r.output
    for _ in range(2):  # against a declared 99: a 9-point drop, paged once, not every run
        r = invoke("feedback", "watch", "refunds", "--once", "--window", "30d",
                   "--baseline", "99", "--db", db)
        assert r.exit_code == 0 and "baseline 99.0 (declared)" in r.output
        assert "drift:" in r.output and "likely layer unknown" in r.output
    runs = invoke("feedback", "runs", "refunds", "--db", db)
    assert runs.exit_code == 0 and "Production evals of refunds" in runs.output
    assert "unknown" in runs.output and "repeat" in runs.output and "99.0" in runs.output
    assert "No production eval" in invoke("feedback", "runs", "other", "--db", db).output
    bad = invoke("feedback", "watch", "refunds", "--every", "soon", "--db", db)
    assert bad.exit_code == 2 and "not a duration" in bad.output
    store = open_store(db)
    with store.read() as conn:
        assert len(conn.execute(select(eval_runs)).all()) == 7
    assert len(list_alerts(store, kind="eval_drift")) == 1
    store.close()


def test_durations():
    assert parse_duration("15m") == 900 and parse_duration("1d") == 86400
    assert parse_duration("90") == 90 and parse_duration("1w") == 7 * 86400
