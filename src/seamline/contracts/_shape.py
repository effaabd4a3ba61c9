"""The shape of a JSON payload: every field's dotted path and its JSON type.

``{"data": {"items": [{"id": 1}]}}`` has the shape ``{"data": "object",
"data.items": "array", "data.items[].id": "integer"}``. Shapes are what contracts
compare: values never leave this module, so a recorded contract holds no PII.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 12
MAX_PATHS = 2_000  # a payload with more fields than this is summarised, not walked in full


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def shape_of(payload: Any) -> dict[str, str]:
    """Path -> type for every field of ``payload`` (array items merged under ``[]``)."""
    shape: dict[str, str] = {}

    def walk(value: Any, path: str, depth: int) -> None:
        if len(shape) >= MAX_PATHS or depth > MAX_DEPTH:
            return
        if isinstance(value, dict):
            for key, child in value.items():
                sub = f"{path}.{key}" if path else str(key)
                _note(shape, sub, child)
                walk(child, sub, depth + 1)
        elif isinstance(value, list | tuple):
            for child in value:
                sub = f"{path}[]"
                _note(shape, sub, child)
                walk(child, sub, depth + 1)

    walk(payload, "", 0)
    return shape


def _note(shape: dict[str, str], path: str, value: Any) -> None:
    kind = json_type(value)
    seen = shape.get(path)
    if seen is None or seen == kind:
        shape[path] = kind
    elif kind not in seen.split("|"):
        shape[path] = "|".join(sorted({*seen.split("|"), kind}))
