"""A signed checkpoint: "at time T, row S of the chain had hash H", under a named key.

The body is canonical JSON (sorted keys, no spaces); the signature covers its UTF-8 bytes.
Each checkpoint links to the one before it (``prev``: the SHA-256 of its body) and has an
index, so a checkpoint removed from a sink is seen as a gap. Its ``marks`` name the hashes
of every k-th row since the one before (a 16-hex-digit prefix each), which places a
rewrite within k rows. A rotation checkpoint carries
``next_key``: signed by the old key, it is how a verifier comes to trust the new one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from seamline.audit._signing import PublicKey, Signer

GENESIS = "0" * 64
FORMAT = "seamline-audit-checkpoint/1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    idx: int  # 1, 2, 3 … in the order they were signed
    seq: int  # the chain's last row when it was signed
    hash: str  # that row's hash (the head)
    at: float  # when (Unix seconds, the signer's clock)
    key_id: str  # the key that signed it
    prev: str = GENESIS  # SHA-256 of the previous checkpoint's body
    next_key: str = ""  # a rotation: the base64 public key that signs from the next one on
    # Every ``mark_every``-th row since the previous checkpoint: (seq, first 16 hex digits of
    # its hash). A rewrite is then placed within ``mark_every`` rows, not one interval.
    marks: tuple[tuple[int, str], ...] = ()
    signature: str = ""  # base64 Ed25519 over body()

    def body(self) -> bytes:
        fields: dict[str, Any] = {"format": FORMAT, "idx": self.idx, "seq": self.seq,
                                  "hash": self.hash, "at": self.at, "key_id": self.key_id,
                                  "prev": self.prev}
        if self.next_key:
            fields["next_key"] = self.next_key
        if self.marks:
            fields["marks"] = [[seq, h] for seq, h in self.marks]
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.body()).hexdigest()

    def signed_by(self, signer: Signer) -> Checkpoint:
        unsigned = replace(self, key_id=signer.key_id, signature="")
        return replace(unsigned, signature=base64.b64encode(signer.sign(unsigned.body())).decode())

    def verifies_with(self, key: PublicKey) -> bool:
        if key.key_id != self.key_id:
            return False
        try:
            sig = base64.b64decode(self.signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        return key.verifies(sig, self.body())

    def to_json(self) -> str:
        data = json.loads(self.body())
        data["signature"] = self.signature
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Checkpoint:
        """Parse a published checkpoint; ValueError with a sentence if it is not one."""
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} document")
            return cls(idx=int(data["idx"]), seq=int(data["seq"]), hash=str(data["hash"]),
                       at=float(data["at"]), key_id=str(data["key_id"]),
                       prev=str(data.get("prev", GENESIS)), next_key=str(data.get("next_key", "")),
                       marks=tuple((int(m[0]), str(m[1])) for m in data.get("marks", ())),
                       signature=str(data.get("signature", "")))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a signed audit checkpoint ({exc})") from None
