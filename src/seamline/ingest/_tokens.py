"""Layer 1, ingest: counting tokens offline, to fit the context window.

tiktoken downloads its vocabularies at run time, which fails on machines with no
network; we use it only when its files are already cached and fall back to a
conservative estimate otherwise (written by hand: no offline library does this).
"""

from __future__ import annotations

import os
import re
from typing import Protocol

# Roughly how BPE vocabularies split text: words, numbers, single symbols.
_PIECES = re.compile(r"[A-Za-z]+|\d{1,3}|[^\sA-Za-z\d]")


class TokenCounter(Protocol):
    name: str

    def count(self, text: str) -> int: ...


class ApproxTokenCounter:
    """Never under-counts much: long words cost one token per 4 letters, digits one per 3,
    every other non-space character (CJK, symbols) one token each."""

    name = "approx"

    def count(self, text: str) -> int:
        if text.isascii():
            n = 0
            for piece in _PIECES.findall(text):
                n += (len(piece) + 3) // 4 if piece[0].isalpha() else 1
            return n
        return sum((len(p) + 3) // 4 if p.isascii() and p[0].isalpha() else 1
                   for p in _PIECES.findall(text))


class TiktokenCounter:
    name = "tiktoken"

    def __init__(self, encoding) -> None:
        self._enc = encoding

    def count(self, text: str) -> int:
        return len(self._enc.encode(text, disallowed_special=()))


def default_counter() -> TokenCounter:
    """tiktoken's cl100k_base when it is installed and cached locally, else the estimate."""
    if os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR"):
        try:
            import tiktoken

            return TiktokenCounter(tiktoken.get_encoding("cl100k_base"))
        except Exception:  # noqa: BLE001, S110 - any failure to load means: use the estimate
            pass
    return ApproxTokenCounter()
