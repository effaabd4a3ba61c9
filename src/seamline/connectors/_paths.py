"""Vendor URL paths built from model output, which can never leave their template.

An id the model produced (``1/../../notes``, ``%2e%2e``, ``x?admin=1``, ``https://evil``)
is one path segment or nothing: each value is percent-encoded whole (``/`` included), and
values that would still mean something to a server after decoding (``.``, ``..``, also as
a part between slashes like ``1/../notes`` for servers that decode ``%2F`` early, control
characters, an empty string) are refused with a sentence. Decoding is repeated until the
text no longer changes, so ``%252e%252e`` is judged as ``..``. Hand-written because
``urllib.parse.quote`` encodes but does not refuse, and no library checks a template.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

from seamline.connectors._errors import BadParams

MAX_SEGMENT = 512
_FORMATTER = string.Formatter()
_SEPARATORS = re.compile(r"[/\\]")


def segment(value: Any, *, connector: str, name: str) -> str:
    """One path segment from ``value``, percent-encoded; BadParams if it cannot be one."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadParams(f"The path parameter {name!r} must be a string or an integer, "
                        f"not {type(value).__name__}.", connector=connector)
    text = str(value)
    decoded = _decoded(text)
    if not text.strip():
        raise BadParams(f"The path parameter {name!r} is empty.", connector=connector)
    if len(text) > MAX_SEGMENT:
        raise BadParams(f"The path parameter {name!r} is longer than {MAX_SEGMENT} characters.",
                        connector=connector)
    if any(part.strip() in {".", ".."} for part in _SEPARATORS.split(decoded)):
        raise BadParams(f"The path parameter {name!r} is {text!r}, which would move along the "
                        "path instead of naming a record.", connector=connector)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in decoded):
        raise BadParams(f"The path parameter {name!r} holds a control character.",
                        connector=connector)
    return quote(text, safe="")


def fill(template: str, params: Mapping[str, Any], *, connector: str) -> str:
    """``template`` (``/orders/{order_id}``) with each named value as one encoded segment.

    Fields must be whole names (no ``{a.b}``, ``{a[0]}`` or format specs); a name missing
    from ``params`` is a BadParams naming it.
    """
    out: list[str] = []
    for literal, field, spec, conversion in _FORMATTER.parse(template):
        out.append(literal)
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise BadParams(f"The path template {template!r} may only name params like "
                            "{order_id}.", connector=connector)
        if field not in params:
            raise BadParams(f"The path {template!r} names {field!r}, which is not among the "
                            "action's params.", connector=connector)
        out.append(segment(params[field], connector=connector, name=field))
    return "".join(out)


def _decoded(text: str) -> str:
    """``text`` percent-decoded until it no longer changes (at most five times)."""
    for _ in range(5):
        once = unquote(text)
        if once == text:
            break
        text = once
    return text


__all__ = ["MAX_SEGMENT", "fill", "segment"]
