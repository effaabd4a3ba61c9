"""Each fault surfaces as the SDK exception a real provider's failure would produce."""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import openai
import pytest

from seamline.emulator import Emulator, FaultPlan, FaultRule, Latency, ScriptBackend
from seamline.errors import ConfigError

REPLY = {"label": "refund", "note": "a reply long enough to be cut in half"}


@pytest.fixture(scope="module")
def server():
    with Emulator(seed=7).serve() as emu:
        yield emu


@pytest.fixture
def emu(server):
    server.faults = None
    server.reset()
    server.backend = ScriptBackend([REPLY])
    yield server
    server.faults = None


@pytest.fixture
def claude(emu):
    with anthropic.Anthropic(base_url=emu.base_url, api_key="test", max_retries=0) as c:
        yield c


@pytest.fixture
def gpt(emu):
    with openai.OpenAI(base_url=emu.base_url + "/v1", api_key="test", max_retries=0) as c:
        yield c


def ask_claude(client, **kw):
    return client.messages.create(model="claude-emulated", max_tokens=200,
                                  messages=[{"role": "user", "content": "refund?"}], **kw)


def ask_gpt(client, **kw):
    return client.chat.completions.create(model="gpt-emulated",
                                          messages=[{"role": "user", "content": "refund?"}], **kw)


def plan(kind: str, **kw) -> FaultPlan:
    return FaultPlan(rules=(FaultRule(kind=kind, **kw),))


def test_rate_limit_is_a_429_with_retry_after(emu, claude, gpt):
    emu.faults = plan("rate_limit", retry_after=2)
    with pytest.raises(anthropic.RateLimitError) as a:
        ask_claude(claude)
    assert a.value.response.headers["retry-after"] == "2"
    assert a.value.body["error"]["type"] == "rate_limit_error"
    with pytest.raises(openai.RateLimitError) as o:
        ask_gpt(gpt)
    assert o.value.response.headers["retry-after"] == "2"
    assert o.value.response.headers["retry-after-ms"] == "2000"
    assert o.value.code == "rate_limit_exceeded"


@pytest.mark.parametrize("kind, status", [("server_error", 500), ("unavailable", 503)])
def test_server_failures_are_internal_server_errors(emu, claude, gpt, kind, status):
    emu.faults = plan(kind)
    with pytest.raises(anthropic.InternalServerError) as a:
        ask_claude(claude)
    with pytest.raises(openai.InternalServerError) as o:
        ask_gpt(gpt)
    assert a.value.status_code == o.value.status_code == status
    assert a.value.body["error"]["type"] == "api_error"
    assert o.value.body["type"] == "server_error"


def test_overloaded_is_anthropics_529_and_openais_503(emu, claude, gpt):
    emu.faults = plan("overloaded")
    with pytest.raises(anthropic.OverloadedError) as a:
        ask_claude(claude)
    assert a.value.status_code == 529 and a.value.body["error"]["type"] == "overloaded_error"
    with pytest.raises(openai.InternalServerError) as o:
        ask_gpt(gpt)
    assert o.value.status_code == 503


def test_a_hang_past_the_client_timeout_is_a_timeout(emu, claude, gpt):
    emu.faults = plan("hang", seconds=1.0)
    with pytest.raises(anthropic.APITimeoutError):
        ask_claude(claude.with_options(timeout=0.3))
    with pytest.raises(openai.APITimeoutError):
        ask_gpt(gpt.with_options(timeout=0.3))


def test_a_hang_shorter_than_the_timeout_only_delays(emu, claude):
    emu.faults = plan("hang", seconds=0.3)
    started = time.monotonic()
    assert ask_claude(claude).stop_reason == "end_turn"
    assert time.monotonic() - started >= 0.3


def test_a_reset_is_a_connection_error_not_a_timeout(emu, claude, gpt):
    emu.faults = plan("reset")
    with pytest.raises(anthropic.APIConnectionError) as a:
        ask_claude(claude)
    with pytest.raises(openai.APIConnectionError) as o:
        ask_gpt(gpt)
    assert not isinstance(a.value, anthropic.APITimeoutError)
    assert not isinstance(o.value, openai.APITimeoutError)


@pytest.mark.parametrize("kind", ["malformed_json", "truncated_json"])
def test_a_broken_body_is_the_sdks_json_decode_error(emu, claude, gpt, kind):
    # Both SDKs let json.JSONDecodeError through for a 200 whose body does not parse.
    emu.faults = plan(kind)
    with pytest.raises(json.JSONDecodeError):
        ask_claude(claude)
    with pytest.raises(json.JSONDecodeError):
        ask_gpt(gpt)
    r = httpx.post(emu.base_url + "/v1/chat/completions", headers={"authorization": "Bearer k"},
                   json={"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"


def test_a_max_tokens_fault_cuts_the_text_and_says_so(emu, claude, gpt):
    emu.faults = plan("max_tokens")
    msg = ask_claude(claude)
    assert msg.stop_reason == "max_tokens"
    assert len(msg.content[0].text) < len(json.dumps(REPLY))
    done = ask_gpt(gpt)
    assert done.choices[0].finish_reason == "length"
    with pytest.raises(ValueError):
        json.loads(done.choices[0].message.content)


def test_malformed_content_is_a_valid_reply_whose_json_is_broken(emu, gpt):
    emu.faults = plan("malformed_content")
    done = ask_gpt(gpt)
    assert done.choices[0].finish_reason == "stop"
    with pytest.raises(ValueError):
        json.loads(done.choices[0].message.content)


def test_a_stream_reset_midway_never_completes(emu, claude, gpt):
    emu.faults = plan("reset")
    with pytest.raises((httpx.HTTPError, anthropic.APIError)):
        with claude.messages.stream(model="m", max_tokens=100,
                                    messages=[{"role": "user", "content": "x"}]) as s:
            s.get_final_message()
    with pytest.raises((httpx.HTTPError, openai.APIError)):
        list(ask_gpt(gpt, stream=True))


def test_the_first_n_requests_fail_then_the_provider_recovers(emu, claude):
    emu.faults = plan("server_error", first=2)
    for _ in range(2):
        with pytest.raises(anthropic.InternalServerError):
            ask_claude(claude)
    assert ask_claude(claude).stop_reason == "end_turn"
    assert [r.fault for r in emu.requests] == ["server_error", "server_error", None]


def test_every_nth_and_listed_requests(emu, gpt):
    emu.faults = FaultPlan(rules=(FaultRule(kind="unavailable", every=3),
                                  FaultRule(kind="rate_limit", nth=(1,))))
    outcomes = []
    for _ in range(6):
        try:
            ask_gpt(gpt)
            outcomes.append("ok")
        except openai.APIStatusError as exc:
            outcomes.append(exc.status_code)
    assert outcomes == [429, "ok", 503, "ok", "ok", 503]


def test_a_rule_for_one_provider_leaves_the_other_alone(emu, claude, gpt):
    emu.faults = plan("server_error", provider="openai")
    assert ask_claude(claude).stop_reason == "end_turn"
    with pytest.raises(openai.InternalServerError):
        ask_gpt(gpt)


def test_seeded_probability_faults_replay_exactly(emu, gpt):
    def run() -> list[str | None]:
        emu.reset()
        for _ in range(16):
            try:
                ask_gpt(gpt)
            except openai.APIStatusError:
                pass
        return [r.fault for r in emu.requests]

    emu.faults = FaultPlan(rules=(FaultRule(kind="rate_limit", p=0.3),
                                  FaultRule(kind="server_error", p=0.3)))
    first, second = run(), run()
    assert first == second
    assert {"rate_limit", None} <= set(first)
    emu.faults = FaultPlan(rules=emu.faults.rules, seed=12345)
    assert run() != first


def test_the_sdks_own_retry_honours_retry_after(emu, claude):
    emu.faults = plan("rate_limit", first=1, retry_after=0)
    assert ask_claude(claude.with_options(max_retries=1)).stop_reason == "end_turn"
    assert [r.fault for r in emu.requests] == ["rate_limit", None]


@pytest.mark.parametrize("latency, at_least", [
    (Latency.fixed(0.25), 0.25),
    (Latency.uniform(0.2, 0.3), 0.2),
])
def test_latency_delays_every_answer(emu, claude, latency, at_least):
    emu.faults = FaultPlan(latency=latency)
    for _ in range(2):
        started = time.monotonic()
        ask_claude(claude)
        assert time.monotonic() - started >= at_least


def test_lognormal_latency_is_positive(emu, gpt):
    emu.faults = FaultPlan(latency=Latency.lognormal(median=0.05, sigma=0.3))
    started = time.monotonic()
    ask_gpt(gpt)
    assert time.monotonic() - started > 0


def test_a_plan_loads_from_yaml_and_json(tmp_path):
    (tmp_path / "plan.yaml").write_text(
        "seed: 3\nlatency: {kind: uniform, low: 0.01, high: 0.02}\n"
        "rules:\n  - {kind: rate_limit, retry_after: 5, p: 0.1}\n"
        "  - {kind: hang, seconds: 2, every: 10}\n")
    loaded = FaultPlan.load(tmp_path / "plan.yaml")
    assert loaded.seed == 3 and loaded.latency == Latency.uniform(0.01, 0.02)
    assert loaded.rules[1] == FaultRule(kind="hang", seconds=2, every=10)
    (tmp_path / "plan.json").write_text(loaded.model_dump_json())
    assert FaultPlan.load(tmp_path / "plan.json") == loaded


@pytest.mark.parametrize("text", [
    "rules: [{kind: explode}]",
    "rules: [{kind: reset, p: 0.5, first: 2}]",
    "rules: [{kind: reset, probability: 0.5}]",
    "rules: [",
])
def test_a_bad_plan_is_a_config_error(tmp_path, text):
    (tmp_path / "plan.yaml").write_text(text)
    with pytest.raises(ConfigError):
        FaultPlan.load(tmp_path / "plan.yaml")
