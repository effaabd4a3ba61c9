"""The one decoder of events: what an attacker sends is a value or a sentence, never a crash.

Every refusal is an InputInvalid whose sentence names the problem and its place, and is
itself safe to store and to send back (ASCII, no NUL, no surrogate).
"""

from __future__ import annotations

import json
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seamline.errors import InputInvalid
from seamline.ingest import MAX_INT_DIGITS, MAX_NESTING, check_value, decode_event, storable_text


def refused(data) -> str:
    with pytest.raises(InputInvalid) as info:
        decode_event(data)
    return str(info.value)


def refused_value(value) -> str:
    with pytest.raises(InputInvalid) as info:
        check_value(value)
    return str(info.value)


def assert_storable(sentence: str) -> None:
    assert sentence.isascii() and "\x00" not in sentence


def nested(depth: int, inner: str = "1") -> str:
    return '{"a":' * depth + inner + "}" * depth


# ---- what is accepted ------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    '{"ticket_id": "T-1", "body": "caf\\u00e9 \\ud83d\\ude00 \u00e9\u6f22\U0001f600"}',
    '[1, -2.5, 1e308, -0, true, false, null, "x"]',
    '"just a string"',
    '{"a": {"b": [{"c": []}]}, "d": {}}',
    "  \n {\"spaced\": 1}\r\n",
])
def test_valid_json_decodes_as_json_does(text):
    assert decode_event(text) == json.loads(text)
    assert decode_event(text.encode()) == json.loads(text)


def test_a_byte_order_mark_is_ignored():
    assert decode_event(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    assert decode_event('\ufeff{"a": 1}') == {"a": 1}


def test_nesting_up_to_the_limit_is_accepted_and_brackets_in_strings_do_not_count():
    assert MAX_NESTING == 64
    assert decode_event(nested(MAX_NESTING))["a"]["a"]["a"]
    assert decode_event("[" * MAX_NESTING + "]" * MAX_NESTING)
    brackets = "[{" * 50_000
    assert decode_event(json.dumps({"body": brackets, "q": "\\\"[[["})) == {
        "body": brackets, "q": "\\\"[[["}


def test_the_largest_integer_and_a_tiny_float_are_accepted():
    assert decode_event("9" * MAX_INT_DIGITS) == int("9" * MAX_INT_DIGITS)
    assert decode_event("-" + "9" * MAX_INT_DIGITS) < 0
    assert decode_event("1e-999") == 0.0


def test_the_same_key_in_different_objects_is_not_a_duplicate():
    assert decode_event('{"a": {"id": 1}, "b": {"id": 2}, "id": 3}')["id"] == 3


# ---- what is refused, and the sentence -----------------------------------------------------


def test_bytes_that_are_not_utf8_are_refused_with_the_byte_and_line():
    sentence = refused(b'{"a": 1,\n "b": "caf\xe9"}')
    assert "not valid UTF-8" in sentence and "byte 20, line 2" in sentence and "line 2" in sentence
    assert "0xe9" in sentence
    assert "not valid UTF-8" in refused(b"\x80abc")
    assert "not valid UTF-8" in refused(b'"\xc3"')  # cut off in the middle of a character


def test_an_encoded_surrogate_is_invalid_utf8_and_says_so():
    sentence = refused(b'{"a": "\xed\xa0\x80"}')
    assert "not valid UTF-8" in sentence and "surrogate" in sentence


def test_utf16_is_refused_as_not_utf8():
    assert "UTF-16" in refused('{"a": 1}'.encode("utf-16-le"))
    assert "UTF-16" in refused('{"a": 1}'.encode("utf-16"))


@pytest.mark.parametrize("text, place", [
    ('{"body": "\\ud800"}', "$.body"),
    ('{"body": "ok \\udfff tail"}', "$.body"),
    ('{"a": [1, {"b": "x\\ud83d"}]}', "$.a[1].b"),
    ('{"\\ud800": 1}', "$"),
    ('"\\udc00"', "$"),
    ('["\\ude00\\ud83d"]', "$[0]"),  # a pair in the wrong order is two lone surrogates
])
def test_an_escaped_lone_surrogate_is_refused_with_its_place(text, place):
    sentence = refused(text)
    assert "lone surrogate" in sentence and place in sentence
    assert_storable(sentence)


def test_a_raw_lone_surrogate_in_text_is_refused_with_line_and_column():
    sentence = refused('{"a": 1,\n "body": "x\ud800"}')
    assert "lone surrogate (U+D800)" in sentence and "line 2, column 12" in sentence
    assert_storable(sentence)


def test_nul_is_refused_raw_or_escaped_in_keys_or_values():
    assert "NUL" in refused(b'{"a": "x\x00y"}') and "line 1, column 9" in refused('{"a": "x\x00y"}')
    assert "NUL" in refused(b'{"a": 1}\x00')
    value = refused('{"body": "x\\u0000y"}')
    assert "NUL" in value and "$.body" in value
    key = refused('{"ok": {"bad\\u0000key": 1}}')
    assert "NUL" in key and "key" in key and "$.ok" in key
    assert_storable(key)


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 1000, 100_000, 1_000_000])
def test_deep_nesting_is_refused_quickly_without_recursion(depth):
    t = time.perf_counter()
    for text in ("[" * depth + "]" * depth, nested(depth), "[" * depth):
        sentence = refused(text)
        assert f"nested deeper than {MAX_NESTING} levels" in sentence
        assert f"column {MAX_NESTING + 1}" in sentence or "line 1" in sentence
    assert time.perf_counter() - t < 3.0


def test_deep_nesting_is_found_past_brackets_inside_strings():
    text = '{"s": "' + "]" * 500 + '", "deep": ' + "[" * 70 + "]" * 70 + "}"
    assert "nested deeper" in refused(text)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(literal):
    sentence = refused(f'{{"amount": {literal}}}')
    assert literal in sentence and "not a JSON number" in sentence


@pytest.mark.parametrize("literal", ["1e999", "-1e999", "1" + "0" * 400 + ".0"])
def test_a_float_that_overflows_to_infinity_is_refused(literal):
    sentence = refused(f'{{"amount": {literal}}}')
    assert "too large to be a finite number" in sentence
    assert len(sentence) < 200


def test_an_integer_longer_than_the_limit_is_refused_with_its_length():
    sentence = refused('{"n": %s}' % ("7" * 5000))
    assert "5000 digits" in sentence and str(MAX_INT_DIGITS) in sentence
    assert "4301 digits" in refused("-" + "1" * (MAX_INT_DIGITS + 1))


def test_a_duplicate_key_is_refused_naming_the_key():
    sentence = refused('{"ticket_id": "T-1", "body": "nice", "body": "evil"}')
    assert '"body" twice' in sentence
    assert "twice" in refused('{"a": {"x": 1, "x": 1}}')
    assert_storable(refused('{"\\u00e9\\ud83d\\ude00": 1, "\\u00e9\\ud83d\\ude00": 2}'))


def test_syntax_errors_say_not_valid_json_with_line_and_column():
    sentence = refused('{"a": 1,\n "b": }')
    assert "not valid JSON" in sentence and "line 2, column 7" in sentence
    assert "not valid JSON" in refused("")
    assert "not valid JSON" in refused('{"a": "unterminated [[[[')


# ---- events that arrive decoded ------------------------------------------------------------------


def test_check_value_accepts_what_json_would_decode():
    shared = [1, 2]
    assert check_value({"a": [shared, shared, {"b": None, "c": True, "d": 1.5}], "e": "é"}) is None
    assert check_value([]) is None and check_value("x") is None and check_value(10 ** 4000) is None


@pytest.mark.parametrize("value, words", [
    ({"body": "x\ud800"}, ["lone surrogate", "$.body"]),
    ({"k\udc80": 1}, ["lone surrogate", "key"]),
    ({"a": ["ok", "nul\x00"]}, ["NUL", "$.a[1]"]),
    ({"\x00": 1}, ["NUL", "key"]),
    ({"amount": math.nan}, ["nan", "$.amount"]),
    ({"amount": [-math.inf]}, ["inf", "$.amount[0]"]),
    ({1: "x"}, ["key of type int", "strings"]),
    ({"a": {(1, 2): "x"}}, ["key of type tuple", "$.a"]),
    ({"n": 10 ** 5000}, [f"longer than {MAX_INT_DIGITS} digits", "$.n"]),
    ({"n": -(10 ** MAX_INT_DIGITS)}, ["longer than"]),
])
def test_check_value_refuses_with_the_place(value, words):
    sentence = refused_value(value)
    for w in words:
        assert w in sentence
    assert_storable(sentence)


def test_check_value_refuses_deep_and_cyclic_values_without_recursion():
    deep: dict = {}
    cursor = deep
    for _ in range(100_000):
        cursor["a"] = {}
        cursor = cursor["a"]
    assert "nested deeper than 64" in refused_value(deep)
    looped: dict = {"a": []}
    looped["a"].append(looped)
    assert "nested deeper than 64" in refused_value(looped)
    wide = [[]]
    for _ in range(70):
        wide = [wide, wide]  # 2**70 paths through shared lists, and too deep
    assert "nested deeper" in refused_value(wide)


def test_storable_text_keeps_any_refused_input_in_a_form_every_store_accepts():
    assert storable_text("a\x00b\ud800c\udfffé") == "a\\x00b\\ud800c\\udfffé"
    assert storable_text("plain") == "plain"
    assert storable_text("x" * 10, limit=3) == "xxx"
    assert storable_text(b'{"a": "caf\xe9\x00"}') == '{"a": "caf\\xe9\\x00"}'
    assert storable_text({"a": math.nan, "b": "\ud800"}) == '{"a": NaN, "b": "\\ud800"}'
    deep: list = []
    cursor = deep
    for _ in range(10_000):
        cursor.append([])
        cursor = cursor[0]
    looped: dict = {}
    looped["self"] = looped

    class Hostile:
        def __repr__(self):
            raise RuntimeError("no")

        __str__ = __repr__

    for odd in (deep, looped, {(1, 2): "x"}, {"n": 10 ** 5000}, Hostile(), {"h": Hostile()}, None):
        storable_text(odd).encode("utf-8")
    assert "5000 digits" in storable_text({"n": 10 ** 5000})


# ---- fuzzing ----------------------------------------------------------------------------------

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every code point, with the troublesome ones often: surrogates, NUL, quote, backslash.
any_text = st.text(st.characters(exclude_categories=())
                   | st.sampled_from(["\ud800", "\udc80", "\udfff", "\x00", '"', "\\"]),
                   max_size=200)
json_ish = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
    | any_text | st.integers(min_value=10 ** 4299, max_value=10 ** 4400),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(any_text, children, max_size=4),
    max_leaves=30)
bracket_soup = st.text(alphabet='[]{}",:01 \\u\x00\ud800e-.n', max_size=300)


def decodes_or_refuses(data) -> None:
    try:
        decode_event(data)
    except InputInvalid as exc:
        assert_storable(str(exc))


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_decode_or_are_refused(data):
    decodes_or_refuses(data)


@FUZZ
@given(any_text)
def test_any_text_decodes_or_is_refused(text):
    decodes_or_refuses(text)
    decodes_or_refuses(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(bracket_soup)
def test_json_shaped_noise_decodes_or_is_refused(text):
    decodes_or_refuses(text)
    decodes_or_refuses("[" * 70 + text)


@FUZZ
@given(bracket_soup | any_text)
def test_what_is_accepted_reads_as_json_reads_it(text):
    try:
        value = decode_event(text)
    except InputInvalid:
        return
    assert value == json.loads(text)


@FUZZ
@given(json_ish, st.booleans())
def test_any_json_ish_value_round_trips_or_is_refused(value, ascii_only):
    try:
        check_value(value)
        clean = True
    except InputInvalid as exc:
        assert_storable(str(exc))
        clean = False
    try:
        text = json.dumps(value, ensure_ascii=ascii_only)
    except ValueError:  # an integer past CPython's conversion limit
        return
    if clean:
        assert decode_event(text) == value
    else:
        decodes_or_refuses(text)
    decodes_or_refuses(text.encode("utf-8", "surrogatepass"))



# ---- the last lines of defence: what slips past the door is stored escaped, never a crash ------


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request):
    return request.getfixturevalue("store" if request.param == "sqlite" else "pg_store")


def test_the_hot_path_statements_store_nul_and_lone_surrogates_escaped(any_store):
    from sqlalchemy import bindparam, insert, select

    from seamline.store import FastStatement
    from seamline.store.tables import dead_letters

    statement = FastStatement(insert(dead_letters).values(
        event_id="e1", integration="i", stage="ingest", reason=bindparam("why"), detail="",
        created_at=0.0))
    with any_store.write() as conn:  # PostgreSQL refuses NUL; no driver encodes a surrogate
        statement.run(conn, {"why": "a\x00b\ud800c"})
    with any_store.read() as conn:
        assert conn.execute(select(dead_letters.c.reason)).scalar_one() == "a\\x00b\\ud800c"


def test_the_vault_seals_a_lone_surrogate_and_gives_it_back(store):
    from seamline.ingest import Vault

    vault = Vault(store)
    assert vault.unseal(vault.seal("x\ud800y")) == "x\ud800y"
    assert vault.unseal_bytes(vault.seal_bytes(b"\xff\x00")) == b"\xff\x00"
    with store.write() as conn:
        vault.put(conn, "e1", {"<NAME_1>": "J\udc80ne"})
    assert vault.mapping("e1") == {"<NAME_1>": "J\udc80ne"}


def test_the_audit_chain_hashes_a_lone_surrogate_and_verifies(store):
    from seamline.audit import AuditEntry, append, canonical_json, story, verify

    text = canonical_json({"input": "x\ud800", "\udfff": ["é"]})
    text.encode("utf-8")
    assert json.loads(text) == {"input": "x\ud800", "\udfff": ["é"]}
    with store.write() as conn:
        append(conn, [AuditEntry("e1", "i", "dead_letter", {"input": "x\ud800"})])
    assert verify(store).ok
    assert story(store, "e1")[0]["payload"]["input"] == "x\ud800"
