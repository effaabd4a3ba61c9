"""What the audit trail is trusted with in this process: its key, its sink, its verifier.

``start_checkpoints(store)`` is what the runtime calls once per store: with a signing key
configured it starts the background signer; without one it says once, in the log, that
the chain runs unsigned. ``verify(store, …)`` is the one entry point for verification.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path

from seamline.audit._checkpoint import Checkpoint
from seamline.audit._checkpointer import EVERY_ROWS, EVERY_S, Checkpointer
from seamline.audit._read import stored_head, stored_rows
from seamline.audit._signing import (
    KEY_ENV,
    KEY_FILE_ENV,
    PUBLIC_KEY_ENV,
    PublicKey,
    Signer,
    config_dir,
    load_public_key,
    local_key_path,
    public_path,
    signer_from_env,
)
from seamline.audit._sinks import SINK_ENV, Sink, sink_for
from seamline.audit._verify import ChainProblem, VerifyReport, trusted_checkpoints, verify_rows
from seamline.errors import AuditError
from seamline.store import Store

log = logging.getLogger("seamline.audit")

UNSIGNED = (f"The audit chain is not signed ({KEY_ENV} and {KEY_FILE_ENV} are unset): verify "
            "catches edits that break the chain, not a database writer who recomputes every "
            "hash and the head. Create a key with `seamline audit keygen FILE` and set "
            f"{KEY_FILE_ENV}.")

_started: weakref.WeakKeyDictionary[Store, Checkpointer] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_said_unsigned = False


def store_fingerprint(store: Store) -> str:
    """A name for a store that does not spell out its URL (no password, no path)."""
    url = store.url
    if "@" in url:  # drop the credentials of postgresql://user:pw@host/db
        scheme, rest = url.split("://", 1)
        url = f"{scheme}://{rest.rsplit('@', 1)[1]}"
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def default_sink_dir(store: Store) -> Path:
    """Checkpoints of a store with no sink configured: the user's config folder, outside
    the database and its folder (``$XDG_CONFIG_HOME/seamline/checkpoints/<store>``)."""
    return config_dir() / "checkpoints" / store_fingerprint(store)


def configured_sink(store: Store) -> Sink:
    target = os.environ.get(SINK_ENV, "").strip()
    return sink_for(target) if target else sink_for(default_sink_dir(store))


def _every() -> tuple[int, float]:
    rows = os.environ.get("SEAMLINE_AUDIT_CHECKPOINT_ROWS", "")
    secs = os.environ.get("SEAMLINE_AUDIT_CHECKPOINT_S", "")
    try:
        return (int(rows) if rows else EVERY_ROWS), (float(secs) if secs else EVERY_S)
    except ValueError:
        log.warning("SEAMLINE_AUDIT_CHECKPOINT_ROWS / _S are not numbers; using %d rows / %g s",
                    EVERY_ROWS, EVERY_S)
        return EVERY_ROWS, EVERY_S


def start_checkpoints(store: Store, *, signer: Signer | None = None, sink: Sink | None = None,
                      every_rows: int | None = None, every_s: float | None = None,
                      ) -> Checkpointer | None:
    """Sign this store's chain in the background (once per store); None when unsigned."""
    global _said_unsigned
    if ":memory:" in store.url:
        return None  # gone with the process: nothing outside it to commit to
    with _lock:
        running = _started.get(store)
        if running is not None:
            return running
        signer = signer or signer_from_env()
        if signer is None:
            if not _said_unsigned:
                log.warning(UNSIGNED)
                _said_unsigned = True
            return None
        rows, secs = _every()
        cp = Checkpointer(store, signer, sink or configured_sink(store),
                          every_rows=every_rows or rows, every_s=every_s or secs).attach()
        _started[store] = cp
        return cp


def stop_checkpoints(store: Store) -> None:
    """Sign the tail and stop this store's signer (before closing the store)."""
    with _lock:
        cp = _started.pop(store, None)
    if cp is not None:
        cp.close(final=True)


def trusted_keys(given: Sequence[str] = ()) -> tuple[list[PublicKey], str]:
    """The public keys to verify with, and where they came from (a sentence's subject)."""
    if given:
        return [load_public_key(k) for k in given], "the public key(s) you gave"
    env = os.environ.get(PUBLIC_KEY_ENV, "").strip()
    if env:
        return [load_public_key(k.strip()) for k in env.split(",") if k.strip()], PUBLIC_KEY_ENV
    signer = signer_from_env()
    if signer is not None:
        return [signer.public], "this operator's own signing key"
    local = public_path(local_key_path())
    if local.is_file():
        return [load_public_key(local)], f"the local key `seamline demo` made ({local})"
    return [], ""


def verify(store: Store, *, batch: int = 5000, checkpoints: Sink | None = None,
           keys: Sequence[PublicKey] | None = None) -> VerifyReport:
    """Recompute the chain; with keys, hold it against the checkpoints those keys signed.

    ``checkpoints``: the sink to read them from (an auditor's own copy); by default the
    configured sink. Without ``keys`` this is the unsigned check alone."""
    cps: list[Checkpoint] = []
    problems: list[ChainProblem] = []
    notes: list[str] = []
    if keys:
        cps, problems, notes = _read_checkpoints(checkpoints or configured_sink(store), keys)
    report = verify_rows(stored_rows(store, batch=batch), stored_head(store), cps, signed=bool(keys))
    return _merged(report, problems, notes)


def verify_export(lines, *, checkpoints: Sink | None, keys: Sequence[PublicKey]) -> VerifyReport:
    """Verify an export (an iterator of its lines) with only public keys and checkpoints."""
    from seamline.audit._verify import rows_of_export

    head, rows = rows_of_export(iter(lines))
    cps, problems, notes = (_read_checkpoints(checkpoints, keys)
                            if keys and checkpoints is not None else ([], [], []))
    return _merged(verify_rows(rows, head, cps, signed=bool(keys)), problems, notes)


def _read_checkpoints(sink: Sink, keys: Sequence[PublicKey],
                      ) -> tuple[list[Checkpoint], list[ChainProblem], list[str]]:
    try:
        documents = sink.documents()
    except (AuditError, OSError) as exc:  # a sink that is down cannot vouch for anything
        return [], [ChainProblem(0, f"the checkpoints could not be read: {exc}")], []
    return trusted_checkpoints(documents, keys)


def _merged(report: VerifyReport, problems, notes) -> VerifyReport:
    if not problems and not notes:
        return report
    from dataclasses import replace

    return replace(report, problems=tuple(problems) + report.problems,
                   notes=tuple(notes) + report.notes)
