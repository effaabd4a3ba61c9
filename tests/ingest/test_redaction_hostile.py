"""Redaction under hostile input: long runs of what each detector looks for still finish and
are still redacted, and no PII survives in numbers, keys or nested values of any event.

The sizes here (250 KB) once took 20-45 s each; the timeout is a safety net, not the check.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Ticket
from pydantic import BaseModel, Field

from seamline import errors
from seamline.errors import InputInvalid
from seamline.ingest import RedactionSession, ingest_event, redact, redact_fields

SIZE = 250_000


def repeated(unit: str, size: int = SIZE) -> str:
    return unit * (size // len(unit))


# (unit repeated to 250 KB, what each unit becomes)
RUNS = [
    ("a@b.co ", "<EMAIL_1> "),
    ("1.2.3.4 ", "<IP_1> "),
    ("fe80::1 ", "<IP_1> "),
    ("123-45-6789 ", "<SSN_1> "),
    ("(415) 555-0132 ", "<PHONE_1> "),
    ("415.555.0132 ", "<PHONE_1> "),  # one endless phone window
    ("DE89 3704 0044 0532 0130 00 ", "<IBAN_1> "),
    ("password: hunter2 ", "password: <SECRET_1> "),
    ("Bearer abcdefghijklmnopqrstu ", "Bearer <SECRET_1> "),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("unit", "becomes"), RUNS, ids=[u.strip() for u, _ in RUNS])
def test_a_long_run_of_one_value_is_redacted_everywhere_under_one_placeholder(unit, becomes):
    text = repeated(unit)
    r = redact(text)
    assert r.text == becomes * (len(text) // len(unit))
    assert len({e.placeholder for e in r.entities}) == 1
    assert {e.value for e in r.entities} == {unit.strip().removeprefix("password: ")
                                             .removeprefix("Bearer ")}


@pytest.mark.timeout(60)
def test_a_long_run_of_card_numbers_becomes_cards_four_groups_at_a_time():
    # "4242 " × N is one digit run; every four groups are the same test card.
    text = repeated("4242 " * 4)
    r = redact(text)
    assert r.text == "<CARD_1> " * (len(text) // 20)
    assert {e.value for e in r.entities} == {"4242 4242 4242 4242"}


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "unit", ["sk-", "::", "DE89 ", "+1 415 ", "@", "-", "1/", "a", "1 ", "eyJ.", "1.", "1-", "a:"]
)
def test_long_runs_of_a_detectors_trigger_that_hold_no_pii_finish_untouched(unit):
    text = repeated(unit)
    assert redact(text).text == text


@pytest.mark.timeout(60)
@pytest.mark.parametrize("unit", ["token:", "pwd=", "aws_secret_key="])
def test_long_runs_of_overlapping_secret_assignments_finish_as_secrets(unit):
    r = redact(repeated(unit))
    assert r.entities and {e.kind for e in r.entities} == {"SECRET"}


@pytest.mark.timeout(60)
def test_a_private_key_block_left_open_is_redacted_to_the_end():
    assert redact(repeated("-----BEGIN PRIVATE KEY----- ")).text == "<SECRET_1>"


@pytest.mark.timeout(60)
def test_a_card_glued_into_every_phone_window_is_still_a_card():
    text = repeated("call (415) 555-0132 or pay 4242 4242 4242 4242; ")
    r = redact(text)
    assert "4242" not in r.text and "555" not in r.text
    assert {e.kind for e in r.entities} == {"PHONE", "CARD"}


# --- numbers, keys and nesting ----------------------------------------------------------

CARD = 4242424242424242


def _dumped(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, default=str)


def test_an_invalid_events_int_card_and_email_keys_never_come_out_raw():
    raw = {
        "ticket_id": "",  # invalid: empty
        "body": CARD,  # invalid: not a string
        "ann@example.com": "hi",
        "meta": {"bob@example.com": [CARD, {"carol@example.com": 4155550132}], "n": 3},
    }
    with pytest.raises(InputInvalid):
        ingest_event(raw, schema=Ticket, pii={})
    payload, secrets = redact_fields(raw, {})  # what the dead-letter path stores
    out = _dumped(payload)
    for value in ("4242424242424242", "ann@example.com", "bob@example.com", "carol@example.com",
                  "4155550132"):
        assert value not in out, out
    assert set(secrets.values()) >= {"4242424242424242", "ann@example.com", "bob@example.com",
                                     "carol@example.com"}
    assert payload["body"] == "<CARD_1>" and payload["meta"]["n"] == 3
    assert payload["<EMAIL_1>"] == "hi"


def test_numbers_booleans_and_none_that_are_not_pii_keep_their_type():
    payload, secrets = redact_fields(
        {"n": 42, "price": 19.99, "ok": True, "none": None, "big": 12345678901234567890,
         "nested": [1, 2.5, False, None]}, {})
    assert payload == {"n": 42, "price": 19.99, "ok": True, "none": None,
                       "big": 12345678901234567890, "nested": [1, 2.5, False, None]}
    assert secrets == {}


def test_a_float_holding_a_card_number_is_redacted():
    payload, _ = redact_fields({"amount": float(CARD)}, {})
    assert payload == {"amount": "<CARD_1>"}


def test_keys_share_placeholders_with_values_and_two_keys_never_collide():
    session = RedactionSession()
    payload, secrets = redact_fields(
        {"to": "ann@example.com", "seen": {"ann@example.com": 1, "ANN@example.com": 2}}, {},
        session=session)
    assert payload["to"] == "<EMAIL_1>"
    assert set(payload["seen"]) == {"<EMAIL_1>", "<EMAIL_1> (2)"}
    assert sorted(payload["seen"].values()) == [1, 2]
    assert "ann@example.com" not in _dumped(payload) and secrets["<EMAIL_1>"] == "ann@example.com"


def test_a_valid_events_free_form_dict_has_its_keys_and_int_leaves_redacted():
    class WithMeta(Ticket):
        meta: dict[str, Any] = Field(default_factory=dict)

    ev = ingest_event(
        {"ticket_id": "T-1", "body": "hello",
         "meta": {"dan@example.com": {"card": CARD, "tags": ["vip", 7]}, "count": 2}},
        schema=WithMeta, pii={"ticket_id": "allow"})
    assert ev.data["meta"] == {"<EMAIL_1>": {"card": "<CARD_1>", "tags": ["vip", 7]}, "count": 2}
    assert ev.secrets == {"<EMAIL_1>": "dan@example.com", "<CARD_1>": "4242424242424242"}


def test_a_masked_field_masks_numbers_and_keys_too():
    payload, secrets = redact_fields({"who": {"ann@example.com": CARD}}, {"who": "mask"})
    out = _dumped(payload)
    assert "ann@example.com" not in out and "4242424242424242" not in out and secrets == {}
    assert payload["who"] == {"a***@example.com": "************4242"}


def test_nesting_of_any_depth_is_redacted_without_recursion():
    deep: Any = "eve@example.com"
    for _ in range(50_000):
        deep = [deep]
    payload, secrets = redact_fields({"body": deep}, {})
    inner = payload["body"]
    for _ in range(50_000):
        inner = inner[0]
    assert inner == "<EMAIL_1>" and secrets == {"<EMAIL_1>": "eve@example.com"}


def test_a_value_that_holds_itself_is_copied_once_with_a_note_where_it_refers_back():
    meta: dict[str, Any] = {"to": "ann@example.com"}
    meta["again"] = meta
    payload, _ = redact_fields({"meta": meta}, {}, cpu_budget_s=10)
    assert payload == {"meta": {"to": "<EMAIL_1>",
                                "again": "[a reference back to an enclosing value]"}}


def test_allowed_and_dropped_fields_keep_their_policy():
    payload, _ = redact_fields({"id": CARD, "secret": CARD, "body": CARD},
                               {"id": "allow", "secret": "drop"})
    assert payload == {"id": CARD, "body": "<CARD_1>"}


# --- the CPU budget ----------------------------------------------------------------------


class Note(BaseModel):
    body: str


def test_an_event_over_its_cpu_budget_is_refused_with_a_sentence_and_no_content():
    exceeded = errors.IngestBudgetExceeded
    assert issubclass(exceeded, InputInvalid)
    body = repeated("call 415.555.0132 or ann@example.com ")
    with pytest.raises(exceeded) as exc:
        ingest_event({"body": body}, schema=Note, pii={}, cpu_budget_s=1e-9)
    message = str(exc.value)
    assert "CPU" in message and "250 KB" in message and "dead-lettered" in message
    assert "415" not in message and "example.com" not in message


def test_the_budget_stops_redaction_inside_a_long_field_not_after_it(monkeypatch):
    from seamline.ingest import _phones

    calls = []
    real = _phones._match

    def counting(window, region, offset):
        calls.append(len(window))
        return real(window, region, offset)

    monkeypatch.setattr(_phones, "_match", counting)
    # One phone window of 1 MB, no two numbers alike: a full pass hands the matcher over a
    # million characters, some 80 s of CPU; the budget stops it within a piece or two.
    body = " ".join(f"415.555.{i % 10_000:04d}" for i in range(80_000))
    with pytest.raises(errors.IngestBudgetExceeded):
        redact_fields({"body": body}, {}, kinds=["PHONE"], cpu_budget_s=0.05)
    assert sum(calls) < 3 * _phones.MATCHER_WINDOW


def test_within_the_default_budget_a_big_realistic_event_is_ingested():
    body = repeated("Hi, my card 4242 4242 4242 4242 was charged twice; call me on "
                    "(415) 555-0132 or write to ann@example.com. Order #4521 from 2024-03-15. ")
    ev = ingest_event({"body": body}, schema=Note, pii={})
    assert "4242" not in ev.data["body"] and "ann@example.com" not in ev.data["body"]


def test_the_refusal_path_can_bound_its_own_redaction_too():
    with pytest.raises(errors.IngestBudgetExceeded):
        redact_fields({"body": repeated("a@b.co ")}, {}, cpu_budget_s=1e-9)
