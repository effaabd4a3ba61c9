"""``seamline run`` over a JSONL file an attacker wrote: every line is recorded (good ones
processed, bad ones dead-lettered with "line N: ..."), one bad line never stops the file, and
the command ends without a traceback. Also Pipeline.process of hostile values."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys

import pytest
from conftest import EXAMPLE, make_integration, verdict
from sqlalchemy import func, select

from seamline.audit import verify
from seamline.runtime import DEAD_LETTERED, SUCCEEDED, Pipeline, run_file
from seamline.store import open_store
from seamline.store.tables import dead_letters, events


def good(n: int) -> bytes:
    return json.dumps({"ticket_id": f"T-{n}", "body": "refund please"}).encode()


# (line as bytes, words its dead letter's reason holds; None: a good line)
LINES: list[tuple[bytes, str | None]] = [
    (good(1), None),
    (b"[" * 1000 + b"]" * 1000, "nested deeper than 64"),
    (b'{"ticket_id": "T-s", "body": "\\ud800"}', "lone surrogate"),
    (b'{"ticket_id": "T-u", "body": "caf\xe9"}', "not valid UTF-8"),
    (b'{"ticket_id": "T-n", "body": "a\x00b"}', "NUL"),
    (good(2), None),
    (b'{"ticket_id": "T-e", "body": "\\u0000"}', "NUL"),
    (b'{"ticket_id": "T-f", "body": "x", "amount": 1e999}', "too large"),
    (b'{"ticket_id": "T-d", "body": "a", "body": "b"}', '"body" twice'),
    (b'{"ticket_id": "T-i", "body": "x", "n": ' + b"1" * 5000 + b"}", "5000 digits"),
    (b'{"ticket_id": "T-x", "body": "\xed\xa0\x80"}', "surrogate"),
    (b"{not json", "not valid JSON"),
    (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested deeper than 64"),
    (good(3), None),
]


def write(tmp_path, lines: list[bytes]):
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n\n")  # a blank line at the end is no event
    return path


def test_every_line_is_recorded_and_bad_ones_say_which_line(store, tmp_path):
    path = write(tmp_path, [line for line, _ in LINES])
    pipeline = Pipeline(make_integration(), store, provider=verdict(label="other"))
    summary = run_file(pipeline, path)
    assert len(summary.results) == len(LINES)
    for n, ((_, words), result) in enumerate(zip(LINES, summary.results), 1):
        if words is None:
            assert result.state == SUCCEEDED, result.reason
        else:
            assert result.state == DEAD_LETTERED
            assert result.reason.startswith(f"line {n}: ") and words in result.reason, result.reason
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == len(LINES)
        reasons = conn.execute(select(dead_letters.c.reason)).scalars().all()
    assert len(reasons) == sum(1 for _, w in LINES if w)
    # Grouped by kind in the summary, not one row per line number.
    assert all(not k.startswith("ingest: line ") for k in summary.dead_letter_reasons)
    assert verify(store).ok


def test_in_a_batch_run_a_bad_line_is_refused_and_the_others_are_batched(store, tmp_path,
                                                                          monkeypatch):
    path = write(tmp_path, [good(1), b'{"ticket_id": "T-s", "body": "\\ud800"}', good(2)])
    pipeline = Pipeline(make_integration(), store, provider=verdict(label="other"))
    groups: list[list] = []

    def process_batch(group, **_):  # the scripted model has no batch API: one by one
        groups.append(list(group))
        return [pipeline.process(raw) for raw in group]

    monkeypatch.setattr(pipeline, "process_batch", process_batch)
    summary = run_file(pipeline, path, batch_size=2)
    assert [g[0]["ticket_id"] for g in groups] == ["T-1"] and len(groups[0]) == 2
    assert [r.state for r in summary.results].count(SUCCEEDED) == 2
    refused = next(r for r in summary.results if r.state == DEAD_LETTERED)
    assert refused.reason.startswith("line 2: ")


@pytest.mark.parametrize("raw, words", [
    ({"ticket_id": "P-1", "body": "x\ud800"}, "lone surrogate"),
    ({"ticket_id": "P-2", "body": "a\x00"}, "NUL"),
    ({"ticket_id": "P-3", "body": "x", "amount": math.nan}, "nan"),
    ({"ticket_id": "P-4", "body": "x", 7: "y"}, "key of type int"),
    ("{\"ticket_id\": \"P-5\", \"body\": \"\ud800\"}", "lone surrogate"),
    (b'{"ticket_id": "P-6", "body": "\xff"}', "not valid UTF-8"),
])
def test_pipeline_process_dead_letters_hostile_values_and_stores_them(store, raw, words):
    result = Pipeline(make_integration(), store, provider=verdict()).process(raw)
    assert result.state == DEAD_LETTERED and words in result.reason
    with store.read() as conn:
        stored = conn.execute(select(events.c.input).where(events.c.id == result.event_id)).one()
    assert stored.input is not None
    assert verify(store).ok


def test_pipeline_process_of_a_value_nested_100000_deep_is_dead_lettered(store):
    deep: dict = {"ticket_id": "P-7", "body": "x"}
    cursor = deep
    for _ in range(100_000):
        cursor["a"] = {}
        cursor = cursor["a"]
    result = Pipeline(make_integration(), store, provider=verdict()).process(deep)
    assert result.state == DEAD_LETTERED and "nested deeper than 64" in result.reason
    assert verify(store).ok


def test_the_cli_runs_a_hostile_file_to_the_end_without_a_traceback(tmp_path):
    example = tmp_path / "support_triage"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("__pycache__"))
    inputs = [json.dumps(json.loads(line)["input"]).encode()
              for line in (EXAMPLE / "data" / "golden.jsonl").read_bytes().splitlines()[:3]]
    lines = [inputs[0]] + [line for line, words in LINES if words] + inputs[1:]
    path = write(tmp_path, lines)
    db = tmp_path / "cli.db"
    done = subprocess.run([sys.executable, "-m", "seamline", "run",
                           str(example / "integration.yaml"), "--input", str(path), "--db", str(db)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    assert "Dead letters by reason" in done.stdout and "nested deeper than 64" in done.stdout
    store = open_store(db)
    try:
        with store.read() as conn:
            states = conn.execute(select(events.c.state)).scalars().all()
            reasons = conn.execute(select(dead_letters.c.reason)).scalars().all()
    finally:
        store.close()
    assert len(states) == len(lines)
    bad = sum(1 for _, w in LINES if w)
    line_reasons = [r for r in reasons if r.startswith("line ")]
    assert len(line_reasons) == bad
    assert {int(r.split(":")[0].split()[1]) for r in line_reasons} == set(range(2, bad + 2))


def test_a_file_people_write_that_is_not_utf8_is_refused_with_its_line(tmp_path):
    from seamline.errors import ConfigError
    from seamline.runtime import read_jsonl

    path = tmp_path / "golden.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{"b": "caf\xe9"}\n')
    lines = read_jsonl(path)
    assert next(lines) == (1, '{"a": 1}\n')
    with pytest.raises(ConfigError, match="Line 3 of .* is not UTF-8"):
        next(lines)
