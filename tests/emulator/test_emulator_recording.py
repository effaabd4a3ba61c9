"""Every request is recorded as received, secrets masked, and the server leaves nothing behind."""

from __future__ import annotations

import threading

import anthropic
import httpx
import openai
import pytest

from seamline.emulator import Emulator, FaultPlan, FaultRule


def test_requests_are_recorded_with_the_api_key_masked():
    with Emulator().serve() as emu:
        with anthropic.Anthropic(base_url=emu.base_url, api_key="sk-secret-123",
                                 max_retries=0) as a:
            a.messages.create(model="m", max_tokens=20, system="Classify.",
                              messages=[{"role": "user", "content": "Ticket from <EMAIL_1>"}])
        with openai.OpenAI(base_url=emu.base_url + "/v1", api_key="sk-secret-456",
                           max_retries=0) as o:
            o.chat.completions.create(model="g", messages=[{"role": "user", "content": "hi"}])
        first, second = emu.requests
    assert (first.provider, first.method, first.path) == ("anthropic", "POST", "/v1/messages")
    assert first.body["messages"][0]["content"] == "Ticket from <EMAIL_1>"
    assert first.headers["authorization"] == "Bearer ***"
    assert second.path == "/v1/chat/completions" and second.body["model"] == "g"
    recorded = repr(emu.requests)
    assert "sk-secret" not in recorded and "sk-secret" not in emu.received_text()
    assert first.at <= second.at


def test_a_test_can_prove_a_value_never_reached_the_provider():
    with Emulator().serve() as emu:
        httpx.post(emu.base_url + "/v1/chat/completions",
                   headers={"authorization": "Bearer k"},
                   json={"model": "g", "messages": [{"role": "user", "content": "from <EMAIL_1>"}]})
    assert "ana@example.com" not in emu.received_text()
    assert "<EMAIL_1>" in emu.received_text()


def test_refused_and_failed_requests_are_recorded_too():
    emu = Emulator(faults=FaultPlan(rules=(FaultRule(kind="reset"),)))
    with emu.serve():
        httpx.post(emu.base_url + "/v1/messages", content=b"not json")  # no key: a 401
        with pytest.raises(httpx.HTTPError):
            httpx.post(emu.base_url + "/v1/messages", content=b"{}",
                       headers={"x-api-key": "k", "anthropic-version": "2023-06-01"})
    assert [(r.body, r.fault) for r in emu.requests] == [(None, None), ({}, "reset")]
    assert emu.requests[1].headers["x-api-key"] == "***"
    emu.reset()
    assert emu.requests == []


def test_stop_releases_hanging_requests_and_the_port():
    emu = Emulator(faults=FaultPlan(rules=(FaultRule(kind="hang", seconds=60),)))
    emu.start()
    url = emu.base_url
    with pytest.raises(httpx.TimeoutException):
        httpx.post(url + "/v1/chat/completions", headers={"authorization": "Bearer k"},
                   json={"model": "g", "messages": []}, timeout=0.2)
    emu.stop()
    assert not [t for t in threading.enumerate() if t.name == "seamline-emulator"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/v1/messages", timeout=1)
    emu.stop()  # stopping twice is harmless
