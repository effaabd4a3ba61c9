"""Layer 1, ingest: fitting a prompt into the context window.

Oversize input is truncated with a visible marker, or dead-lettered, as the
integration declares; never sent whole and never silently cut.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seamline.errors import InputTooLarge
from seamline.ingest._tokens import TokenCounter

TRUNCATION_MARKER = "\n[… truncated by Seamline: {n} characters removed to fit the context window …]"


def fit_context(data: dict[str, Any], render: Callable[[dict[str, Any]], Any], *,
                counter: TokenCounter, budget: int, policy: str,
                fields: tuple[str, ...] = ()) -> tuple[Any, dict[str, Any], int]:
    """Render ``data``; shrink its longest text field until the prompt fits ``budget`` tokens.

    Returns (rendered, data actually used, tokens). ``render(data)`` returns an object
    with ``system`` and ``user``.
    """
    rendered = render(data)
    tokens = counter.count(rendered.system) + counter.count(rendered.user)
    if tokens <= budget:
        return rendered, data, tokens
    if policy == "dead_letter":
        raise InputTooLarge(f"the prompt needs {tokens} tokens but the context window leaves "
                            f"{budget}; the integration's oversize policy is dead_letter")
    original = data
    data = dict(data)
    removed: dict[str, int] = {}
    candidates = [f for f in (fields or tuple(data)) if isinstance(data.get(f), str)]
    for _ in range(8):
        if not candidates:
            break
        longest = max(candidates, key=lambda f: len(original[f]) - removed.get(f, 0))
        text = original[longest]
        excess = tokens - budget
        # A token is at most one character and usually about four; overshoot a little
        # rather than loop, since every pass re-renders the prompt.
        step = max(excess * 4, int(len(text) * excess / max(tokens, 1))) + 64
        removed[longest] = min(len(text), removed.get(longest, 0) + step)
        kept = text[: len(text) - removed[longest]]
        data[longest] = kept + TRUNCATION_MARKER.format(n=removed[longest])
        rendered = render(data)
        tokens = counter.count(rendered.system) + counter.count(rendered.user)
        if tokens <= budget:
            return rendered, data, tokens
        if not kept:
            candidates.remove(longest)
    raise InputTooLarge(f"the prompt still needs {tokens} tokens after truncating its text "
                        f"fields; the context window leaves {budget}")
