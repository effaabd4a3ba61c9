"""Redis Streams through a consumer group: own pending entries first, then entries left
pending by dead consumers (XAUTOCLAIM), then new ones (XREADGROUP >); XACK after commit."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import redis

from seamline.streaming._source import (
    SourceMessage,
    SourceUnavailable,
    decode_event,
    decode_fields,
)

# An entry's JSON lives in this field (XADD stream * data '{...}'); without it, the
# entry's fields themselves are the event.
DATA_FIELD = "data"


class RedisStreamSource:
    """One consumer of one group. ``claim_idle_s`` is how long an entry may sit unacked
    with another consumer before this one takes it over (that consumer is presumed dead)."""

    def __init__(self, url: str, *, stream: str, group: str, consumer: str,
                 claim_idle_s: float = 30.0, start: str = "0") -> None:
        self.stream, self.group, self.consumer = stream, group, consumer
        self.name = f"redis:{stream}"
        self.claim_idle_ms = int(claim_idle_s * 1000)
        # surrogateescape: an entry that is not UTF-8 must reach the decoder, which
        # dead-letters it, rather than fail the read of the whole batch (strict decoding).
        self._client = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=3,
                                            socket_keepalive=True,
                                            encoding_errors="surrogateescape")
        # After a restart, entries delivered to this consumer but never acked come first.
        self._pending_cursor: str | None = "0"
        self._claim_cursor = "0-0"
        self._next_claim = 0.0
        try:
            self._client.xgroup_create(stream, group, id=start, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise SourceUnavailable(f"Redis refused consumer group {group!r} on stream "
                                        f"{stream!r}: {exc}.") from None
        except redis.RedisError as exc:
            raise SourceUnavailable(f"Redis is not reachable at {url}: {exc}.") from None

    def _decode(self, entries: list[tuple[str, dict[str, str] | None]]) -> list[SourceMessage]:
        out = []
        for entry_id, fields in entries:
            message_id = f"{self.name}:{entry_id}"
            if not fields:  # trimmed or deleted after delivery: nothing to apply, but ack it
                out.append(SourceMessage(message_id, None, "the entry was deleted from the stream",
                                         entry_id))
            elif DATA_FIELD in fields:  # the bytes as sent, for the decoder to judge
                body = fields[DATA_FIELD].encode("utf-8", "surrogateescape")
                out.append(decode_event(message_id, body, entry_id))
            else:
                out.append(decode_fields(message_id, fields, entry_id))
        return out

    def _call(self, fn, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # What was delivered but not acked is still pending for this consumer: read it
            # again first once Redis answers.
            self._pending_cursor = "0"
            raise SourceUnavailable(f"Redis connection lost: {exc}.") from None

    def fetch(self, max_messages: int, timeout_s: float) -> list[SourceMessage]:
        if self._pending_cursor is not None:
            reply = self._call(self._client.xreadgroup, self.group, self.consumer,
                               {self.stream: self._pending_cursor}, count=max_messages)
            entries = reply[0][1] if reply else []
            if entries:
                self._pending_cursor = entries[-1][0]
                return self._decode(entries)
            self._pending_cursor = None
        now = time.monotonic()
        if now >= self._next_claim:
            cursor, claimed, *_ = self._call(
                self._client.xautoclaim, self.stream, self.group, self.consumer,
                min_idle_time=self.claim_idle_ms, start_id=self._claim_cursor, count=max_messages)
            self._claim_cursor = cursor
            # A full scan of the pending list ends at 0-0; then look again after a while.
            if cursor == "0-0":
                self._next_claim = now + max(self.claim_idle_ms / 2000, 0.2)
            if claimed:
                return self._decode(claimed)
        reply = self._call(self._client.xreadgroup, self.group, self.consumer,
                           {self.stream: ">"}, count=max_messages,
                           block=max(1, int(timeout_s * 1000)))
        return self._decode(reply[0][1]) if reply else []

    def ack(self, messages: Sequence[SourceMessage]) -> None:
        if messages:
            self._call(self._client.xack, self.stream, self.group, *[m.handle for m in messages])

    def close(self) -> None:
        self._client.close()
