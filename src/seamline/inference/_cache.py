"""Layer 3, inference: an opt-in cache of model replies, kept in the store.

The same model, messages, params and output schema give the stored reply for ``ttl``
seconds, at no cost. Only for calls whose answer may be reused (e.g. temperature 0).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import (
    bindparam,
    delete,
    inspect,
    select,
)

from seamline.citations import Citation
from seamline.errors import ConfigError
from seamline.inference._types import ModelReply, ModelRequest, Provider, Usage
from seamline.store import FastStatement, Store, insert_ignore
from seamline.store.tables import response_cache


@dataclass(frozen=True, slots=True)
class CachedReply(ModelReply):
    """A reply served from the cache: ``usage`` is zero (nothing was spent); ``cached`` is
    True and ``original_usage`` says what the first call cost."""

    cached: bool = True
    original_usage: Usage = field(default_factory=Usage)


def cache_key(provider: str, request: ModelRequest, *, reads_source: bool = True) -> str:
    """A hash of everything that shapes the reply: provider, model, the full messages,
    params, output schema and, for an on-device model that reads it, the (redacted) source.
    A remote model sees only the messages, so fields outside the prompt (an event id)
    must not split its cache."""
    shape = {
        "provider": provider,
        "model": request.model,
        "messages": [[m.role, m.content] for m in request.messages],
        "params": request.params,
        "output_schema": request.output_schema,
        "source": request.source if reads_source else None,
        "max_tokens": request.max_tokens,
        "citations": request.citations,  # the documents a cited call sends (repr: all fields)
    }
    blob = json.dumps(shape, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _dump(reply: ModelReply) -> str:
    cited = None if reply.citations is None else [dataclasses.asdict(c) for c in reply.citations]
    return json.dumps({"text": reply.text, "model": reply.model, "stop_reason": reply.stop_reason,
                       "usage": dataclasses.asdict(reply.usage), "citations": cited},
                      ensure_ascii=False)


def _load(blob: str) -> CachedReply:
    data = json.loads(blob)
    cited = data.get("citations")  # a cited reply keeps its citations, or it would be checked
    return CachedReply(text=data["text"], usage=Usage(), model=data["model"],  # as uncited
                       stop_reason=data["stop_reason"], original_usage=Usage(**data["usage"]),
                       citations=None if cited is None else tuple(Citation(**c) for c in cited))


_SELECT = FastStatement(select(response_cache.c.reply, response_cache.c.expires_at)
                        .where(response_cache.c.key == bindparam("key")))
# An expired entry is replaced: drop it, then insert (a concurrent writer's row wins).
_DROP_EXPIRED = FastStatement(delete(response_cache).where(
    response_cache.c.key == bindparam("key"), response_cache.c.expires_at <= bindparam("now")))


class Caching:
    """A provider that answers from the store when the same call was answered before.

    A hit returns a :class:`CachedReply` (zero ``usage``, ``cached=True``, ``stop_reason``
    and ``model`` as stored) without calling ``provider``; a miss calls it and stores the
    reply for ``ttl`` seconds. Expired entries are ignored and overwritten. Only replies
    whose ``stop_reason`` is in ``store_stop_reasons`` (None: any) are stored.
    """

    def __init__(self, provider: Provider, store: Store, ttl: float, *,
                 clock: Callable[[], float] = time.time,
                 store_stop_reasons: frozenset[str] | None = None, reads_source: bool = True) -> None:
        if not inspect(store.engine).has_table(response_cache.name):
            raise ConfigError("The store has no response_cache table: the response cache "
                              "needs store migration 0002.")
        self.provider, self.store, self.ttl = provider, store, ttl
        self.name = provider.name
        self._clock = clock
        self.store_stop_reasons = store_stop_reasons
        self.reads_source = reads_source

    def lookup(self, key: str) -> CachedReply | None:
        with self.store.read() as conn:
            row = _SELECT.first(conn, {"key": key})
        if row is None or row[1] <= self._clock():
            return None
        return _load(row[0])

    def complete(self, request: ModelRequest) -> ModelReply:
        key = cache_key(self.provider.name, request, reads_source=self.reads_source)
        hit = self.lookup(key)
        if hit is not None:
            return hit
        reply = self.provider.complete(request)
        if self.store_stop_reasons is None or reply.stop_reason in self.store_stop_reasons:
            now = self._clock()
            with self.store.write() as conn:
                _DROP_EXPIRED.run(conn, {"key": key, "now": now})
                insert_ignore(conn, response_cache, {"key": key, "reply": _dump(reply),
                                                     "created_at": now,
                                                     "expires_at": now + self.ttl})
        return reply
