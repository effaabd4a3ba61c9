"""Property tests for extract_json: any JSON object survives the forms a model
wraps it in; truncated, doubled or random replies are refused, never guessed."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from seamline.errors import AmbiguousJSON, NoJSONFound, OutputError, PartialJSON
from seamline.outputs._extract import extract_json

SETTINGS = settings(max_examples=200, deadline=None)

# Infinity is excluded as well as NaN: json.dumps writes them as bare Infinity /
# NaN, which is not JSON, and extract_json refuses it (see test_extract_json).
scalars = (st.none() | st.booleans() | st.integers()
           | st.floats(allow_nan=False, allow_infinity=False) | st.text())
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children,
                                                                      max_size=4),
    max_leaves=20,
)
objects = st.dictionaries(st.text(), values, max_size=6)
dump_styles = st.sampled_from([
    {}, {"ensure_ascii": False}, {"indent": 2}, {"separators": (",", ":")},
    {"ensure_ascii": False, "indent": 1},
])


def prose(excluded: str) -> st.SearchStrategy[str]:
    return st.text(st.characters(blacklist_characters=excluded,
                                 blacklist_categories=("Cs",)), max_size=60)


# Around a fence, prose only must not open an object or a fence of its own.
fence_prose = prose("{`")
# Around a bare object, prose also must not open an array ('[' right before
# the object makes it an array of objects) or a ~~~ fence.
inline_prose = prose("{[`~")


@SETTINGS
@given(objects, dump_styles)
def test_a_bare_object_round_trips(d, style):
    assert extract_json(json.dumps(d, **style)) == d


@SETTINGS
@given(objects, dump_styles, fence_prose, fence_prose, st.sampled_from(["```json", "```", "~~~"]))
def test_a_fenced_object_round_trips(d, style, before, after, fence):
    reply = f"{before}\n{fence}\n{json.dumps(d, **style)}\n{fence[:3]}\n{after}"
    assert extract_json(reply) == d


@SETTINGS
@given(objects, dump_styles, inline_prose, inline_prose)
def test_an_object_in_prose_round_trips(d, style, before, after):
    assert extract_json(before + json.dumps(d, **style) + after) == d


@SETTINGS
@given(objects, dump_styles, st.data())
def test_a_truncated_object_is_refused(d, style, data):
    text = json.dumps(d, **style)
    cut = data.draw(st.integers(1, len(text) - 1), label="cut")
    wrap = data.draw(st.sampled_from(["{}", "Here is the result: {}", "Sure:\n```json\n{}"]),
                     label="wrap")
    reply = wrap.format(text[:cut]) if wrap != "{}" else text[:cut]
    try:
        got = extract_json(reply)
    except (PartialJSON, NoJSONFound):
        return
    raise AssertionError(f"returned {got!r} for a truncated reply")


@SETTINGS
@given(objects, objects, dump_styles, inline_prose, st.booleans())
def test_two_objects_are_ambiguous(d1, d2, style, between, fenced):
    a, b = json.dumps(d1, **style), json.dumps(d2, **style)
    if fenced:
        reply = f"```json\n{a}\n```\n{between}\n```json\n{b}\n```\n"
    else:
        reply = a + between + b
    try:
        extract_json(reply)
    except AmbiguousJSON:
        return
    raise AssertionError("two objects were not refused as ambiguous")


@SETTINGS
@given(objects, dump_styles)
def test_the_same_object_twice_is_ambiguous(d, style):
    text = json.dumps(d, **style)
    try:
        extract_json(f"{text}\n{text}")
    except AmbiguousJSON:
        return
    raise AssertionError("two identical objects were not refused as ambiguous")


def _only_output_errors(reply: str) -> None:
    try:
        got = extract_json(reply)
    except OutputError:
        return
    assert type(got) is dict


@SETTINGS
@given(st.text())
def test_any_text_gives_a_dict_or_an_output_error(reply):
    _only_output_errors(reply)


# The same, on text made of the characters the extractor cares about.
json_ish = st.lists(st.sampled_from(list('{}[]"\':,`~ \n\t\\/*0123456789-.eE') +
                                    ["true", "null", "NaN", "```json\n", "\n```\n", '"a"']),
                    max_size=40).map("".join)


@SETTINGS
@given(json_ish)
def test_json_ish_text_gives_a_dict_or_an_output_error(reply):
    _only_output_errors(reply)


@SETTINGS
@given(objects, st.lists(st.sampled_from(list('{}[]"`~\n,:') + ["```\n", "\n```"]),
                          max_size=4), st.data())
def test_mangled_objects_give_a_dict_or_an_output_error(d, inserts, data):
    text = json.dumps(d, indent=1)
    for piece in inserts:
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + piece + text[at:]
    _only_output_errors(text)
