"""Token counts and prompt caching as the emulator reports them: plausible, deterministic, cheap.

Tokens are approximated as one per four characters. Caching follows each provider's
rules closely enough for cost accounting to be tested: Anthropic caches the prefix up to
each ``cache_control`` breakpoint (written the first time, read afterwards); OpenAI caches
automatically, prompts of 1024 tokens or more, in 128-token steps.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def approx_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


@dataclass(frozen=True, slots=True)
class Segment:
    """One cacheable piece of a prompt, in order: a tool, a system block, a message block."""

    data: Any
    tokens: int
    breakpoint: bool = False  # carries cache_control (Anthropic) / ends a message (OpenAI)


@dataclass(frozen=True, slots=True)
class PromptUsage:
    input_tokens: int  # not served from or written to the cache
    cache_write_tokens: int
    cache_read_tokens: int


class PromptCache:
    """Which prompt prefixes this emulator has seen, per model; thread-safe, no expiry."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def _prefixes(self, model: str, segments: Sequence[Segment]) -> list[tuple[str, int]]:
        """(key, tokens) of the prefix ending at each breakpoint, shortest first."""
        out, digest, tokens = [], hashlib.sha256(model.encode()), 0
        for seg in segments:
            digest.update(json.dumps(seg.data, sort_keys=True, default=str).encode())
            tokens += seg.tokens
            if seg.breakpoint:
                out.append((digest.copy().hexdigest(), tokens))
        return out

    def anthropic(self, model: str, segments: Sequence[Segment]) -> PromptUsage:
        total = sum(s.tokens for s in segments)
        prefixes = self._prefixes(model, segments)
        with self._lock:
            read = max((t for k, t in prefixes if k in self._seen), default=0)
            written = (prefixes[-1][1] - read) if prefixes else 0
            self._seen.update(k for k, _ in prefixes)
        return PromptUsage(total - read - written, written, read)

    def openai(self, model: str, segments: Sequence[Segment]) -> PromptUsage:
        total = sum(s.tokens for s in segments)
        prefixes = self._prefixes(model, segments)
        with self._lock:
            seen = max((t for k, t in prefixes if k in self._seen), default=0)
            if total >= 1024:
                self._seen.update(k for k, _ in prefixes)
        read = (seen // 128) * 128 if total >= 1024 and seen >= 1024 else 0
        # OpenAI reports cached tokens inside prompt_tokens; input_tokens here is the uncached rest.
        return PromptUsage(total - read, 0, read)
