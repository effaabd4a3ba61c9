"""Paths into an output or input: ``a.b``, ``claims[].quotes[]`` (``[]`` steps into lists)."""

from __future__ import annotations

from typing import Any


def values_at(obj: Any, path: str) -> list[Any]:
    """Every value at ``path`` (``a.b``, ``claims[].quotes[]``) in ``obj``; missing: none."""
    found = [obj]
    for part in path.split("."):
        many = part.endswith("[]")
        key = part[:-2] if many else part
        step: list[Any] = []
        for item in found:
            if key:
                if not isinstance(item, dict) or key not in item:
                    continue
                item = item[key]
            if many:
                step.extend(item if isinstance(item, list) else [])
            else:
                step.append(item)
        found = step
    return [v for v in found if v is not None]
