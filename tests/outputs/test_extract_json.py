"""extract_json: the one JSON object in a model reply, or a refusal that says why."""

from __future__ import annotations

import json
import timeit

import pytest

from seamline.errors import AmbiguousJSON, NoJSONFound, OutputError, PartialJSON
from seamline.outputs._extract import extract_json

OBJ = {"category": "billing", "priority": 2, "tags": ["a", "b"], "ok": True, "note": None}
TEXT = json.dumps(OBJ)


def refused(reply: str, exc: type[OutputError]) -> str:
    with pytest.raises(exc) as info:
        extract_json(reply)
    assert type(info.value) is exc
    return str(info.value)


# -- accepted forms -------------------------------------------------------------

class TestBare:
    def test_bare_object(self):
        assert extract_json(TEXT) == OBJ

    @pytest.mark.parametrize("pad", [" ", "\n", "\t", "\r\n", "  \n\n  ", "\u00a0\n"])
    def test_surrounding_whitespace(self, pad):
        assert extract_json(pad + TEXT + pad) == OBJ

    def test_pretty_printed(self):
        assert extract_json(json.dumps(OBJ, indent=4)) == OBJ

    def test_empty_object(self):
        assert extract_json("{}") == {}
        assert extract_json("  { \n }  ") == {}

    def test_returns_a_dict(self):
        assert type(extract_json(TEXT)) is dict


class TestFenced:
    @pytest.mark.parametrize("opening, closing", [
        ("```json", "```"),
        ("```", "```"),
        ("```JSON", "```"),
        ("``` json", "```"),
        ("~~~", "~~~"),
        ("~~~json", "~~~"),
        ("````json", "````"),
        ("```json", "`````"),     # a closing fence may be longer
        ("   ```json", "   ```"),  # indented
    ])
    def test_fence_styles(self, opening, closing):
        reply = f"Sure, here it is:\n\n{opening}\n{TEXT}\n{closing}\n\nAnything else?"
        assert extract_json(reply) == OBJ

    def test_fence_alone(self):
        assert extract_json(f"```json\n{json.dumps(OBJ, indent=2)}\n```") == OBJ

    def test_crlf_line_endings(self):
        reply = f"Result:\r\n```json\r\n{json.dumps(OBJ, indent=2)}\r\n```\r\nDone."
        assert extract_json(reply.replace("\n", "\r\n").replace("\r\r", "\r")) == OBJ

    def test_prose_braces_outside_fences_are_ignored(self):
        reply = ('The schema says {"type": "object"} and use {name} here.\n'
                 f'```json\n{TEXT}\n```\nAlso {{"x": 1}} is just an example.')
        assert extract_json(reply) == OBJ

    def test_other_code_blocks_without_objects_are_fine(self):
        reply = (f"Run this:\n```bash\ncurl -s localhost | jq .\n```\n"
                 f"Output:\n```json\n{TEXT}\n```\n")
        assert extract_json(reply) == OBJ

    def test_closing_fence_must_match_the_opening_character(self):
        reply = f"~~~\n{TEXT}\n```\nstill inside the tilde block\n~~~\n"
        assert extract_json(reply) == OBJ

    def test_unclosed_fence_with_a_complete_object(self):
        # The closing fence was cut off, but the object itself is whole.
        assert extract_json(f"Here:\n```json\n{TEXT}\n") == OBJ

    def test_inline_code_span_on_one_line_is_prose(self):
        assert extract_json(f"```json {TEXT}```") == OBJ

    def test_fence_markers_inside_json_strings_do_not_open_fences(self):
        obj = {"code": "```json\n{\"x\": 1}\n```", "tilde": "~~~"}
        assert extract_json(json.dumps(obj)) == obj
        assert extract_json(json.dumps(obj, indent=2)) == obj
        assert extract_json(f"The answer: {json.dumps(obj)} ok") == obj
        assert extract_json(f"```json\n{json.dumps(obj, indent=2)}\n```") == obj


class TestInProse:
    def test_object_in_prose(self):
        reply = f"Sure! Here is the result: {TEXT} Let me know if you need more."
        assert extract_json(reply) == OBJ

    def test_object_glued_to_prose(self):
        assert extract_json(f"result:{TEXT}.") == OBJ

    def test_multiline_object_in_prose(self):
        reply = f"I classified the ticket.\n\n{json.dumps(OBJ, indent=2)}\n\nHope this helps!"
        assert extract_json(reply) == OBJ

    @pytest.mark.parametrize("prose", [
        "use {name} here",
        "a smiley {:) and a frown }:(",
        "set notation { x | x > 0 }",
        "format with {0} and {1:>3}",
        "a lone { brace",
        "close } brace",
        "see [1] and [note] and [1-3] and [link](http://x.y)",
    ])
    def test_braces_that_cannot_start_an_object_are_not_candidates(self, prose):
        assert extract_json(f"{prose}: {TEXT} -- {prose}") == OBJ

    def test_array_in_prose_is_skipped(self):
        assert extract_json(f'Options were [1, 2, 3]; chosen: {TEXT}') == OBJ


class TestContent:
    def test_nested_objects_are_one_object(self):
        obj = {"a": {"b": {"c": {"d": [1, {"e": {}}]}}}, "f": [{"g": 1}, {"h": 2}]}
        assert extract_json(json.dumps(obj)) == obj
        assert extract_json(f"Result: {json.dumps(obj, indent=2)} done") == obj
        assert extract_json(f"```json\n{json.dumps(obj, indent=2)}\n```") == obj

    def test_braces_and_quotes_inside_strings(self):
        obj = {"a": "}{", "b": "{\"x\": 1}", "c": "} } ] [ {", "d": "say \"hi\" {name}",
               "e": "{}", "f": "\\"}
        assert extract_json(json.dumps(obj)) == obj
        assert extract_json(f"Here: {json.dumps(obj)} -- bye") == obj
        assert extract_json(f"```\n{json.dumps(obj)}\n```") == obj

    def test_backticks_inside_strings(self):
        obj = {"md": "use `x` or ```py\nprint()\n```", "t": "~~~"}
        assert extract_json(f"Sure:\n```json\n{json.dumps(obj, indent=2)}\n```\n") == obj

    @pytest.mark.parametrize("ensure_ascii", [True, False])
    def test_unicode(self, ensure_ascii):
        obj = {"名前": "Zoë Müller", "emoji": "🎉👍🏽", "rtl": "שלום", "nul": "\u0000",
               "ls": "\u2028", "esc": "é"}
        text = json.dumps(obj, ensure_ascii=ensure_ascii)
        assert extract_json(text) == obj
        assert extract_json(f"Voilà ✨ : {text} — merci 🙏") == obj
        assert extract_json(f"结果如下：\n```json\n{text}\n```\n谢谢") == obj

    def test_numbers(self):
        obj = {"i": -12, "f": 1.5e-7, "big": 10**40, "z": 0, "neg0": -0.0}
        assert extract_json(json.dumps(obj)) == obj

    def test_duplicate_keys_follow_the_json_module(self):
        assert extract_json('{"a": 1, "a": 2}') == {"a": 2}


# -- refusals -------------------------------------------------------------------

class TestNoJSONFound:
    @pytest.mark.parametrize("reply", ["", "   \n\t "])
    def test_empty(self, reply):
        assert "empty" in refused(reply, NoJSONFound)

    def test_prose_only(self):
        msg = refused("I could not classify this ticket, sorry.", NoJSONFound)
        assert "no JSON object" in msg

    def test_placeholder_braces_only(self):
        msg = refused("use {name} here {:)", NoJSONFound)
        assert "no JSON object" in msg
        assert "characters 4 and 16" in msg  # where the stray braces are

    def test_unquoted_keys_are_not_an_object(self):
        msg = refused("{a: 1}", NoJSONFound)
        assert "double-quoted key" in msg

    @pytest.mark.parametrize("reply", ["[1,2]", " [1, 2, 3] ", '[{"a": 1}]', "[]"])
    def test_top_level_array(self, reply):
        msg = refused(reply, NoJSONFound)
        assert "array" in msg and "object" in msg

    def test_fenced_array(self):
        msg = refused('Here:\n```json\n[{"a": 1}, {"b": 2}]\n```', NoJSONFound)
        assert "fenced block at character 6" in msg and "array" in msg

    def test_array_in_prose(self):
        msg = refused("The ids are [1, 2, 3].", NoJSONFound)
        assert "array" in msg and "character 12" in msg

    @pytest.mark.parametrize("reply, kind", [
        ("42", "number"), ("-1.5", "number"), ('"hello"', "string"),
        ('"{not an object}"', "string"), ("true", "boolean"), ("null", "null"),
    ])
    def test_top_level_scalar(self, reply, kind):
        msg = refused(reply, NoJSONFound)
        assert f"JSON {kind}" in msg and "not an object" in msg

    def test_fences_without_an_object_ignore_prose(self):
        reply = f'Result: {TEXT}\n\nTo parse it:\n```python\nimport json\n```\n'
        msg = refused(reply, NoJSONFound)
        assert "1 fenced code block" in msg
        assert "outside the fences was ignored" in msg and "character 8" in msg

    def test_stray_fence_after_object(self):
        # A lone ``` opens a (empty, unclosed) fence: only fenced content counts.
        msg = refused(f"{TEXT}\n```\n", NoJSONFound)
        assert "fenced code block" in msg


class TestAmbiguousJSON:
    def test_two_objects_in_prose(self):
        reply = 'First try: {"a": 1}\nActually, better: {"a": 2}'
        msg = refused(reply, AmbiguousJSON)
        assert "2 JSON objects" in msg and "characters 11 and 38" in msg
        assert "expected exactly one" in msg

    def test_identical_objects(self):
        assert "2 JSON objects" in refused(f"{TEXT}\n{TEXT}", AmbiguousJSON)

    def test_adjacent_objects(self):
        assert "2 JSON objects" in refused('{"a":1}{"b":2}', AmbiguousJSON)

    def test_json_lines(self):
        msg = refused('{"a":1}\n{"a":2}\n{"a":3}\n{"a":4}\n', AmbiguousJSON)
        assert "4 JSON objects" in msg and "0, 8, 16, ..." in msg

    def test_two_fenced_blocks(self):
        reply = f"Option A:\n```json\n{TEXT}\n```\nOption B:\n```json\n{TEXT}\n```\n"
        msg = refused(reply, AmbiguousJSON)
        assert "2 fenced code blocks" in msg
        first = reply.index("{")
        assert f"characters {first} and {reply.index('{', first + 1)}" in msg

    def test_two_objects_in_one_fenced_block(self):
        msg = refused('Hi\n```json\n{"a": 1}\n{"b": 2}\n```', AmbiguousJSON)
        assert "2 JSON objects" in msg and "fenced block at character 3" in msg

    def test_empty_object_counts(self):
        refused(f"Default is {{}} but here: {TEXT}", AmbiguousJSON)


class TestPartialJSON:
    def test_truncated_reply(self):
        reply = 'Here is the result: {"category": "billing", "evidence": ["the charge app'
        msg = refused(reply, PartialJSON)
        assert "cut off" in msg and "character 20" in msg and "max_tokens" in msg

    @pytest.mark.parametrize("cut", [1, 2, 5, 12, 30, -1])
    def test_truncated_anywhere(self, cut):  # even right after the opening brace
        text = json.dumps(OBJ, indent=2)
        msg = refused(text[:cut], PartialJSON)
        assert "cut off" in msg

    def test_lone_brace_at_the_end(self):
        assert "cut off" in refused("Here is the result: {\n  ", PartialJSON)
        assert "cut off" in refused("```json\n{\n```", PartialJSON)

    def test_truncated_in_unclosed_fence(self):
        msg = refused(f"Sure:\n```json\n{TEXT[:-10]}", PartialJSON)
        assert "cut off" in msg and "fenced block at character 6" in msg

    def test_truncated_inside_a_closed_fence(self):
        msg = refused(f"```json\n{TEXT[:-1]}\n```\n", PartialJSON)
        assert "cut off" in msg and "fenced block ends before it closes" in msg

    @pytest.mark.parametrize("reply, decoder_says", [
        ('{"a": 1,}', "Expecting property name"),
        ('{"a": [1, 2,]}', "Expecting value"),
        ('{"a": \'x\'}', "Expecting value"),
        ("{'a': 1}", "Expecting property name"),
        ('{"a": 1 // the count\n}', "Expecting ',' delimiter"),
        ('{ // leading comment\n "a": 1}', "Expecting property name"),
        ('{/* c */ "a": 1}', "Expecting property name"),
        ('{"a": "line\nbreak"}', "Invalid control character"),
        ('{"a": 01}', "Expecting ',' delimiter"),
        ('{"a" 1}', "Expecting ':' delimiter"),
        ('{"name"} is a placeholder', "Expecting ':' delimiter"),
    ])
    def test_malformed(self, reply, decoder_says):
        msg = refused(reply, PartialJSON)
        assert "not valid JSON" in msg and decoder_says in msg and "at character" in msg

    @pytest.mark.parametrize("const", ["NaN", "Infinity", "-Infinity"])
    def test_non_finite_numbers(self, const):
        reply = f'Result: {{"label": "NaN", "score": {const}}}'
        msg = refused(reply, PartialJSON)
        assert f"{const} is not a JSON value" in msg
        assert f"at character {reply.index(const, 20)}" in msg  # not the one in the string

    def test_huge_exponent_is_json(self):
        assert extract_json('{"a": 1e999}') == {"a": float("inf")}

    def test_malformed_in_fenced_block(self):
        msg = refused('ok\n```json\n{\n  "a": 1,\n}\n```', PartialJSON)
        assert "fenced block at character 3" in msg and "line 5, column 1" in msg

    def test_good_object_then_cut_off_object(self):
        assert "cut off" in refused(f'{TEXT}\nand also {{"b": [1, 2', PartialJSON)

    def test_cut_off_object_then_good_object(self):
        refused(f'{{"b": [1, 2 oops\n{TEXT}', PartialJSON)

    def test_truncated_array_of_objects(self):
        msg = refused('[{"a": 1}, {"b"', PartialJSON)
        assert "array" in msg and "cut off" in msg

    def test_broken_array_holding_an_object(self):
        msg = refused('[1, {"a": 1}, oops]', PartialJSON)
        assert "array" in msg

    def test_object_inside_a_non_json_literal(self):
        msg = refused('const x = {a: {"b": 1}};', PartialJSON)
        assert "sits inside" in msg and "character 10" in msg

    def test_python_dict_holding_a_json_looking_dict(self):
        refused("{'a': {\"b\": 1}}", PartialJSON)

    def test_too_deep(self):
        msg = refused('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", PartialJSON)
        assert "too deeply" in msg

    def test_integer_too_long(self):
        refused('{"a": ' + "1" * 5000 + "}", PartialJSON)


class TestErrors:
    @pytest.mark.parametrize("reply", [
        "", "[1]", '{"a": 1} {"b": 2}', '{"a": 1,', "{'a': 1}",
    ])
    def test_all_refusals_are_output_errors(self, reply):
        with pytest.raises(OutputError):
            extract_json(reply)

    @pytest.mark.parametrize("make", [
        lambda s: s,                                         # no object
        lambda s: s + '{"a": 1}' + s + '{"b": 2}' + s,       # two objects
        lambda s: s + '{"a": "' + s,                          # cut off
        lambda s: s + '{"a": 1,}' + s,                        # malformed
        lambda s: s + "[1, 2]" + s,                           # array
        lambda s: s + '```json\n[1]\n```\n' + s,              # fenced array
        lambda s: s + '{"a": 1}\n```py\nx\n```\n' + s,        # ignored prose object
        lambda s: "{a: " + s + '{"a": 1}' + s + "}",          # enclosed
    ])
    def test_messages_echo_little_of_the_reply(self, make):
        prose = " ".join(f"word{i}" for i in range(2000))    # no 80-char window repeats
        reply = make(prose)
        with pytest.raises(OutputError) as info:
            extract_json(reply)
        msg = str(info.value)
        assert len(msg) < 600
        assert not any(reply[k:k + 81] in msg for k in range(len(reply) - 80))

    def test_not_a_string(self):
        with pytest.raises(TypeError):
            extract_json(b'{"a": 1}')  # type: ignore[arg-type]


def test_fast_enough():
    """Runs on every reply: a 2 KB reply takes well under 0.1 ms (bound is 10x looser)."""
    obj = {"items": [{"sku": f"SKU-{i}", "qty": i, "note": "a {placeholder} and ``` ticks"}
                     for i in range(30)]}
    text = json.dumps(obj, indent=1)
    reply = f"Sure! Here is the result:\n\n```json\n{text}\n```\n\nLet me know."
    assert 1500 < len(reply) < 4000
    assert extract_json(reply) == obj
    per_call = min(timeit.repeat(lambda: extract_json(reply), number=200, repeat=5)) / 200
    assert per_call < 1e-3, f"{per_call * 1e6:.0f} us per call"
