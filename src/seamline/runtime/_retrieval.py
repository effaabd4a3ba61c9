"""The pipeline's retrieval stage: put the documents an answer may cite into the input.

One :class:`Retriever` per pipeline. An index connection belongs to the thread that
made it (SQLite insists; a psycopg connection would serialise the threads), and a
pipeline serves several worker threads, so each thread opens the index once; the
embedding model is loaded once per process and shared.

The index is a SQLite file by default (derived data: every machine can build its own
from the documents folder) or, with ``retrieval.db``, tables in PostgreSQL with pgvector,
shared by every worker process; concurrent builds there take turns on an advisory lock.
"""

from __future__ import annotations

import logging
import os
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from seamline.errors import ConfigError
from seamline.integration import Integration, RetrievalSpec
from seamline.retrieval import (
    ChunkIndex,
    LocalEmbedder,
    PgChunkIndex,
    Retrieval,
    embedder_from_spec,
    retrieve,
)
from seamline.runtime._types import Refusal, Retrieved

log = logging.getLogger("seamline.retrieval")


def index_path(integration: Integration) -> Path:
    spec = integration.retrieval
    assert spec is not None
    return spec.index or Path(".seamline") / "index" / f"{integration.name}.db"


def index_url(spec: RetrievalSpec, store_url: str | None) -> str | None:
    """The PostgreSQL URL ``retrieval.db`` names, or None for the SQLite file."""
    if not spec.db:
        return None
    if spec.db == "store":
        url = store_url or ""
        where = "the store (SEAMLINE_DB)"
    else:
        name = spec.db[4:]
        url = os.environ.get(name, "")
        where = f"the environment variable {name}"
        if not url:
            raise ConfigError(f"retrieval.db names {name}, which is not set.")
    if not url.startswith(("postgresql", "postgres:")):
        raise ConfigError(f"retrieval.db: {where} is not a PostgreSQL database; the shared "
                          "index needs PostgreSQL (leave retrieval.db out for a SQLite file).")
    return url


class Retriever:
    """Builds (incrementally) and searches one integration's index."""

    def __init__(self, integration: Integration, store_url: str | None = None) -> None:
        spec = integration.retrieval
        if spec is None:
            raise ConfigError(f"Integration {integration.name!r} declares no retrieval.")
        self.spec: RetrievalSpec = spec
        self.path = index_path(integration)
        self.url = index_url(spec, store_url)
        self.schema = "retrieval_" + integration.name.replace("-", "_")
        self.mode = spec.mode
        self.note = ""
        self.embedder = embedder_from_spec(spec.embedder) if spec.embedder else None
        if isinstance(self.embedder, LocalEmbedder) and not self.embedder.available():
            # "Embeddings when available": BM25 still answers, and the audit says why.
            self.note = ("the local embedding model is not installed (pip install "
                         "'seamline[embeddings]'): BM25 only")
            log.warning("retrieval for %s: %s", integration.name, self.note)
            self.embedder, self.mode = None, "bm25"
        if self.mode != "bm25" and self.embedder is None and not self.note:
            raise ConfigError(f"Retrieval mode {self.mode!r} needs an embedder "
                              "(retrieval.embedder: local, hashing or openai:MODEL).")
        if self.url is not None and self.mode == "bm25" and spec.min_score is None:
            # ts_rank_cd is not BM25: on the example corpus off-topic questions reach 1.4
            # and golden ones start at 0.4, so no default floor can be right for it.
            raise ConfigError("On PostgreSQL, full-text ranks are not BM25 scores: set "
                              "retrieval.min_score from `seamline index eval --db ...`, or use "
                              "mode hybrid/vector and let the cosine floor decide.")
        self._local = threading.local()
        self._embed_lock = threading.Lock()
        if spec.docs is not None:
            if not spec.docs.exists():
                raise ConfigError(f"The retrieval documents folder {spec.docs} does not exist.")
            with self._open() as idx:
                self.report = idx.build(spec.docs, max_tokens=spec.max_tokens,
                                        overlap=spec.overlap)
        elif self.url is None and not self.path.exists():
            raise ConfigError(f"The retrieval index {self.path} does not exist: build it with "
                              "`seamline index build DOCS --index PATH` or name retrieval.docs.")
        if self.embedder is not None:
            self.embedder.embed(["warm"])  # load the model now, not inside the first event

    def _open(self) -> ChunkIndex | PgChunkIndex:
        if self.url is not None:
            return PgChunkIndex.open(self.url, self.embedder, schema=self.schema)
        return ChunkIndex.open(self.path, self.embedder)

    def _index(self) -> ChunkIndex | PgChunkIndex:
        idx = getattr(self._local, "index", None)
        if idx is None:
            idx = self._local.index = self._open()
        return idx

    def find(self, data: dict[str, Any]) -> Retrieval:
        question = str(data.get(self.spec.query_field) or "")
        with self._embed_lock if self.embedder is not None else nullcontext():
            return retrieve(self._index(), question, k=self.spec.k, mode=self.mode,
                            min_score=self.spec.min_score,
                            min_similarity=self.spec.min_similarity)

    def with_documents(self, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The input with the documents found (none when abstaining), and the audit payload."""
        found = self.find(data)
        summary = found.summary()
        if self.note:
            summary["note"] = self.note
        return {**data, self.spec.documents_field: found.documents()}, summary


class Retrieve:
    """The stage between ingest and prompt: the input with its documents, or a refusal."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever

    def run(self, data: dict[str, Any]) -> Retrieved | Refusal:
        try:
            with_docs, found = self.retriever.with_documents(data)
        except Exception as exc:  # noqa: BLE001 -- a broken index must not lose the event
            return Refusal("retrieval", f"retrieval failed: {exc}")
        return Retrieved(with_docs, found)
