"""Layer 1, ingest: the one decoder of events, at every door (HTTP, webhooks, files, queue,
streams), and the same rules for events that arrive already decoded.

What it accepts can be stored, hashed, redacted and shown without raising; what it refuses
is an :class:`InputInvalid` whose sentence says what was wrong and where, and which is
itself safe to store (ASCII, no NUL, no surrogate).
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from collections.abc import Mapping
from itertools import accumulate
from typing import Any

from seamline.errors import InputInvalid

MAX_NESTING = 64  # objects and arrays inside each other; real events use a handful
MAX_INT_DIGITS = 4300  # CPython's own limit on int <-> str conversion (sys.int_info)

_BOM = "\ufeff"
_NEWLINE = b"\n"
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSAFE = re.compile("[\x00\ud800-\udfff]")
# A JSON string token (escapes included) or a bracket: for naming where nesting got deep.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_ALL_BUT_BRACKETS_AND_QUOTES = bytes(c for c in range(256) if c not in b'[]{}"')
_STEP_BYTE = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_OPENERS_RUN = re.compile(rb"[\[{]{%d}" % (MAX_NESTING + 1))
# An escaped NUL or surrogate: the only way past _check_text for a NUL or a lone surrogate.
_RISKY_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_LOW_ESCAPE = re.compile(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# 10**MAX_INT_DIGITS has this many bits, give or take one: below it, no need to compare.
_INT_BITS = int(MAX_INT_DIGITS * math.log2(10)) - 1
_INT_LIMIT = 10 ** MAX_INT_DIGITS


def decode_event(data: bytes | bytearray | memoryview | str) -> Any:
    """The JSON value of ``data`` (UTF-8 bytes, or text); :class:`InputInvalid` otherwise.

    Refused, each with a sentence naming the place: bytes that are not UTF-8 (UTF-16 and
    encoded surrogates included), lone surrogates (raw or escaped ``\\ud800``), NUL
    characters (raw or ``\\u0000``, in keys or values), nesting deeper than
    :data:`MAX_NESTING`, NaN / Infinity, numbers that overflow a float (``1e999``),
    integers longer than :data:`MAX_INT_DIGITS` digits, and a key twice in one object
    (a validator and a handler could each read a different one). A leading byte-order
    mark is ignored. Nothing else is ever raised: no RecursionError, whatever the depth.
    """
    text = _text(data)
    if text.startswith(_BOM):
        text = text[1:]
    _check_text(text)
    if text.count("[") + text.count("{") > MAX_NESTING:  # else it cannot be too deep
        _check_depth(text, data if isinstance(data, bytes) else None)
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_constant=_constant,
                           parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise InputInvalid(f"the event is not valid JSON: {exc.msg} at line {exc.lineno}, "
                           f"column {exc.colno}") from None
    except RecursionError:  # unreachable after the pre-scan; kept so none can ever escape
        raise InputInvalid(f"the event is nested deeper than {MAX_NESTING} levels") from None
    if "\\u" in text and _risky_escapes(text):
        check_value(value)  # finds the place (a false alarm finds nothing)
    return value


def check_value(value: Any) -> None:
    """Apply the decoder's rules to an event that arrived decoded (a dict from Python, the
    queue, a stream): :class:`InputInvalid` naming the place (``$.body[2]``), else None.

    Refused: strings (keys or values) with a NUL or a lone surrogate, keys that are not
    strings, nesting deeper than :data:`MAX_NESTING` (a cycle included), floats that are
    NaN or infinite, integers longer than :data:`MAX_INT_DIGITS` digits. Other types are
    left to the input schema. Iterative, so no depth of nesting can exhaust the stack.
    """
    if not isinstance(value, Mapping | list | tuple):
        _check_scalar(value, None)
        return
    # Containers wait here with their depth and path; a path is a linked list (parent
    # path, key or index), so each costs O(1) and is spelled out only for a sentence.
    stack: list[tuple[Any, int, Any]] = [(value, 0, None)]
    seen: dict[int, int] = {}  # id of a container -> the deepest depth it was checked at
    while stack:
        v, depth, path = stack.pop()
        if depth >= MAX_NESTING:
            raise InputInvalid(f"the event is nested deeper than {MAX_NESTING} levels "
                               f"{_at(path)}")
        if seen.get(id(v), -1) >= depth:
            continue  # the same object again, no deeper: its inside is checked already
        seen[id(v)] = depth
        is_map = isinstance(v, Mapping)
        for key, item in (v.items() if is_map else enumerate(v)):
            if is_map:
                if type(key) is not str and not isinstance(key, str):
                    raise InputInvalid(f"the event holds a key of type {type(key).__name__} "
                                       f"{_at(path)}; keys must be strings")
                if "\x00" in key or not key.isascii():
                    _check_string(key, "key", path)
            kind = type(item)
            if kind is str:
                if "\x00" in item or not item.isascii():
                    _check_string(item, "string", (path, key))
            elif kind is dict or kind is list or isinstance(item, Mapping | list | tuple):
                stack.append((item, depth + 1, (path, key)))
            elif kind is not bool and kind is not type(None):
                _check_scalar(item, (path, key))


def _check_scalar(v: Any, path: Any) -> None:
    if isinstance(v, str):
        _check_string(v, "string", path)
    elif isinstance(v, float):
        if not math.isfinite(v):
            raise InputInvalid(f"the event holds the number {v!r} {_at(path)}; NaN and "
                               "infinite numbers are not allowed")
    elif (isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > _INT_BITS
          and abs(v) >= _INT_LIMIT):
        raise InputInvalid(f"the event holds an integer longer than {MAX_INT_DIGITS} "
                           f"digits {_at(path)}")


def storable_text(raw: Any, limit: int | None = None) -> str:
    """Any raw input as text every store, encoder and hash accepts, for keeping what was
    refused: bytes decoded with invalid sequences as ``\\xNN``, a value that is not text as
    JSON (or a bounded repr, if it is too deep or odd for JSON), then lone surrogates as
    ``\\udXXX`` and NUL as ``\\x00``; cut to ``limit`` characters. Never raises."""
    if isinstance(raw, bytes | bytearray | memoryview):
        text = bytes(raw[:limit] if limit is not None else raw).decode("utf-8", "backslashreplace")
    elif isinstance(raw, str):
        text = raw
    else:
        try:
            text = json.dumps(raw, ensure_ascii=False, default=str)
        except Exception:  # noqa: BLE001 - too deep, odd keys, a str() that fails: show it anyway
            try:
                text = _REPR.repr(raw)
            except Exception:  # noqa: BLE001 - a __repr__ of the caller's own that fails
                text = f"<a {type(raw).__name__} that cannot be shown>"
    if limit is not None and len(text) > limit:
        text = text[:limit]
    if "\x00" in text or (not text.isascii() and _SURROGATE.search(text)):
        text = _UNSAFE.sub(lambda m: ascii(m.group())[1:-1], text)
    return text


class _BoundedRepr(reprlib.Repr):
    """repr() with bounded depth and size, for values JSON cannot show."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = MAX_NESTING
        self.maxdict = self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = 1000
        self.maxdeque = self.maxarray = 1000
        self.maxstring = self.maxother = 10_000

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > _INT_BITS:
            return f"<an integer of about {int(x.bit_length() * math.log10(2))} digits>"
        return super().repr_int(x, level)


_REPR = _BoundedRepr()


# ---- the text, before JSON --------------------------------------------------------------------


def _text(data: bytes | bytearray | memoryview | str) -> str:
    if isinstance(data, str):
        return data
    raw = bytes(data)
    encoding = json.detect_encoding(raw)
    if encoding not in ("utf-8", "utf-8-sig"):
        raise InputInvalid(f"the event is encoded as {encoding.upper()}; events must be UTF-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 2]
        why = exc.reason
        if len(bad) == 2 and bad[0] == 0xED and 0xA0 <= bad[1] <= 0xBF:
            why = "an encoded surrogate, which UTF-8 does not allow"
        raise InputInvalid(f"the event is not valid UTF-8 (0x{bad[0]:02x} at byte "
                           f"{exc.start + 1}, line {raw.count(_NEWLINE, 0, exc.start) + 1}: "
                           f"{why})") from None


def _check_text(text: str) -> None:
    """Raw NUL and raw lone surrogates: found on the text, with line and column."""
    nul = text.find("\x00")
    if nul >= 0:
        raise InputInvalid(f"the event holds a NUL character {_line_col(text, nul)}; NUL is "
                           "not allowed in events")
    if not text.isascii():
        found = _SURROGATE.search(text)
        if found:
            raise InputInvalid(f"the event holds a lone surrogate "
                               f"(U+{ord(found.group()):04X}) {_line_col(text, found.start())}; "
                               "text must be valid Unicode")


def _check_depth(text: str, raw: bytes | None) -> None:
    """Refuse nesting past the limit (brackets in strings ignored) before json.loads, which
    recurses once a level: CPython raises RecursionError near 1,000 levels, and no level
    past the limit is worth parsing. C-speed passes over the bytes; a Python loop only to
    name the place of a refusal."""
    b = (raw if raw is not None else text.encode("utf-8")).replace(b"\\\\", b"")
    b = b.replace(b'\\"', b"").translate(None, _ALL_BUT_BRACKETS_AND_QUOTES)
    # Now only []{}" are left, and every quote delimits a string: drop the strings.
    brackets = b"".join(b.split(b'"')[::2]) if b'"' in b else b
    left, run = brackets, None
    for _ in range(MAX_NESTING):  # each pass takes the innermost pairs away: a level
        if not left:
            return
        run = _OPENERS_RUN.search(left)
        if run:
            break  # too deep: say where
        fewer = left.replace(b"[]", b"").replace(b"{}", b"")
        if len(fewer) == len(left):
            break  # no pair left: unbalanced, or too deep in a way the count below settles
        left = fewer
    if not left:
        return
    if not run and max(accumulate(map(_STEP_BYTE.__getitem__, brackets))) <= MAX_NESTING:
        return  # unbalanced brackets, which json.loads refuses in a sentence
    depth = 0
    for m in _TOKEN.finditer(text):
        c = m.group()
        if c in ("[", "{"):
            depth += 1
            if depth > MAX_NESTING:
                raise InputInvalid(f"the event is nested deeper than {MAX_NESTING} levels "
                                   f"({_line_col(text, m.start())})")
        elif c in ("]", "}"):
            depth -= 1
    raise InputInvalid(f"the event is nested deeper than {MAX_NESTING} levels")


def _risky_escapes(text: str) -> bool:
    """Whether the text escapes a NUL or a surrogate that is not half of a pair. A cheap
    filter: an escaped backslash before ``u0000`` makes a false alarm, never a miss."""
    paired_until = -1
    for m in _RISKY_ESCAPE.finditer(text):
        escape = m.group()
        if escape == "\\u0000":
            return True
        if escape[3] in "89abAB":  # a high surrogate: a pair if a low one follows at once
            if not _LOW_ESCAPE.match(text, m.end()):
                return True
            paired_until = m.end() + 6
        elif m.start() >= paired_until:  # a low surrogate with no high one before it
            return True
    return False


def _line_col(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)  # 1-based, as json's own messages count
    return f"at line {line}, column {column}"


# ---- the JSON decoder's hooks --------------------------------------------------------------------


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InputInvalid(f"the event holds the key {_name(key)} twice in one object; "
                                   "duplicate keys are refused, since readers disagree on "
                                   "which value counts")
            seen.add(key)
    return obj


def _constant(name: str) -> Any:
    raise InputInvalid(f"the event holds {name}, which is not a JSON number; NaN and "
                       "Infinity are not allowed")


def _float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        shown = literal if len(literal) <= 24 else literal[:20] + "..."
        raise InputInvalid(f"the event holds the number {shown}, too large to be a finite "
                           "number")
    return value


def _int(literal: str) -> int:
    digits = len(literal) - literal.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise InputInvalid(f"the event holds an integer of {digits} digits; the limit is "
                           f"{MAX_INT_DIGITS}")
    try:
        return int(literal)
    except ValueError:  # the process lowered sys.set_int_max_str_digits below ours
        raise InputInvalid(f"the event holds an integer of {digits} digits, more than this "
                           "process converts") from None


# ---- sentences -------------------------------------------------------------------------------


def _check_string(s: str, what: str, path: Any) -> None:
    if "\x00" in s:
        raise InputInvalid(f"the event holds a NUL character in a {what} {_at(path, s, what)}; "
                           "NUL is not allowed in events")
    if not s.isascii():
        found = _SURROGATE.search(s)
        if found:
            raise InputInvalid(f"the event holds a lone surrogate (U+{ord(found.group()):04X}) "
                               f"in a {what} {_at(path, s, what)}; text must be valid Unicode")


def _at(path: Any, key: str | None = None, what: str = "") -> str:
    """``at $.a.b[2]``: the place, keys shown safely (escaped, shortened)."""
    steps: list[str] = []
    while path is not None:
        path, step = path
        steps.append(f"[{step}]" if isinstance(step, int) else
                     f".{step}" if _IDENTIFIER.match(step) and len(step) <= 40 else
                     f"[{_name(step)}]")
    place = "$" + "".join(reversed(steps))
    if what == "key" and key is not None:
        return f"(the key {_name(key)} of {place})"
    return f"at {place}"


def _name(key: str) -> str:
    return json.dumps(key if len(key) <= 40 else key[:37] + "...")  # ASCII: all escaped
