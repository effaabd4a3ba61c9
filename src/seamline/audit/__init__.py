"""Layer 6, audit: an append-only, hash-chained record of every event's story, committed to
outside the database by signed checkpoints.

``append`` writes inside a caller's transaction; ``start_checkpoints`` signs the chain's
head every N rows or T seconds with an Ed25519 key held outside the store and publishes
each checkpoint to a sink (a folder, a URL); ``verify`` names broken rows and, given the
public key, every row that contradicts a checkpoint; ``export`` writes the chain for an
auditor who trusts only the public key. ``purge`` drops old payloads and ``erase``
forgets a person, both keeping the chain verifiable. See docs/audit.md. Each name loads
with its own module on first use (``seamline.lazy``): appending to the chain does not
import the signing library.
"""

from typing import TYPE_CHECKING

from seamline.lazy import surface

_MODULES = {
    "_chain": ("AuditEntry", "append", "canonical_json"),
    "_checkpoint": ("Checkpoint",),
    "_checkpointer": ("Checkpointer", "checkpoint", "publish_pending", "sign_head"),
    "_erasure": ("Erased", "erase", "subject_hash"),
    "_read": ("export", "story"),
    "_retention": ("Purged", "purge"),
    "_rotation": ("replace_lost_key", "rotate_key"),
    "_signing": ("KEY_ENV", "KEY_FILE_ENV", "PUBLIC_KEY_ENV", "PublicKey", "Signer",
                 "load_public_key", "load_signer", "local_key_path", "local_signer",
                 "public_path", "signer_from_env", "write_key_pair"),
    "_sinks": ("SINK_ENV", "DirectorySink", "HttpSink", "Sink", "sink_for"),
    "_trust": ("UNSIGNED", "configured_sink", "default_sink_dir", "start_checkpoints",
               "stop_checkpoints", "trusted_keys", "verify", "verify_export"),
    "_verify": ("ChainProblem", "VerifyReport"),
}

if TYPE_CHECKING:
    from seamline.audit._chain import AuditEntry, append, canonical_json
    from seamline.audit._checkpoint import Checkpoint
    from seamline.audit._checkpointer import Checkpointer, checkpoint, publish_pending, sign_head
    from seamline.audit._erasure import Erased, erase, subject_hash
    from seamline.audit._read import export, story
    from seamline.audit._retention import Purged, purge
    from seamline.audit._rotation import replace_lost_key, rotate_key
    from seamline.audit._signing import (
        KEY_ENV,
        KEY_FILE_ENV,
        PUBLIC_KEY_ENV,
        PublicKey,
        Signer,
        load_public_key,
        load_signer,
        local_key_path,
        local_signer,
        public_path,
        signer_from_env,
        write_key_pair,
    )
    from seamline.audit._sinks import SINK_ENV, DirectorySink, HttpSink, Sink, sink_for
    from seamline.audit._trust import (
        UNSIGNED,
        configured_sink,
        default_sink_dir,
        start_checkpoints,
        stop_checkpoints,
        trusted_keys,
        verify,
        verify_export,
    )
    from seamline.audit._verify import ChainProblem, VerifyReport
else:
    __getattr__, __dir__ = surface(__name__, _MODULES)

__all__ = [
    "KEY_ENV",
    "KEY_FILE_ENV",
    "PUBLIC_KEY_ENV",
    "SINK_ENV",
    "UNSIGNED",
    "AuditEntry",
    "ChainProblem",
    "Checkpoint",
    "Checkpointer",
    "DirectorySink",
    "Erased",
    "HttpSink",
    "PublicKey",
    "Purged",
    "Signer",
    "Sink",
    "VerifyReport",
    "append",
    "canonical_json",
    "checkpoint",
    "configured_sink",
    "default_sink_dir",
    "erase",
    "export",
    "load_public_key",
    "load_signer",
    "local_key_path",
    "local_signer",
    "public_path",
    "publish_pending",
    "purge",
    "replace_lost_key",
    "rotate_key",
    "sign_head",
    "signer_from_env",
    "sink_for",
    "start_checkpoints",
    "stop_checkpoints",
    "story",
    "subject_hash",
    "trusted_keys",
    "verify",
    "verify_export",
    "write_key_pair",
]
