"""Layer 4, outputs: find the one JSON object in a model reply, or refuse.

Accepted: a bare object, an object inside a Markdown code fence (```json, ```,
~~~) with prose around it, and an object embedded in prose. Refused, never
guessed or repaired: no object (``NoJSONFound``), more than one (``AmbiguousJSON``),
an object that is cut off or is not strict JSON (``PartialJSON``).

Why this is hand-written: no library we know of extracts *exactly one* object
with these refusal rules. Lenient parsers (json5, json-repair, partial-json)
repair or guess, which is what we must not do; ``json.loads`` alone cannot see
an object inside prose or fences. So the finding is done here and the decoding
is left to the stdlib's strict ``json.JSONDecoder.raw_decode`` (C scanner), which
also tells us where each object ends, so nested braces and braces inside
strings are never counted. It runs on every model reply, so it stays cheap.

Rules, in order:

* If the reply has fenced code blocks, only their content counts; text outside
  them is ignored. Exactly one block may hold an object.
* A candidate starts with ``{``, optional JSON whitespace, then ``"`` or ``}``
  (or the end of the text: a reply cut off right after its opening brace).
  Other braces (``{name}``, ``{:)``) are prose. A look-alike start -- ``{'`` or
  a comment ``{//`` / ``{/*`` -- is treated as a malformed object.
* A candidate (or look-alike) that fails to decode is a ``PartialJSON`` at
  once: anything found after it would be a guess.
* A JSON array is not an object and is skipped whole (objects inside it do not
  count). An array that fails to decode after an object started inside it is a
  ``PartialJSON``.
* A lone object that sits inside an unbalanced ``{ ... }`` of prose (say a JS
  literal ``{a: {"b": 1}}``) is a ``PartialJSON``: the inner part is not the answer.
* ``NaN``/``Infinity`` are refused (strict JSON has no such values).
"""

from __future__ import annotations

import json
import re
from typing import Any

from seamline.errors import AmbiguousJSON, NoJSONFound, PartialJSON

__all__ = ["extract_json"]


class _NonFinite(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(name)


# strict=True (the default): raw control characters in strings are errors.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
_raw_decode = _DECODER.raw_decode

# One search finds the next place worth decoding; the group name says what it is.
_CANDIDATE = re.compile(
    r"""(?P<obj>\{[ \t\n\r]*(?:["}]|\Z))"""      # a JSON object starts (or is cut off) here
    r"""|(?P<alike>\{[ \t\n\r]*(?:'|//|/\*))"""  # single quotes or a comment: malformed
    r"""|(?P<arr>\[[ \t\n\r]*[\[\]{"\-0-9tfn])"""  # maybe a JSON array
)
_OBJECT_START = re.compile(r'\{[ \t\n\r]*["}]')
_CONSTANT = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)', re.DOTALL)
_BRACE = re.compile(r"[{}]")

_MAX_LISTED = 3   # positions listed in a message
_EXCERPT = 20     # characters of the reply shown on each side of an error


class _Failure:
    """A decode that failed: what was being decoded, where, and why."""

    __slots__ = ("cut_off", "kind", "msg", "pos", "start")

    def __init__(self, kind: str, start: int, pos: int | None, msg: str, cut_off: bool) -> None:
        self.kind, self.start, self.pos, self.msg, self.cut_off = kind, start, pos, msg, cut_off


class _Segment:
    """A stretch of the reply that is searched: the whole reply or one fenced block."""

    __slots__ = ("arrays", "fence_at", "objects", "offset", "text")

    def __init__(self, text: str, offset: int, fence_at: int | None) -> None:
        self.text = text
        self.offset = offset
        self.fence_at = fence_at
        self.objects: list[tuple[int, int, dict[str, Any]]] = []  # (start, end, obj), local
        self.arrays: list[int] = []                                # local starts


def extract_json(reply: str) -> dict[str, Any]:
    """Return the one JSON object in ``reply``.

    Raises ``NoJSONFound``, ``AmbiguousJSON`` or ``PartialJSON`` (all
    ``OutputError``) with a message that says what was found and where.
    """
    if not isinstance(reply, str):
        raise TypeError(f"extract_json expects a str reply, got {type(reply).__name__}")

    # Fast path: the whole reply is one object. A line of valid JSON never
    # starts with a fence marker, so no fence rule can apply to it.
    body = reply.lstrip()
    if body[:1] == "{":
        start = len(reply) - len(body)
        try:
            obj, end = _raw_decode(reply, start)
        except (ValueError, _NonFinite, RecursionError):
            pass
        else:
            if end == len(reply.rstrip()):
                return obj

    marks = [m for m in ("```", "~~~") if m in reply]
    blocks = _fenced_blocks(reply, marks) if marks else []
    if blocks:
        segments = [_Segment(reply[cs:ce], cs, fs) for fs, cs, ce in blocks]
    else:
        segments = [_Segment(reply, 0, None)]

    for seg in segments:
        failure = _scan(seg)
        if failure is not None:
            raise PartialJSON(_partial_message(reply, seg, failure))

    holding = [seg for seg in segments if seg.objects]
    if len(holding) > 1:
        starts = [seg.offset + seg.objects[0][0] for seg in holding]
        raise AmbiguousJSON(
            f"{len(holding)} fenced code blocks hold a JSON object "
            f"(at characters {_positions(starts)}); expected exactly one")
    if not holding:
        raise NoJSONFound(_missing_message(reply, segments, blocks))

    seg = holding[0]
    if len(seg.objects) > 1:
        starts = [seg.offset + s for s, _, _ in seg.objects]
        raise AmbiguousJSON(
            f"the reply holds {len(seg.objects)} JSON objects "
            f"(at characters {_positions(starts)}){_where(seg)}; expected exactly one")
    start, end, obj = seg.objects[0]
    _refuse_if_enclosed(reply, seg, start, end)
    return obj


# -- finding -------------------------------------------------------------------

def _fenced_blocks(text: str, marks: list[str]) -> list[tuple[int, int, int]]:
    """(fence start, content start, content end) of each fenced code block.

    CommonMark-like: a fence is a line of 3+ backticks or tildes (any
    indentation); a backtick fence's info string has no backtick (else it is
    inline code); the closing fence uses the same character, is at least as
    long and has nothing after it. An unclosed fence runs to the end.
    """
    blocks: list[tuple[int, int, int]] = []
    opened: tuple[str, int, int, int] | None = None  # (char, length, fence start, content start)
    for line_start, i, line_end in _fence_lines(text, marks):
        line = text[i:line_end]
        char = line[0]
        rest = line.lstrip(char)
        length = len(line) - len(rest)
        if opened is None:
            if char == "`" and "`" in rest:
                continue
            opened = (char, length, line_start, min(line_end + 1, len(text)))
        elif char == opened[0] and length >= opened[1] and not rest.strip():
            blocks.append((opened[2], opened[3], line_start))
            opened = None
    if opened is not None:
        blocks.append((opened[2], opened[3], len(text)))
    return blocks


def _fence_lines(text: str, marks: list[str]) -> list[tuple[int, int, int]]:
    """(line start, marker start, line end) of each line that starts with ``` or ~~~.

    str.find, not a multiline regex: this runs on every fenced reply and
    '^' under re.M is tried at every position.
    """
    lines = []
    for mark in marks:
        i = text.find(mark)
        while i >= 0:
            line_start = text.rfind("\n", 0, i) + 1
            line_end = text.find("\n", i)
            if line_end < 0:
                line_end = len(text)
            if not text[line_start:i].strip(" \t"):
                lines.append((line_start, i, line_end))
            i = text.find(mark, line_end)
    lines.sort()
    return lines


def _decode(text: str, i: int) -> tuple[Any, int, _Failure | None]:
    try:
        value, end = _raw_decode(text, i)
    except json.JSONDecodeError as e:
        return None, i, _Failure("", i, e.pos, e.msg, _cut_off(text, e.pos, e.msg))
    except _NonFinite as e:
        pos = _constant_position(text, i, e.name)
        return None, i, _Failure("", i, pos, f"{e.name} is not a JSON value", False)
    except ValueError as e:  # e.g. an integer longer than Python's int-digits limit
        return None, i, _Failure("", i, None, str(e).split(";")[0][:100], False)
    except RecursionError:
        return None, i, _Failure("", i, None, "it is nested too deeply to decode", False)
    return value, end, None


def _scan(seg: _Segment) -> _Failure | None:
    """Fill seg.objects and seg.arrays; return the first decisive failure, if any."""
    text = seg.text
    search = _CANDIDATE.search
    pos = 0
    while True:
        m = search(text, pos)
        if m is None:
            return None
        i = m.start()
        kind = m.lastgroup
        value, end, failure = _decode(text, i)
        if failure is None:
            if kind == "arr":
                seg.arrays.append(i)
            else:  # a decoded '{' is always an object
                seg.objects.append((i, end, value))
            pos = end
            continue
        if kind == "arr":
            # '[note]', '[1-3]' are prose; but an array that fails after an
            # object began inside it is a broken array of objects.
            stop = len(text) if failure.pos is None else max(failure.pos, i + 1)
            if _OBJECT_START.search(text, i, stop) is None:
                pos = i + 1
                continue
            failure.kind = "array"
        else:
            failure.kind = "object" if kind == "obj" else "alike"
        return failure


def _refuse_if_enclosed(reply: str, seg: _Segment, start: int, end: int) -> None:
    """Refuse a lone object that sits inside an unbalanced '{ ... }' of prose."""
    text = seg.text
    if text.rfind("{", 0, start) < 0 or text.find("}", end) < 0:
        return  # the usual case: nothing can enclose it
    open_at: list[int] = []
    for m in _BRACE.finditer(text, 0, start):
        if m.group() == "{":
            open_at.append(m.start())
        elif open_at:
            open_at.pop()
    if not open_at:
        return
    depth = 0
    for m in _BRACE.finditer(text, end):
        if m.group() == "{":
            depth += 1
        elif depth:
            depth -= 1
        else:
            outer = seg.offset + open_at[-1]
            raise PartialJSON(
                f"the JSON object at character {seg.offset + start}{_where(seg)} sits inside "
                f"a '{{ ... }}' that starts at character {outer} ({_line_col(reply, outer)}) "
                f"and is not valid JSON (unquoted keys?); refusing to guess which part is meant")


# -- messages ------------------------------------------------------------------

def _cut_off(text: str, pos: int, msg: str) -> bool:
    # "Unterminated string" is reported at the string's start, but it means
    # the input ended inside the string (strict mode stops at raw newlines).
    return pos >= len(text.rstrip()) or msg.startswith("Unterminated string")


def _constant_position(text: str, i: int, name: str) -> int:
    for m in _CONSTANT.finditer(text, i):
        if m.group(1) == name:
            return m.start()
    return i


def _positions(starts: list[int]) -> str:
    shown = [str(p) for p in starts[:_MAX_LISTED]]
    if len(starts) > _MAX_LISTED:
        return ", ".join(shown) + ", ..."
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _where(seg: _Segment) -> str:
    return "" if seg.fence_at is None else f" in the fenced block at character {seg.fence_at}"


def _line_col(reply: str, pos: int) -> str:
    line = reply.count("\n", 0, pos) + 1
    col = pos - (reply.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {col}"


def _excerpt(reply: str, pos: int) -> str:
    lo = max(0, pos - _EXCERPT)
    hi = min(len(reply), pos + _EXCERPT)
    return ("..." if lo else "") + repr(reply[lo:hi]) + ("..." if hi < len(reply) else "")


def _partial_message(reply: str, seg: _Segment, f: _Failure) -> str:
    start = seg.offset + f.start
    what = {
        "object": "the JSON object",
        "alike": "the text that looks like a JSON object",
        "array": "the JSON array (holding an object)",
    }[f.kind]
    head = f"{what} starting at character {start}{_where(seg)}"
    if f.pos is None:
        return f"{head} is not valid JSON: {f.msg}"
    pos = min(seg.offset + f.pos, len(reply))
    detail = f"{f.msg.removesuffix(' at')} at character {pos}, {_line_col(reply, pos)}"
    if f.cut_off:
        reaches_end = seg.offset + len(seg.text) >= len(reply.rstrip())
        if reaches_end:
            return (f"{head} is cut off: the reply ends before it closes ({detail}); "
                    f"the reply was probably truncated (e.g. by max_tokens)")
        return (f"{head} is cut off: the fenced block ends before it closes "
                f"({detail})")
    hint = ("; JSON needs double-quoted keys and strings and allows no comments"
            if f.kind == "alike" else
            "; strict JSON allows no trailing commas, single quotes, comments or NaN")
    return f"{head} is not valid JSON: {detail}, near {_excerpt(reply, pos)}{hint}"


_KINDS = {str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def _whole_value_kind(text: str) -> str | None:
    """The JSON type of ``text`` if it is exactly one JSON value, else None."""
    body = text.strip()
    if not body:
        return None
    value, end, failure = _decode(body, 0)
    if failure is not None or end != len(body):
        return None
    return "array" if isinstance(value, list) else _KINDS.get(type(value), "value")


def _missing_message(reply: str, segments: list[_Segment], blocks: list) -> str:
    want = "expected exactly one JSON object"
    if not reply.strip():
        return f"the reply is empty; {want}"
    for seg in segments:
        kind = _whole_value_kind(seg.text)
        if kind is not None:
            if seg.fence_at is None:
                return f"the reply is a JSON {kind}, not an object; {want}"
            return f"the fenced block at character {seg.fence_at} holds a JSON {kind}, " \
                   f"not an object; {want}"
    arrays = [seg.offset + a for seg in segments for a in seg.arrays]
    if arrays:
        return (f"the reply holds a JSON array (at character{'s' if len(arrays) > 1 else ''} "
                f"{_positions(arrays)}) but no object; an array is not an object; {want}")
    if blocks:
        ignored = _objects_outside(reply, blocks)
        msg = (f"the reply has {len(blocks)} fenced code block"
               f"{'s' if len(blocks) > 1 else ''} (at character{'s' if len(blocks) > 1 else ''} "
               f"{_positions([b[0] for b in blocks])}) and none holds a JSON object; "
               f"when a reply has fences, text outside them is ignored")
        if ignored:
            many = len(ignored) > 1
            msg += (f" ({'JSON objects' if many else 'a JSON object'} at character"
                    f"{'s' if many else ''} {_positions(ignored)} outside the fences "
                    f"{'were' if many else 'was'} ignored)")
        return f"{msg}; {want}"
    braces = [m.start() for m in re.finditer(r"\{", reply)]
    if braces:
        return (f"the reply holds no JSON object: the '{{' at character"
                f"{'s' if len(braces) > 1 else ''} {_positions(braces)} "
                f"start{'' if len(braces) > 1 else 's'} no object (an object starts with '{{' "
                f"then a double-quoted key or '}}'); {want}")
    return f"the reply holds no JSON object (no '{{' in {len(reply)} characters); {want}"


def _objects_outside(reply: str, blocks: list[tuple[int, int, int]]) -> list[int]:
    """Starts of JSON objects in the prose around fenced blocks (for the message only)."""
    found: list[int] = []
    prev = 0
    for fence_start, _, content_end in [*blocks, (len(reply), 0, len(reply))]:
        seg = _Segment(reply[prev:fence_start], prev, None)
        _scan(seg)
        found += [prev + s for s, _, _ in seg.objects]
        line_end = reply.find("\n", content_end)  # the closing fence's line
        prev = len(reply) if line_end < 0 else line_end + 1
    return found
