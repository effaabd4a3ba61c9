"""Layer 1, ingest: the vault keeps the real values behind PII placeholders.

Encrypted with Fernet (from ``cryptography``); only the action layer reveals them,
and neither the model nor the audit trail ever sees them. ``cryptography`` is imported
when a key is made or a vault opened: `seamline queue status` imports the queue, which
seals with a vault, and needs no cipher to count jobs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from seamline.errors import ConfigError
from seamline.store import FastStatement, Store
from seamline.store.tables import vault as vault_table

_PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*_\d+>")


def vault_key(store: Store) -> bytes:
    """``SEAMLINE_VAULT_KEY`` from the environment; for a local SQLite store only, a key
    file beside the database (mode 0600) is made on first use."""
    from cryptography.fernet import Fernet

    env = os.environ.get("SEAMLINE_VAULT_KEY")
    if env:
        return env.encode()
    if store.dialect != "sqlite" or ":memory:" in store.url:
        if ":memory:" in store.url:
            return Fernet.generate_key()
        raise ConfigError("Set SEAMLINE_VAULT_KEY (a Fernet key) to use a shared database.")
    path = Path(store.url.removeprefix("sqlite:///")).with_name("vault.key")
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(Fernet.generate_key())
    return path.read_bytes().strip()


_INSERT = FastStatement(insert(vault_table))


class Vault:
    def __init__(self, store: Store, key: bytes | None = None) -> None:
        from cryptography.fernet import Fernet

        self.store = store
        try:
            self._fernet = Fernet(key or vault_key(store))
        except ValueError as exc:
            raise ConfigError("SEAMLINE_VAULT_KEY is not a valid Fernet key "
                              "(32 url-safe base64-encoded bytes).") from exc

    def put(self, conn: Connection, event_id: str, mapping: Mapping[str, str]) -> None:
        if mapping:
            _INSERT.run_many(conn, [
                {"event_id": event_id, "placeholder": ph,
                 "ciphertext": self._fernet.encrypt(_utf8(value)).decode()}
                for ph, value in mapping.items()
            ])

    def seal(self, text: str) -> str:
        """Encrypt a whole text (a raw event waiting in the queue, before any redaction)."""
        return self.seal_bytes(_utf8(text))

    def unseal(self, token: str) -> str:
        return _text(self.unseal_bytes(token))

    def seal_bytes(self, data: bytes) -> str:
        """Encrypt bytes as they are (a raw event that is not UTF-8 is kept exactly so, for
        the decoder to refuse with the reason, not silently repaired)."""
        return self._fernet.encrypt(data).decode()

    def unseal_bytes(self, token: str) -> bytes:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token.encode())
        except (InvalidToken, ValueError):  # ValueError: not even ASCII, so no token at all
            raise ConfigError("The vault key does not match the one this job was sealed "
                              "with (or the sealed payload is damaged); set "
                              "SEAMLINE_VAULT_KEY to the original key.") from None

    def mapping(self, event_id: str) -> dict[str, str]:
        with self.store.read() as conn:
            rows = conn.execute(select(vault_table.c.placeholder, vault_table.c.ciphertext)
                                .where(vault_table.c.event_id == event_id)).all()
        from cryptography.fernet import InvalidToken

        try:
            return {r.placeholder: _text(self._fernet.decrypt(r.ciphertext.encode())) for r in rows}
        except InvalidToken:
            raise ConfigError("The vault key does not match the one these values were "
                              "encrypted with; set SEAMLINE_VAULT_KEY to the original key.") from None

    def reveal(self, event_id: str, value: Any) -> Any:
        """``value`` with every placeholder of this event replaced by its real value."""
        mapping = self.mapping(event_id)
        if not mapping:
            return value
        return _substitute(value, mapping)


def _utf8(text: str) -> bytes:
    # surrogatepass: a lone surrogate that slipped past the decoder is sealed as it is and
    # unsealed the same, where a strict encode would fail the transaction it is part of.
    return text.encode("utf-8", "surrogatepass")


def _text(plain: bytes) -> str:
    return plain.decode("utf-8", "surrogatepass")


def _substitute(value: Any, mapping: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: mapping.get(m.group(0), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _substitute(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, mapping) for v in value]
    return value
