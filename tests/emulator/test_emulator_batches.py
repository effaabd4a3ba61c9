"""The emulator serves both batch APIs well enough for the official SDKs, over real HTTP."""

from __future__ import annotations

import json
import time

import anthropic
import openai
import pytest

from seamline.emulator import Emulator, FaultPlan, FaultRule

CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def server():
    with Emulator(lambda req: {"echo": req.user}).serve() as emu:
        yield emu


@pytest.fixture
def emu(server):
    server.reset()
    server.faults = None
    server.batch_delay = 0.0
    server.backend = lambda req: {"echo": req.user}
    yield server


@pytest.fixture
def claude(emu):
    with anthropic.Anthropic(base_url=emu.base_url, api_key="test", max_retries=0) as c:
        yield c


@pytest.fixture
def gpt(emu):
    with openai.OpenAI(base_url=emu.base_url + "/v1", api_key="test", max_retries=0) as c:
        yield c


def _params(text: str, **kw) -> dict:
    return {"model": "claude-emulated", "max_tokens": 100,
            "messages": [{"role": "user", "content": text}], **kw}


def _upload(gpt, bodies: dict[str, dict]) -> str:
    lines = "".join(json.dumps({"custom_id": cid, "method": "POST", "url": CHAT, "body": body})
                    + "\n" for cid, body in bodies.items())
    return gpt.files.create(file=("in.jsonl", lines.encode()), purpose="batch").id


def _chat(text: str) -> dict:
    return {"model": "gpt-emulated", "messages": [{"role": "user", "content": text}]}


def test_an_anthropic_batch_is_in_progress_then_ends_with_one_result_per_request(emu, claude):
    emu.batch_delay = 0.3
    batch = claude.messages.batches.create(requests=[
        {"custom_id": f"r{i}", "params": _params(f"ticket {i}")} for i in range(3)])
    assert batch.id.startswith("msgbatch_") and batch.processing_status == "in_progress"
    assert batch.request_counts.processing == 3 and batch.results_url is None
    assert claude.messages.batches.retrieve(batch.id).processing_status == "in_progress"
    with pytest.raises(anthropic.AnthropicError, match="finished processing"):
        list(claude.messages.batches.results(batch.id))
    time.sleep(0.35)
    ended = claude.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.request_counts.succeeded == 3
    results = {r.custom_id: r.result for r in claude.messages.batches.results(batch.id)}
    assert sorted(results) == ["r0", "r1", "r2"]
    assert json.loads(results["r1"].message.content[0].text) == {"echo": "ticket 1"}
    assert results["r1"].message.usage.input_tokens > 0


def test_an_anthropic_item_hit_by_a_fault_or_invalid_is_errored_and_the_rest_succeed(emu, claude):
    emu.faults = FaultPlan(rules=(FaultRule(kind="overloaded", nth=(2,)),))
    batch = claude.messages.batches.create(requests=[
        {"custom_id": "a", "params": _params("one")},
        {"custom_id": "b", "params": _params("two")},
        {"custom_id": "c", "params": _params("three", max_tokens=0)}])
    counts = claude.messages.batches.retrieve(batch.id).request_counts
    assert (counts.succeeded, counts.errored) == (1, 2)
    results = {r.custom_id: r.result for r in claude.messages.batches.results(batch.id)}
    assert results["a"].type == "succeeded"
    assert results["b"].type == "errored" and results["b"].error.error.type == "overloaded_error"
    assert results["c"].error.error.type == "invalid_request_error"
    assert "max_tokens" in results["c"].error.error.message


def test_a_backend_failure_errors_only_its_own_item(emu, claude):
    emu.backend = lambda req: 1 / 0 if "boom" in req.user else "fine"
    batch = claude.messages.batches.create(requests=[
        {"custom_id": "ok", "params": _params("hello")},
        {"custom_id": "bad", "params": _params("boom")}])
    results = {r.custom_id: r.result for r in claude.messages.batches.results(batch.id)}
    assert results["ok"].message.content[0].text == "fine"
    assert results["bad"].error.error.type == "api_error"
    assert "ZeroDivisionError" in results["bad"].error.error.message


def test_a_bad_anthropic_batch_is_refused_whole(emu, claude):
    with pytest.raises(anthropic.BadRequestError, match="custom_id"):
        claude.messages.batches.create(requests=[
            {"custom_id": "same", "params": _params("x")},
            {"custom_id": "same", "params": _params("y")}])
    with pytest.raises(anthropic.NotFoundError):
        claude.messages.batches.retrieve("msgbatch_unknown")


def test_an_openai_batch_runs_from_an_uploaded_file_to_an_output_file(emu, gpt):
    emu.batch_delay = 0.3
    file_id = _upload(gpt, {"q1": _chat("first"), "q2": _chat("second")})
    batch = gpt.batches.create(input_file_id=file_id, endpoint=CHAT, completion_window="24h")
    assert batch.status == "validating" and batch.input_file_id == file_id
    assert gpt.batches.retrieve(batch.id).status == "in_progress"
    time.sleep(0.35)
    done = gpt.batches.retrieve(batch.id)
    assert done.status == "completed" and done.error_file_id is None
    assert (done.request_counts.total, done.request_counts.completed) == (2, 2)
    lines = [json.loads(x) for x in gpt.files.content(done.output_file_id).text.splitlines()]
    by_id = {line["custom_id"]: line for line in lines}
    assert sorted(by_id) == ["q1", "q2"]
    body = by_id["q2"]["response"]["body"]
    assert by_id["q2"]["response"]["status_code"] == 200 and by_id["q2"]["error"] is None
    assert body["object"] == "chat.completion" and body["usage"]["completion_tokens"] > 0
    assert json.loads(body["choices"][0]["message"]["content"]) == {"echo": "second"}


def test_openai_items_that_fail_go_to_the_error_file(emu, gpt):
    emu.faults = FaultPlan(rules=(FaultRule(kind="rate_limit", nth=(1,)),))
    file_id = _upload(gpt, {"limited": _chat("a"), "fine": _chat("b"),
                            "broken": {"model": "gpt-emulated", "messages": []}})
    done = gpt.batches.retrieve(
        gpt.batches.create(input_file_id=file_id, endpoint=CHAT, completion_window="24h").id)
    assert (done.request_counts.completed, done.request_counts.failed) == (1, 2)
    errors = {json.loads(x)["custom_id"]: json.loads(x)["response"]
              for x in gpt.files.content(done.error_file_id).text.splitlines()}
    assert errors["limited"]["status_code"] == 429
    assert errors["broken"]["status_code"] == 400
    assert errors["broken"]["body"]["error"]["code"] == "empty_array"
    output = gpt.files.content(done.output_file_id).text
    assert [json.loads(x)["custom_id"] for x in output.splitlines()] == ["fine"]


def test_an_openai_input_file_with_broken_lines_fails_the_batch(emu, gpt):
    lines = b'{"custom_id": "x", "method": "POST", "url": "/v1/embeddings", "body": {}}\nnot json\n'
    upload = gpt.files.create(file=("in.jsonl", lines), purpose="batch")
    batch = gpt.batches.create(input_file_id=upload.id, endpoint=CHAT, completion_window="24h")
    assert batch.status == "failed"
    assert [e.code for e in batch.errors.data] == ["mismatched_endpoint", "invalid_json_line"]
    with pytest.raises(openai.NotFoundError):
        gpt.batches.create(input_file_id="file-unknown", endpoint=CHAT, completion_window="24h")


def test_batch_calls_need_a_key_and_are_recorded(emu, gpt):
    emu.api_keys = frozenset({"right"})
    try:
        with pytest.raises(openai.AuthenticationError):
            _upload(gpt, {"q": _chat("x")})
    finally:
        emu.api_keys = None
    record = emu.requests[-1]
    assert record.path == "/v1/files" and record.headers["authorization"] == "Bearer ***"
    assert '"custom_id": "q"' in emu.received_text()
