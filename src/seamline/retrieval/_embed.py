"""Retrieval, embeddings: one small protocol, so the index never knows who makes the vectors.

BM25 stays the default because it needs nothing; embeddings come from a provider
(any OpenAI-compatible ``/embeddings`` endpoint) or from anything with an ``embed``
method. :class:`HashingEmbedder` is lexical, not semantic: it exists so the vector
and hybrid paths run (and are tested) with no model and no network.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any, Protocol, runtime_checkable

_WORD = re.compile(r"\w+")


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of one fixed length; ``name`` changes when the vectors would."""

    name: str

    def embed(self, texts: list[str]) -> list[list[float]]: ...


class HashingEmbedder:
    """Feature hashing of lower-cased words into ``dimensions`` buckets, L2-normalised."""

    def __init__(self, dimensions: int = 256) -> None:
        self.dimensions = dimensions
        self.name = f"hashing-{dimensions}"

    def embed(self, texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            vec = [0.0] * self.dimensions
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                bucket = int.from_bytes(digest, "little")
                vec[bucket % self.dimensions] += 1.0 if bucket & 1 << 31 else -1.0
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            out.append([v / norm for v in vec])
        return out


class OpenAIEmbedder:
    """A provider's embeddings through the ``openai`` SDK (OpenAI or any compatible server).

    The client is passed in or built from ``base_url``/``api_key`` here, at the edge, so
    tests point it at a local server and nothing reads the environment behind your back.
    """

    def __init__(self, model: str, *, client: Any = None, base_url: str | None = None,
                 api_key: str | None = None, batch_size: int = 128) -> None:
        if client is None:
            from openai import OpenAI

            client = OpenAI(base_url=base_url, api_key=api_key or "unused")
        self._client = client
        self.model = model
        self.batch_size = batch_size
        self.name = f"openai:{model}"

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            reply = self._client.embeddings.create(model=self.model,
                                                   input=texts[i:i + self.batch_size])
            vectors.extend(list(d.embedding) for d in sorted(reply.data, key=lambda d: d.index))
        return vectors
