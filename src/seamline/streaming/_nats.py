"""NATS JetStream through a durable pull consumer; acked after the state commit.

nats-py is asyncio-only; the runner is a plain loop, so this source drives its own
event loop, one call at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import nats
from nats.errors import Error as NatsError
from nats.errors import NoServersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from seamline.errors import ConfigError
from seamline.streaming._source import SourceMessage, SourceUnavailable, decode_event


async def _quiet(_exc: Exception) -> None:
    """nats-py logs every connection error; the runner reports them as sentences instead."""


class NatsStreamSource:
    """A durable pull consumer. A message fetched but not acked within ``ack_wait_s`` is
    redelivered, so a crashed consumer's messages return to whoever fetches next."""

    def __init__(self, server: str, *, stream: str, subject: str, durable: str,
                 ack_wait_s: float = 30.0) -> None:
        self.stream, self.subject, self.durable = stream, subject, durable
        self.name = f"nats:{stream}"
        self._loop = asyncio.new_event_loop()
        try:
            self._run(self._connect(server, ack_wait_s))
        except BaseException:
            self._loop.close()
            raise

    def _run(self, coro: Any) -> Any:
        return self._loop.run_until_complete(coro)

    async def _connect(self, server: str, ack_wait_s: float) -> None:
        try:
            # One quick retry at start so a wrong address fails in a second, not in six...
            self._nc = await nats.connect(server, connect_timeout=3, max_reconnect_attempts=1,
                                          reconnect_time_wait=0.5, error_cb=_quiet)
        except (TimeoutError, NoServersError, OSError, NatsError) as exc:
            raise SourceUnavailable(f"NATS is not reachable at {server}: "
                                    f"{exc or type(exc).__name__}.") from None
        # ...and, once connected, a minute of reconnecting through a broker restart.
        self._nc.options["max_reconnect_attempts"] = 120
        self._js = self._nc.jetstream()
        try:
            await self._js.stream_info(self.stream)
        except NotFoundError:
            await self._nc.close()
            raise ConfigError(
                f"JetStream has no stream {self.stream!r} at {server}; create it "
                f"(nats stream add {self.stream} --subjects {self.subject!r}).") from None
        except NatsError as exc:
            await self._nc.close()
            raise SourceUnavailable(f"JetStream did not answer at {server}: {exc}.") from None
        self._sub = await self._js.pull_subscribe(
            self.subject, durable=self.durable, stream=self.stream,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ack_wait_s))

    def fetch(self, max_messages: int, timeout_s: float) -> list[SourceMessage]:
        try:
            msgs = self._run(self._sub.fetch(max_messages, timeout=max(timeout_s, 0.01)))
        except (TimeoutError, NatsTimeout):  # nats-py raises either when nothing came
            return []
        except NatsError as exc:
            raise SourceUnavailable(f"JetStream fetch failed: {exc}.") from None
        return [decode_event(f"{self.name}:{m.metadata.sequence.stream}", m.data, m) for m in msgs]

    def ack(self, messages: Sequence[SourceMessage]) -> None:
        async def ack_all() -> None:
            for m in messages:
                await m.handle.ack()
            await self._nc.flush()

        if messages:
            self._run(ack_all())

    def close(self) -> None:
        try:
            if not self._nc.is_closed:
                self._run(self._nc.close())
        finally:
            self._loop.close()
