"""Secrets by value: every secret Seamline is configured with, and taking them out of text.

Detectors find secrets by their shape (``ingest``'s SECRET kind); this module finds them by
their value, which catches what has no recognisable shape: one key of a list
(``SEAMLINE_API_KEYS="k1:admin k2"``), each of two rotated webhook secrets in one variable,
a password in a variable whose name says nothing. The audit trail, the logs, the console
and the model's request all pass through :func:`scrub`.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping

__all__ = ["MIN_SECRET_LENGTH", "configured_secrets", "register", "scrub", "scrub_value"]

MIN_SECRET_LENGTH = 8  # shorter values ("on", "8080") would scrub ordinary words
PLACEHOLDER = "<SECRET>"
# Names that say their value is a secret; values of such variables are split on spaces
# and commas (lists of keys, rotated secrets) and each part counts.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|PWD|DSN|CREDENTIAL|AUTH|PRIVATE", re.I)
# Variables whose values carry "name:role" or "key=label" pairs.
_PAIR = re.compile(r"[:=]")

_lock = threading.Lock()
_registered: set[str] = set()  # variable names declarations point at (secret_env, ...)
_cache: tuple[tuple[tuple[str, str], ...], tuple[str, ...], re.Pattern[str] | None] | None = None


def register(names: Iterable[str]) -> None:
    """Environment variables that a declaration names as holding a secret (its
    ``secret_env``, ``api_key_env``, a connector's credentials): their values are secrets
    whatever the variable is called."""
    global _cache
    with _lock:
        before = len(_registered)
        _registered.update(n for n in names if n)
        if len(_registered) != before:
            _cache = None


def _parts(value: str) -> set[str]:
    out = {value}
    for piece in re.split(r"[\s,;]+", value):
        out.add(piece)
        if _PAIR.search(piece):  # "key:role" -> the key
            out.add(_PAIR.split(piece, 1)[0])
    return {p for p in out if len(p) >= MIN_SECRET_LENGTH}


def configured_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Every secret value in the environment, longest first (so a secret that contains
    another is replaced whole)."""
    return _compiled(environ)[0]


def _compiled(environ: Mapping[str, str] | None) -> tuple[tuple[str, ...], re.Pattern[str] | None]:
    global _cache
    env = os.environ if environ is None else environ
    names = sorted(n for n in env if _SECRET_NAME.search(n) or n in _registered)
    key = tuple((n, env.get(n, "")) for n in names)
    cached = _cache
    if environ is None and cached is not None and cached[0] == key:
        return cached[1], cached[2]
    values: set[str] = set()
    for _, value in key:
        values |= _parts(value)
    ordered = tuple(sorted(values, key=lambda v: (-len(v), v)))
    pattern = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None
    if environ is None:
        with _lock:
            _cache = (key, ordered, pattern)
    return ordered, pattern


def scrub(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every configured secret replaced by ``<SECRET>``."""
    _, pattern = _compiled(environ)
    if pattern is None or not text:
        return text
    return pattern.sub(PLACEHOLDER, text)


def scrub_value(value: object, environ: Mapping[str, str] | None = None) -> object:
    """:func:`scrub` applied to every string (keys included) inside lists and dicts."""
    if isinstance(value, str):
        return scrub(value, environ)
    if isinstance(value, dict):
        return {scrub_value(k, environ): scrub_value(v, environ) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v, environ) for v in value]
    return value
