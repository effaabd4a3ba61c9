"""Redaction does work linear in the length of its input, counted rather than timed.

For each hostile family the same text is redacted at n and 10n characters, and what is
counted (Python lines run inside ``seamline.ingest``, calls into the phone matcher and the
characters handed to it, spans found) may grow at most ~10x. Quadratic code grows ~100x.
Regular-expression time is not counted here: ``benchmarks/redaction.py`` times it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import seamline.ingest
from seamline.ingest import _phones, redact

INGEST_DIR = str(Path(seamline.ingest.__file__).parent)
N = 3_000
LINEAR = 13  # 10x the text may cost at most 13x the work (constants make it a bit above 10)

FAMILIES = {
    "emails": "a@b.co ",
    "cards": "4242 ",
    "ipv4": "1.2.3.4 ",
    "ipv6": "fe80::1 ",
    "colons": "::",
    "ssn": "123-45-6789 ",
    "iban": "DE89 3704 0044 0532 0130 00 ",
    "iban-heads": "DE89 ",
    "passwords": "password: hunter2 ",
    "assignments": "token:",
    "aws": "aws_secret_key=",
    "openai-prefix": "sk-",
    "bearer": "Bearer abcdefghijklmnopqrstu ",
    "phones-spaced": "+1 415 555 0132 ",
    "phones-dotted": "415.555.0132 ",
    "phones-bracketed": "(415) 555-0132 ",
    "phone-heads": "+1 415 ",
    "ats": "@",
    "dashes": "-",
    "digit-soup": "1 (2) 3-4.5/6 ",
    "slashes": "1/",
    "digits": "7",
    "one-word": "a",
    "placeholders": "<EMAIL_1> ",
    "mixed": "mail a@b.co, card 4242 4242 4242 4242, call (415) 555-0132, ip 10.0.0.1. ",
    # People's kinds: capitalised words, greetings, titles, street lines, birth and id words.
    "capitals": "Abc ",
    "names": "Hi Sarah Lee, ",
    "unknown-names": "met Qorvan Zelt and ",
    "titles": "Mr. ",
    "sign-offs": "Thanks,\nRenee\n",
    "streets": "12 Baker Street, London NW1 6XE ",
    "births": "born 01/02/1980 ",
    "ids": "passport X1234567 ",
    "dni": "53464097E ",
    "japanese": "田中様 ",
}


def _varied(shape: str):
    # No two windows alike, so the matcher's answers cannot be reused: its true cost.
    return lambda size: " ".join(shape.format(i % 10_000) for i in range(size // len(shape)))


VARIED = {
    "phones-dotted-varied": _varied("415.555.{:04d}"),
    "phones-bracketed-varied": _varied("(415) 555-{:04d}"),
    "digit-soup-varied": _varied("1 (2) 3-4.5/{:04d}"),
    "log-lines-varied": _varied("06-11 19:02:02.834  12873  1{:04d} W x\n"),
}


def _work(text: str, monkeypatch) -> dict[str, int]:
    counts = {"lines": 0, "matcher_calls": 0, "matcher_chars": 0}
    real = _phones._match

    def line(frame, event, arg):
        if event == "line":
            counts["lines"] += 1
        return line

    def call(frame, event, arg):
        # Only frames of the ingest package are traced line by line.
        return line if frame.f_code.co_filename.startswith(INGEST_DIR) else None

    def counting(window, region, offset):
        counts["matcher_calls"] += 1
        counts["matcher_chars"] += len(window)
        sys.settrace(None)  # phonenumbers' own lines are counted as characters handed to it
        try:
            return real(window, region, offset)
        finally:
            sys.settrace(call)

    monkeypatch.setattr(_phones, "_match", counting)
    sys.settrace(call)
    try:
        r = redact(text)
    finally:
        sys.settrace(None)
    counts["spans"] = len(r.entities)
    return counts


def _assert_linear(small: dict[str, int], large: dict[str, int]) -> None:
    for what, n in small.items():
        assert large[what] <= LINEAR * max(n, 1) + 50, (what, n, large[what])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("unit", FAMILIES.values(), ids=FAMILIES.keys())
def test_ten_times_the_text_costs_at_most_about_ten_times_the_work(unit, monkeypatch):
    small = _work(unit * (N // len(unit)), monkeypatch)
    large = _work(unit * (10 * N // len(unit)), monkeypatch)
    _assert_linear(small, large)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("make", VARIED.values(), ids=VARIED.keys())
def test_numbers_that_never_repeat_cost_the_matcher_linear_work_too(make, monkeypatch):
    small, large = _work(make(N), monkeypatch), _work(make(10 * N), monkeypatch)
    _assert_linear(small, large)
    assert large["matcher_chars"] < 4 * 10 * N  # each character handed over a few times at most


def test_no_long_window_reaches_the_phone_matcher_whole(monkeypatch):
    seen: list[int] = []
    real = _phones._match
    monkeypatch.setattr(_phones, "_match",
                        lambda w, region, offset: seen.append(len(w)) or real(w, region, offset))
    text = " ".join(f"415.555.{i:04d}" for i in range(2_000))  # one window of 26 KB
    r = redact(text)
    assert seen and max(seen) <= _phones.MATCHER_WINDOW + 2  # one character of context each side
    assert len(r.entities) == 2_000 and sum(seen) < 1.4 * len(text)


def test_a_list_of_numbers_is_read_one_number_at_a_time(monkeypatch):
    # Handed "415.555.0000 415.555.0001 …" whole, the matcher read one candidate across many
    # numbers and tried ~17 readings in it for each number found (a minute per megabyte).
    seen: list[str] = []
    real = _phones._match
    monkeypatch.setattr(_phones, "_match",
                        lambda w, region, offset: seen.append(w) or real(w, region, offset))
    numbers = [f"415.555.{i:04d}" for i in range(300)]
    r = redact(" ".join(numbers))
    assert [e.value for e in r.entities] == numbers
    assert len(seen) == 300 and max(map(len, seen)) <= 14


def test_the_columns_of_a_log_are_not_read_as_one_phone_number():
    log = "\n".join(f"06-11 19:02:02.{i:03d}  1287{i % 10}  {13000 + i} W Sync: token expired"
                    for i in range(50))
    assert [e for e in redact(log).entities if e.kind == "PHONE"] == []
    assert redact("call me on 0161 496 0018 or\t+44 20 7946 0958").text == (
        "call me on <PHONE_1> or\t<PHONE_2>")
