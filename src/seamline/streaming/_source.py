"""The seam between the stream shape and a message broker: fetch a batch, ack a batch.

A source delivers at least once; the runner makes the effect exactly once by recording
each message as applied in the store, in the transaction that applies it, and acking after.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from seamline.errors import ConfigError, InputInvalid, SeamlineError
from seamline.ingest import check_value, storable_text
from seamline.ingest import decode_event as decode


class SourceUnavailable(SeamlineError):
    """The broker could not be reached or refused the consumer; retrying later can help."""

    retryable = True


@dataclass(frozen=True, slots=True)
class SourceMessage:
    """One delivered message: ``id`` is unique within the source (and stable across
    redeliveries); ``event`` is the decoded JSON object, or None with ``error`` saying why."""

    id: str
    event: dict[str, Any] | None
    error: str = ""
    handle: Any = field(default=None, repr=False, compare=False)  # what acking needs
    # What arrived, when it could not be decoded: the dead letter keeps it (escaped and
    # redacted), so a refused message can be read and fixed, never only counted.
    raw: bytes | str | dict[str, str] | None = field(default=None, repr=False, compare=False)


class StreamSource(Protocol):
    """A consumer position in a broker (a Redis consumer group, a JetStream durable)."""

    name: str

    def fetch(self, max_messages: int, timeout_s: float) -> list[SourceMessage]:
        """Up to ``max_messages``, waiting at most ``timeout_s`` when none are ready."""
        ...

    def ack(self, messages: Sequence[SourceMessage]) -> None:
        """Tell the broker these are done; called only after their effect is committed."""
        ...

    def close(self) -> None: ...


def decode_event(message_id: str, data: bytes | str, handle: Any = None) -> SourceMessage:
    """A JSON object from the message body, or an error the runner dead-letters (and acks):
    the ingest layer's decoder, so a stream refuses what every other door refuses."""
    try:
        value = decode(data)
    except InputInvalid as exc:
        return SourceMessage(message_id, None, str(exc), handle, raw=data)
    if not isinstance(value, dict):
        return SourceMessage(message_id, None, "the message must be a JSON object, not "
                             f"{type(value).__name__}", handle, raw=data)
    return SourceMessage(message_id, value, "", handle)


def decode_fields(message_id: str, fields: dict[str, str], handle: Any = None) -> SourceMessage:
    """An entry whose fields are the event (Redis ``XADD s * customer c1 ts 5``): refused like
    a body when a field is not UTF-8 (read with ``surrogateescape``, so it shows as a lone
    surrogate here) or breaks another of the decoder's rules."""
    for name, value in fields.items():
        for text in (name, value):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raw = text.encode("utf-8", "surrogateescape")
                shown = json.dumps(storable_text(raw, 40))
                return SourceMessage(message_id, None, f"the event is not valid UTF-8 (the "
                                     f"field {shown} of the entry)", handle, raw=fields)
    try:
        check_value(fields)
    except InputInvalid as exc:
        return SourceMessage(message_id, None, str(exc), handle, raw=fields)
    return SourceMessage(message_id, dict(fields), "", handle)


def _one(query: dict[str, list[str]], name: str, default: str = "") -> str:
    values = query.get(name)
    return values[-1] if values else default


def _number(query: dict[str, list[str]], name: str, default: float, url: str) -> float:
    text = _one(query, name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"The source URL {url} gives {name}={text!r}; it must be a "
                          "number.") from None
    if value < 0:
        raise ConfigError(f"The source URL {url} gives {name}={text!r}; it must not be negative.")
    return value


def default_consumer() -> str:
    """The host's name: a consumer restarted on the same host reads its own pending entries."""
    return socket.gethostname() or "seamline"


def open_source(url: str, *, consumer: str | None = None) -> StreamSource:
    """Open ``redis://host:port/db?stream=S&group=G[&consumer=C&claim_idle=30&start=earliest]``
    or ``nats://host:port?stream=S&subject=X&durable=D[&ack_wait=30]``.

    Raises :class:`ConfigError` for a malformed URL and :class:`SourceUnavailable` when
    the broker cannot be reached.
    """
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.scheme in ("redis", "rediss"):
        stream, group = _one(query, "stream"), _one(query, "group")
        if not stream or not group:
            raise ConfigError(f"The source URL {url} must name the stream and the consumer group: "
                              "redis://127.0.0.1:6379/0?stream=NAME&group=GROUP.")
        start = _one(query, "start", "earliest")
        if start not in ("earliest", "latest"):
            raise ConfigError(f"The source URL {url} gives start={start!r}; use earliest or "
                              "latest.")
        from seamline.streaming._redis import RedisStreamSource

        base = parts._replace(query="", fragment="").geturl()
        return RedisStreamSource(
            base, stream=stream, group=group,
            consumer=consumer or _one(query, "consumer") or default_consumer(),
            claim_idle_s=_number(query, "claim_idle", 30.0, url),
            start="0" if start == "earliest" else "$")
    if parts.scheme in ("nats", "tls"):
        stream, subject = _one(query, "stream"), _one(query, "subject")
        if not stream or not subject:
            raise ConfigError(f"The source URL {url} must name the JetStream stream and subject: "
                              "nats://127.0.0.1:4222?stream=NAME&subject=SUBJECT&durable=NAME.")
        durable = _one(query, "durable") or f"seamline-{stream}"
        from seamline.streaming._nats import NatsStreamSource

        server = parts._replace(query="", fragment="").geturl()
        return NatsStreamSource(server, stream=stream, subject=subject, durable=durable,
                                ack_wait_s=_number(query, "ack_wait", 30.0, url))
    raise ConfigError(f"The source URL {url!r} is neither redis:// (Redis Streams) nor "
                      "nats:// (NATS JetStream).")
