"""Rotating the signing key, and replacing a lost one: both are audit rows.

Rotation: an ``audit_key_rotated`` row names the old and new key, then a checkpoint signed
by the *old* key covers that row and announces the new public key (``next_key``); from
then on the new key signs. A verifier that trusts the old key comes to trust the new one
through that checkpoint. A lost key cannot announce its successor: the replacement is an
``audit_key_replaced`` row and a checkpoint under the new key, which a verifier accepts
only when given the new public key too (and ``verify`` says from which row on).
"""

from __future__ import annotations

from seamline.audit._chain import AuditEntry, append
from seamline.audit._checkpoint import Checkpoint
from seamline.audit._checkpointer import checkpoint
from seamline.audit._signing import Signer
from seamline.audit._sinks import Sink
from seamline.store import Store


def rotate_key(store: Store, old: Signer, new: Signer, sink: Sink | None, *, reason: str = "",
               actor: str = "") -> Checkpoint:
    with store.write() as conn:
        append(conn, [AuditEntry("", "", "audit_key_rotated", {
            "from": old.key_id, "to": new.key_id, "public_key": new.public.text,
            "reason": reason, "actor": actor})])
    signed = checkpoint(store, old, sink, next_key=new.public)
    assert signed.checkpoint is not None  # a rotation always signs
    checkpoint(store, new, sink, force=True)  # the first checkpoint under the new key
    return signed.checkpoint


def replace_lost_key(store: Store, new: Signer, sink: Sink | None, *, lost_key_id: str = "",
                     reason: str = "", actor: str = "") -> Checkpoint:
    with store.write() as conn:
        append(conn, [AuditEntry("", "", "audit_key_replaced", {
            "lost": lost_key_id, "to": new.key_id, "public_key": new.public.text,
            "reason": reason, "actor": actor})])
    signed = checkpoint(store, new, sink, force=True)
    assert signed.checkpoint is not None
    return signed.checkpoint
