"""The key that commits to the chain: Ed25519, held outside the database.

The private key comes from ``SEAMLINE_AUDIT_KEY`` (PEM, or the 32 raw bytes in base64) or
from the file ``SEAMLINE_AUDIT_KEY_FILE`` names; never from the store, never into a log (a
variable named ``…KEY`` is scrubbed by value everywhere). The public key is what a
verifier is given: a PEM file, or the base64 of its 32 bytes. A key's id is the first 16
hex digits of the SHA-256 of its public bytes; checkpoints name the key that signed them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from seamline.errors import ConfigError

KEY_ENV = "SEAMLINE_AUDIT_KEY"
KEY_FILE_ENV = "SEAMLINE_AUDIT_KEY_FILE"
PUBLIC_KEY_ENV = "SEAMLINE_AUDIT_PUBLIC_KEY"


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A key a verifier trusts (or learns of through a signed rotation)."""

    key: Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return _raw_public(self.key)

    @property
    def key_id(self) -> str:
        return key_id_of(self.raw)

    @property
    def text(self) -> str:
        """The 32 public bytes in base64: how a rotation announces the next key."""
        return base64.b64encode(self.raw).decode()

    def pem(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.PEM,
                                     serialization.PublicFormat.SubjectPublicKeyInfo)

    def verifies(self, signature: bytes, data: bytes) -> bool:
        try:
            self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


class Signer:
    """The private half. ``repr`` names the key id only."""

    __slots__ = ("_key", "public")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = PublicKey(key.public_key())

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def pem(self) -> bytes:
        return self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id})"

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())


def _private_from(text: bytes, where: str) -> Signer:
    stripped = text.strip()
    try:
        if stripped.startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(stripped, password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(stripped, validate=True))
    except (ValueError, TypeError, binascii.Error):
        raise ConfigError(f"{where} is not an Ed25519 private key (PEM, or 32 bytes in "
                          "base64); create one with: seamline audit keygen FILE") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{where} is not an Ed25519 key; the audit chain is signed with Ed25519.")
    return Signer(key)


def load_signer(path: str | Path) -> Signer:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"The audit signing key file {p} does not exist.")
    return _private_from(p.read_bytes(), f"The audit signing key file {p}")


def signer_from_env() -> Signer | None:
    """The configured signing key, or None when the chain is to run unsigned."""
    text = os.environ.get(KEY_ENV, "").strip()
    if text:
        return _private_from(text.encode(), KEY_ENV)
    path = os.environ.get(KEY_FILE_ENV, "").strip()
    return load_signer(path) if path else None


def load_public_key(source: str | Path) -> PublicKey:
    """A public key from a PEM file, or the base64 of its 32 bytes (a file or the text)."""
    p = Path(source).expanduser()
    data = p.read_bytes() if p.is_file() else str(source).encode()
    stripped = data.strip()
    try:
        if stripped.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(stripped)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(stripped, validate=True))
    except (ValueError, TypeError, binascii.Error):
        raise ConfigError(f"{source} is not an Ed25519 public key (a PEM file, or 32 bytes in "
                          "base64).") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{source} is not an Ed25519 public key.")
    return PublicKey(key)


def write_key_pair(path: str | Path, signer: Signer | None = None) -> Signer:
    """Write a new private key (mode 0600, never overwritten) and its ``.pub`` beside it."""
    p = Path(path).expanduser()
    p.parent.mkdir(parents=True, exist_ok=True)
    signer = signer or Signer.generate()
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(f"{p} exists already; a signing key is never overwritten.") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(signer.pem())
    public_path(p).write_bytes(signer.public.pem())
    return signer


def public_path(private: Path) -> Path:
    return private.with_name(private.name.removesuffix(".key") + ".pub")


def config_dir() -> Path:
    """The user's configuration folder for Seamline (``$XDG_CONFIG_HOME/seamline``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "seamline"


def local_key_path() -> Path:
    """Where ``seamline demo`` keeps the key it generates when none is configured."""
    return config_dir() / "audit-signing.key"


def local_signer() -> tuple[Signer, bool]:
    """The user's local signing key, made on first use; (signer, made now)."""
    path = local_key_path()
    if path.is_file():
        return load_signer(path), False
    return write_key_pair(path), True
