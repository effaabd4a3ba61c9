"""Rollout flags: on, off or a sticky percentage, flipped at runtime with a reason on record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from seamline.audit import story, verify
from seamline.errors import ConfigError
from seamline.rollout import Flags, FlagState, bucket, parse_state
from seamline.rollout import _flags as flags_module

KEYS = [f"customer-{i}" for i in range(4000)]
SRC = Path(__file__).resolve().parents[2] / "src"


def admitted(state: FlagState, keys=KEYS) -> set[str]:
    return {k for k in keys if state.admits(k)}


# ------------------------------------------------------------------ decisions


def test_the_same_key_always_gets_the_same_decision():
    state = FlagState("refunds.ai", "percent", 50.0)
    first = [state.admits(k) for k in KEYS[:500]]
    again = [FlagState("refunds.ai", "percent", 50.0).admits(k) for k in KEYS[:500]]
    assert first == again
    assert all(0 <= bucket("refunds.ai", k) < 100 for k in KEYS[:500])


def test_the_decision_is_the_same_in_another_process():
    """A customer must not flip between the AI path and the baseline when a worker restarts."""
    state = FlagState("refunds.ai", "percent", 50.0)
    here = sorted(admitted(state, KEYS[:300]))
    code = ("import json; from seamline.rollout import FlagState; s = FlagState('refunds.ai', "
            "'percent', 50.0); print(json.dumps(sorted(k for k in [f'customer-{i}' for i in "
            "range(300)] if s.admits(k))))")
    env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=60)
    assert json.loads(out.stdout) == here


def test_a_quarter_admits_roughly_a_quarter_of_keys():
    share = len(admitted(parse_state("refunds.ai", 25))) / len(KEYS)
    assert 0.20 <= share <= 0.30


def test_on_admits_everyone_and_off_admits_no_one():
    assert admitted(parse_state("f", "on")) == set(KEYS)
    assert admitted(parse_state("f", "off")) == set()
    assert admitted(parse_state("f", 0)) == set()
    assert admitted(parse_state("f", 100)) == set(KEYS)


def test_a_raised_percentage_keeps_everyone_it_admitted_before():
    at_10 = admitted(parse_state("f", 10))
    at_30 = admitted(parse_state("f", 30))
    assert at_10 and at_10 < at_30
    assert len(at_30) > 2 * len(at_10)


def test_a_lowered_percentage_only_drops_keys():
    assert admitted(parse_state("f", 20)) <= admitted(parse_state("f", 60))


# ------------------------------------------------------------------- parsing


@pytest.mark.parametrize("value, mode, percent", [
    ("on", "on", 100.0), (" OFF ", "off", 0.0), ("25", "percent", 25.0), ("25%", "percent", 25.0),
    (12.5, "percent", 12.5), (0, "percent", 0.0), (100, "percent", 100.0),
])
def test_parse_state_reads_on_off_and_percentages(value, mode, percent):
    state = parse_state("f", value)
    assert (state.name, state.mode, state.percent) == ("f", mode, percent)


@pytest.mark.parametrize("value", ["maybe", "", "half", "-1", "100.5", 101, -0.01, "nan", "inf"])
def test_an_invalid_value_raises_config_error(value):
    with pytest.raises(ConfigError):
        parse_state("f", value)


def test_setting_an_invalid_value_raises_and_writes_nothing(store):
    flags = Flags(store)
    with pytest.raises(ConfigError):
        flags.set("refunds.ai", "sometimes", reason="typo")
    assert flags.all() == []
    assert verify(store).rows == 0


# ------------------------------------------------------------- store and cache


def test_an_unset_flag_reads_as_its_default(store):
    flags = Flags(store)
    assert flags.get("refunds.ai").mode == "on"
    assert flags.get("other.ai", default="off").mode == "off"
    state = flags.get("third.ai", default=40)
    assert (state.mode, state.percent) == ("percent", 40.0)


def test_set_takes_effect_at_once_for_the_same_instance(store):
    flags = Flags(store, ttl=3600)
    assert flags.get("refunds.ai").mode == "on"  # now cached for an hour
    flags.set("refunds.ai", "off", reason="incident 42")
    assert flags.get("refunds.ai").mode == "off"


def test_another_instance_with_no_ttl_sees_a_flip_immediately(store):
    reader, writer = Flags(store, ttl=0), Flags(store)
    assert reader.get("refunds.ai").mode == "on"
    writer.set("refunds.ai", 30, reason="canary")
    state = reader.get("refunds.ai")
    assert (state.mode, state.percent) == ("percent", 30.0)


def test_another_instance_sees_a_flip_once_its_ttl_has_passed(store, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(flags_module, "time",
                        types.SimpleNamespace(monotonic=lambda: clock[0], time=time.time))
    reader, writer = Flags(store, ttl=5), Flags(store)
    assert reader.get("refunds.ai").mode == "on"
    writer.set("refunds.ai", "off", reason="incident")
    clock[0] += 4.9
    assert reader.get("refunds.ai").mode == "on"  # still within its TTL: the cached answer
    clock[0] += 0.2
    assert reader.get("refunds.ai").mode == "off"


def test_a_flag_survives_reopening_the_store(tmp_path):
    from seamline.store import open_store

    path = tmp_path / "flags.db"
    first = open_store(path)
    Flags(first).set("refunds.ai", "12.5%", reason="canary")
    first.close()
    second = open_store(path)
    try:
        state = Flags(second).get("refunds.ai")
        assert (state.mode, state.percent) == ("percent", 12.5)
    finally:
        second.close()


def test_setting_a_flag_twice_keeps_one_row_with_the_latest_state(store):
    flags = Flags(store)
    flags.set("refunds.ai", 10, reason="start")
    flags.set("refunds.ai", "on", reason="done")
    rows = flags.all()
    assert len(rows) == 1
    name, mode, percent, reason, _ = rows[0]
    assert (name, mode, percent, reason) == ("refunds.ai", "on", 100.0, "done")


def test_each_set_writes_a_flag_audit_row_with_its_reason(store):
    flags = Flags(store)
    flags.set("refunds.ai", 25, reason="canary for 25% of customers", integration="refunds",
              actor="alice")
    flags.set("refunds.ai", "off", reason="incident 42", integration="refunds")
    rows = [r for r in story(store, "-") if r["kind"] == "flag"]
    assert [r["payload"] for r in rows] == [
        {"flag": "refunds.ai", "mode": "percent", "percent": 25.0,
         "reason": "canary for 25% of customers", "actor": "alice"},
        {"flag": "refunds.ai", "mode": "off", "percent": 0.0, "reason": "incident 42",
         "actor": "cli"},
    ]
    assert verify(store).ok
