"""``seamline stream``: an integration file with a stream section, consumed from Redis by the
command line; bad URLs, unreachable brokers and missing declarations end in a sentence."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from sqlalchemy import select
from stream_helpers import REDIS_URL, publish_redis, redis_client, redis_stream  # noqa: F401 (fixtures)

from seamline.store import open_store
from seamline.store.tables import events, stream_windows

SEAMLINE = [sys.executable, "-m", "seamline"]


def write_integration(tmp_path, source: str = "") -> str:
    examples = tmp_path / "examples.jsonl"
    rows = []
    for i, (key, level) in enumerate([("busy", "high"), ("quiet", "low")] * 3):
        rows.append({"input": {"window_id": f"w{i}", "stream": "risk", "key": f"{key} customer",
                               "window_start": 0, "window_end": 60, "count": 1, "events": []},
                     "output": {"level": level}})
    examples.write_text("\n".join(json.dumps(r) for r in rows))
    path = tmp_path / "risk.yaml"
    path.write_text(textwrap.dedent(f"""
        name: risk
        checklist: {{workflow: Score activity, owner: risk, baseline_metric: manual,
                    monthly_cost_ceiling_usd: 1}}
        input_schema: seamline.streaming:WindowInput
        output_schema:
          fields:
            level: {{enum: [high, low]}}
        pii: {{window_id: allow, stream: allow, key: allow}}
        prompt: {{user: "{{{{ key }}}} had {{{{ count }}}} events"}}
        model: {{provider: local, examples: examples.jsonl}}
        stream:
          key_field: customer
          time_field: ts
          window: {{kind: tumbling, size: 1m}}
          allowed_lateness: 5s
          late_policy: dead_letter
          source: "{source}"
        """))
    return str(path)


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    done = subprocess.run([*SEAMLINE, *args], capture_output=True, text=True, cwd=cwd, timeout=60)
    # Rich wraps long sentences to the terminal width; compare words, not line breaks.
    done.stderr = " ".join(done.stderr.split())
    return done


def test_stream_consumes_the_declared_source_and_decides_each_closed_window(
        tmp_path, redis_client, redis_stream):
    source = f"{REDIS_URL}?stream={redis_stream}&group=risk"
    integration = write_integration(tmp_path, source)
    publish_redis(redis_client, redis_stream,
                  [{"customer": f"c{i % 2}", "ts": f"2026-11-25T10:{i:02d}:30Z"} for i in range(5)]
                  + [{"customer": "c0", "ts": "2026-11-25T10:00:00Z"}])  # late: dead-lettered
    db = tmp_path / "s.db"
    done = run_cli("stream", integration, "--db", str(db), "--idle-exit", "0.5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "late, dead-lettered" in done.stdout and "window decisions: succeeded" in done.stdout
    store = open_store(db)
    with store.read() as conn:
        counts = conn.execute(select(stream_windows.c.events_count, stream_windows.c.status)
                              .order_by(stream_windows.c.window_start)).all()
        decided = conn.execute(select(events.c.state, events.c.output)
                               .where(events.c.stage != "stream")).all()
        late = conn.execute(select(events.c.reason).where(events.c.stage == "stream")).all()
    store.close()
    assert counts == [(1, 2), (1, 2), (1, 2), (1, 2), (1, 0)]  # 10:04 is still open
    assert len(late) == 1 and late[0].reason.startswith("late event: its event time")
    assert len(decided) == 4 and all(json.loads(d.output)["level"] in ("high", "low")
                                     for d in decided)
    assert redis_client.xpending(redis_stream, "risk")["pending"] == 0


def main_says(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """Run the CLI's main() in-process: its exit code and its words on stderr."""
    import pytest

    from seamline.cli import main

    monkeypatch.setattr("sys.argv", ["seamline", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    return exit_info.value.code, " ".join(capsys.readouterr().err.split())


def test_stream_errors_are_sentences_with_exit_codes(tmp_path, monkeypatch, capsys):
    integration = write_integration(tmp_path)
    db = str(tmp_path / "s.db")
    code, err = main_says(monkeypatch, capsys, "stream", integration, "--db", db)
    assert code == 2 and "Name the source of 'risk'" in err
    code, err = main_says(monkeypatch, capsys, "stream", integration, "--db", db,
                          "--source", "redis://127.0.0.1:6379/0?group=g")
    assert code == 2 and "must name the stream and the consumer group" in err
    code, err = main_says(monkeypatch, capsys, "stream", integration, "--db", db,
                          "--source", "redis://127.0.0.1:1/0?stream=s&group=g")
    assert code == 1 and "Redis is not reachable at redis://127.0.0.1:1/0" in err
    code, err = main_says(monkeypatch, capsys, "stream", integration, "--db", db,
                          "--source", "nats://127.0.0.1:4222?stream=NOPE_X&subject=nope")
    assert code == 2 and "JetStream has no stream 'NOPE_X'" in err
    plain = tmp_path / "plain.yaml"
    plain.write_text(open(integration).read().split("\nstream:")[0])
    code, err = main_says(monkeypatch, capsys, "stream", str(plain), "--db", db,
                          "--source", "redis://x?stream=s&group=g")
    assert code == 2 and "declares no stream" in err


def test_sigterm_stops_the_stream_after_its_batch_and_prints_the_summary(
        tmp_path, redis_client, redis_stream):
    import signal
    import time

    from seamline.store.tables import stream_progress

    source = f"{REDIS_URL}?stream={redis_stream}&group=risk"
    integration = write_integration(tmp_path, source)
    publish_redis(redis_client, redis_stream, [{"customer": "c1", "ts": i} for i in range(30)])
    db = tmp_path / "s.db"
    open_store(db).close()  # migrated before the command starts, so both can open it at once
    proc = subprocess.Popen([*SEAMLINE, "stream", integration, "--db", str(db)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    applied, deadline = 0, time.monotonic() + 30
    while applied < 30 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
        store = open_store(db)
        with store.read() as conn:
            applied = conn.execute(select(stream_progress.c.applied)).scalar() or 0
        store.close()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopping after this batch" in out and "applied to windows" in out
    assert "30 messages in" in " ".join(out.split())
