"""Secrets by value: every secret Seamline is configured with, and taking them out of text.

Detectors find secrets by their shape (``ingest``'s SECRET kind); this module finds them by
their value, which catches what has no recognisable shape: one key of a list
(``SEAMLINE_API_KEYS="k1:admin,k2"``), each of two rotated webhook secrets in one variable,
a password in a variable whose name says nothing but that a declaration names. The audit
trail, the logs, the console and the model's request all pass through :func:`scrub`.

Which variables hold secrets: those a declaration names (:func:`register`: a source's
``secret_env``, a model's ``api_key_env``, a connector's credential options), those whose
names say so (KEY, TOKEN, SECRET, PASSW, PWD, DSN, CREDENTIAL, AUTH, PRIVATE …), and the
password of any URL in the environment (``postgresql://app:pw@db``). Each value counts
whole and split into its parts (spaces, commas: lists and rotations; ``key:role``).

:func:`scrub` is called on every audit append and log record, so the secrets are worked out
once per state of the environment: a call costs a dict comparison (about a microsecond)
plus one substring search per secret, and a changed or rotated variable is seen at once.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["MIN_SECRET_LENGTH", "PLACEHOLDER", "SecretFilter", "configured_secrets",
           "install_log_filter", "looks_secret", "register", "scrub", "scrub_value"]

MIN_SECRET_LENGTH = 8  # shorter values ("on", "8080", "viewer") would scrub ordinary words
PLACEHOLDER = "<SECRET_FROM_ENV>"

# Name parts that say a variable holds a secret: anywhere in the name ...
_SECRET_INFIX = re.compile(r"KEY|TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL|PRIVATE")
# ... or as a whole word of it (AUTHOR_NAME and ADDSNAP merely contain AUTH and DSN).
_SECRET_WORDS = frozenset({"PWD", "DSN", "AUTH", "PASS", "CREDS", "PIN"})
# Named like a secret, but holding where the shell is or a socket path: they appear in
# every traceback and log line, and scrubbing them would hide where things happened.
_NOT_SECRET = frozenset({"PWD", "OLDPWD", "SSH_AUTH_SOCK"})
_PARTS = re.compile(r"[\s,;]+")
_ROLE_LIKE = re.compile(r"[A-Za-z_]{1,12}")  # the "role" of "key:role" (SEAMLINE_API_KEYS)

_lock = threading.Lock()
_registered: frozenset[str] = frozenset()  # variable names declarations point at


@dataclass(frozen=True, slots=True)
class _Known:
    """The secrets worked out from one state of the environment and of the registrations."""

    snapshot: object  # a copy of the environment they were read from (compared, never read)
    registered: frozenset[str]
    candidates: tuple[tuple[str, str], ...]  # (name, value) of every variable that counted
    secrets: tuple[str, ...]


_known: _Known | None = None
_given: _Known | None = None  # the last explicitly passed environment's


def register(names: Iterable[str | None]) -> None:
    """Environment variables that a declaration names as holding a secret (its
    ``secret_env``, ``api_key_env``, a connector's credentials): their values are secrets
    whatever the variables are called. Registering is cumulative and idempotent."""
    global _registered
    new = {n for n in names if n}
    if new <= _registered:
        return
    with _lock:
        _registered = _registered | new


def looks_secret(name: str) -> bool:
    """Whether a variable's name alone says it holds a secret."""
    upper = name.upper()
    if upper in _NOT_SECRET:
        return False
    return bool(_SECRET_INFIX.search(upper)) or not _SECRET_WORDS.isdisjoint(
        re.split(r"[^A-Z0-9]+", upper))


def _url_passwords(value: str) -> set[str]:
    """``:password@`` of every URL in ``value`` (the bare password could be a common word)."""
    out: set[str] = set()
    for piece in _PARTS.split(value):
        if "://" not in piece or "@" not in piece:
            continue
        try:
            password = urlsplit(piece).password
        except ValueError:
            continue
        if password:
            out |= {password, unquote(password)}
    return out


def _parts(value: str) -> set[str]:
    """The value whole and each part of it: lists, rotations, ``key:role``, base64 unpadded."""
    value = value.strip()
    out = {value}
    for piece in _PARTS.split(value):
        out.add(piece)
        out.add(piece.rstrip("="))
        key, sep, rest = piece.rpartition(":")
        if sep and key and "//" not in piece:
            out.add(key)
            if not _ROLE_LIKE.fullmatch(rest):  # "user:password", not "key:viewer"
                out.add(rest)
    out |= _url_passwords(value)
    return out


def _work_out(env: Mapping[str, str], registered: frozenset[str],
              snapshot: object) -> _Known:
    candidates: list[tuple[str, str]] = []
    values: set[str] = set()
    for name, value in env.items():
        if name in registered or looks_secret(name):
            candidates.append((name, value))
            values |= _parts(value)
        elif "://" in value and "@" in value:
            passwords = _url_passwords(value)
            if passwords:
                candidates.append((name, value))
                values |= {f":{p}@" for p in passwords}
    secrets = tuple(sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH),
                           key=lambda v: (-len(v), v)))
    return _Known(snapshot, registered, tuple(sorted(candidates)), secrets)


def _secrets(environ: Mapping[str, str] | None) -> tuple[str, ...]:
    global _known, _given
    registered = _registered
    if environ is not None:
        known = _given
        if known is None or known.registered != registered or known.snapshot != dict(environ):
            known = _given = _work_out(environ, registered, dict(environ))
        return known.secrets
    # os.environ decodes every name and value when listed (tens of µs); its raw dict is
    # compared instead, which costs about a microsecond while nothing changed.
    raw = getattr(os.environ, "_data", None)
    known = _known
    if known is not None and raw is not None and known.registered is registered and \
            known.snapshot == raw:
        return known.secrets
    # The copy is taken first: a change made meanwhile is then seen by the next call.
    snapshot = dict(raw) if raw is not None else None
    fresh = _work_out(os.environ, registered, snapshot)
    if known is not None and known.candidates == fresh.candidates:
        fresh = _Known(fresh.snapshot, registered, fresh.candidates, known.secrets)
    _known = fresh
    return fresh.secrets


def configured_secrets(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Every secret value in the environment (``os.environ`` unless given), longest first
    (so a secret that contains another is replaced whole)."""
    return _secrets(environ)


def scrub(text: str, environ: Mapping[str, str] | None = None, *,
          secrets: tuple[str, ...] | None = None) -> str:
    """``text`` with every configured secret replaced by ``<SECRET_FROM_ENV>``.

    Where two secrets overlap, the union of both is replaced: no part of either is left.
    ``secrets`` (from :func:`configured_secrets`) spares a caller scrubbing many strings
    at once the check of the environment for each.
    """
    if not text:
        return text
    if secrets is None:
        secrets = _secrets(environ)
    present = [s for s in secrets if s in text]
    if not present:
        return text
    spans: list[tuple[int, int]] = []
    for secret in present:
        at = text.find(secret)
        while at >= 0:
            spans.append((at, at + len(secret)))
            at = text.find(secret, at + 1)
    spans.sort()
    out: list[str] = []
    pos, (start, end) = 0, spans[0]
    for s, e in spans[1:]:
        if s <= end:
            end = max(end, e)
            continue
        out += [text[pos:start], PLACEHOLDER]
        pos, start, end = end, s, e
    out += [text[pos:start], PLACEHOLDER, text[end:]]
    return "".join(out)


def scrub_value(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """:func:`scrub` applied to every string (keys included) inside lists and dicts;
    tuples come back as lists, other values as they are."""
    secrets = _secrets(environ)
    return _walk(value, secrets) if secrets else value


def _walk(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return scrub(value, secrets=secrets)
    if isinstance(value, dict):
        return {_walk(k, secrets): _walk(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, secrets) for v in value]
    return value


# -- logs ------------------------------------------------------------------------------


class SecretFilter(logging.Filter):
    """Scrubs a record's message (arguments merged in), traceback and stack in place;
    never drops a record. Attach it to a handler, or let :func:`install_log_filter` run it
    on every record of the ``seamline`` loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _secrets(None)
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format or __str__: logging reports it itself
            return True
        clean = scrub(message, secrets=secrets)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            shown = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            clean = scrub(shown, secrets=secrets)
            if clean != shown:  # the formatter prints exc_text rather than format it anew
                record.exc_text = clean
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text, secrets=secrets)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, secrets=secrets)
        return True


_FILTER = SecretFilter()
_installed = False


def install_log_filter() -> None:
    """Scrub every record of the ``seamline`` logger hierarchy before any handler sees it.

    A filter on the ``seamline`` logger would only see records logged on that one logger,
    not on ``seamline.edges`` and the rest, and handlers are configured by whoever runs
    Seamline; so the filter runs where records are made (the log record factory, wrapped,
    never replaced). Idempotent; other libraries' records are left alone.
    """
    global _installed
    if _installed:
        return
    with _lock:
        if _installed:
            return
        made: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = made(*args, **kwargs)
            if record.name == "seamline" or record.name.startswith("seamline."):
                _FILTER.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
