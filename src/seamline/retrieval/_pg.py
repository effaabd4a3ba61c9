"""Retrieval on PostgreSQL: the same chunks, ``tsvector`` full-text search and pgvector.

For deployments whose store is PostgreSQL and that want one database to back up. The
lexical ranking is ``ts_rank_cd`` (cover density), not BM25, so its scores live on
another scale: calibrate ``min_score`` for :func:`retrieve` on this index
(``seamline index eval``).

With an :class:`Embedder`, each chunk also gets one ``vector(dim)`` row in
``retrieval_vectors`` (deleted with its chunk), searched by cosine distance (``<=>``)
through an HNSW index. That needs the pgvector extension on the server: ``open`` runs
``CREATE EXTENSION IF NOT EXISTS vector`` and says how to install it when it is missing.
Without an embedder nothing here touches pgvector.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from seamline.errors import ConfigError
from seamline.retrieval._chunk import DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP, Chunk
from seamline.retrieval._embed import Embedder
from seamline.retrieval._index import (
    STOP_WORDS,
    Hit,
    IndexReport,
    _embed_text,
    changed_files,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS retrieval_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS retrieval_files (source TEXT PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS retrieval_chunks (
  id TEXT PRIMARY KEY, source TEXT NOT NULL, ordinal INTEGER NOT NULL,
  heading_path TEXT NOT NULL, text TEXT NOT NULL, start_line INTEGER NOT NULL,
  end_line INTEGER NOT NULL, page INTEGER,
  tsv tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', heading_path), 'A') ||
    setweight(to_tsvector('english', text), 'B')) STORED);
CREATE INDEX IF NOT EXISTS retrieval_chunks_source ON retrieval_chunks (source);
CREATE INDEX IF NOT EXISTS retrieval_chunks_tsv ON retrieval_chunks USING gin (tsv);
"""
_COLUMNS = "c.id, c.source, c.ordinal, c.heading_path, c.text, c.start_line, c.end_line, c.page"
# pgvector's HNSW index takes `vector` columns of at most 2,000 dimensions; wider
# vectors (text-embedding-3-large has 3,072) are still stored and searched, exactly.
HNSW_MAX_DIMENSIONS = 2000
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_BATCH = 256  # chunks per embed call (and per committed transaction) when filling vectors
_EF_SEARCH = 40  # pgvector's default hnsw.ef_search: an HNSW scan returns at most this many


def _or_query(text: str) -> str:
    words = dict.fromkeys(w.lower() for w in re.findall(r"[A-Za-z0-9]+", text))
    return " | ".join(w for w in words if w not in STOP_WORDS)


def _chunk(row: Sequence[Any]) -> Chunk:
    cid, source, ordinal, path, text, start, end, page = row[:8]
    return Chunk(cid, source, ordinal, tuple(json.loads(path)), text, start, end, page)


class PgChunkIndex:
    """The chunk index in PostgreSQL tables (``retrieval_*``); same build and search as SQLite.

    Open it with :meth:`open`. The connection is in autocommit mode: every ``build`` is one
    transaction for the chunks, then vectors are committed batch by batch, so an embedder
    failing half-way loses nothing and the next ``build`` embeds what is still missing.
    """

    def __init__(self, conn: Any, embedder: Embedder | None = None) -> None:
        self._conn = conn
        self.embedder = embedder
        self._dimensions: int | None = None

    @classmethod
    def open(cls, url: str, embedder: Embedder | None = None, *,
             schema: str | None = None) -> PgChunkIndex:
        """Connect, create the tables if needed and, with ``embedder``, the vector table.

        ``schema`` keeps this index's tables in a PostgreSQL schema of their own, so that
        several integrations can share one database (default: the connection's own
        ``search_path``, usually ``public``). A different embedder than the one the
        vectors were made with (another ``name``) re-embeds every chunk; raises
        :class:`ConfigError` if pgvector is not available.
        """
        import psycopg

        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise ConfigError(f"The index schema {schema!r} must be a lower-case identifier "
                              "(letters, digits, underscores; at most 63).")
        url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        conn = psycopg.connect(url, autocommit=True)
        try:
            if schema is not None:
                try:  # two processes creating it at once: one gets a unique violation
                    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                except psycopg.errors.UniqueViolation:
                    pass
                conn.execute(f"SET search_path TO {schema}, public")
            index = cls(conn, embedder)
            with index._exclusive(), conn.transaction():
                conn.execute(_SCHEMA)
            if embedder is not None:
                index._enable_vectors()
                with index._exclusive():
                    index._check_embedder()
        except BaseException:
            conn.close()
            raise
        return index

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One writer per index at a time across processes (workers start together and
        each builds): a session advisory lock keyed by the schema the tables live in."""
        key = "seamline.retrieval:" + self._conn.execute("SELECT current_schema()").fetchone()[0]
        self._conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (key,))
        try:
            yield
        finally:
            self._conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------

    def build(self, root: str | Path, *, max_tokens: int = DEFAULT_MAX_TOKENS,
              overlap: int = DEFAULT_OVERLAP) -> IndexReport:
        """Index the files under ``root``; as :meth:`ChunkIndex.build`, by content hash.

        With an embedder, only the chunks that have no vector yet are embedded: those of
        new and changed files (a changed file's old vectors go with its old chunks).
        """
        with self._exclusive():
            return self._build(Path(root), max_tokens, overlap)

    def _build(self, root: Path, max_tokens: int, overlap: int) -> IndexReport:
        report = IndexReport()
        known = dict(self._conn.execute("SELECT source, hash FROM retrieval_files").fetchall())
        with self._conn.transaction():
            for source, digest, chunks in changed_files(root, known, report,
                                                        max_tokens=max_tokens, overlap=overlap):
                # ON DELETE CASCADE takes the chunks' vectors with them
                self._conn.execute("DELETE FROM retrieval_chunks WHERE source = %s", (source,))
                self._conn.execute(
                    "INSERT INTO retrieval_files VALUES (%s, %s) ON CONFLICT (source) "
                    "DO UPDATE SET hash = excluded.hash", (source, digest))
                with self._conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO retrieval_chunks (id, source, ordinal, heading_path, text, "
                        "start_line, end_line, page) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                        [(c.id, c.source, c.ordinal, json.dumps(c.heading_path), c.text,
                          c.start_line, c.end_line, c.page) for c in chunks])
                report.chunks_written += len(chunks)
            for source in report.removed:
                self._conn.execute("DELETE FROM retrieval_chunks WHERE source = %s", (source,))
                self._conn.execute("DELETE FROM retrieval_files WHERE source = %s", (source,))
        if self.embedder is not None:
            self._embed_missing()
        return report

    def _enable_vectors(self) -> None:
        """``CREATE EXTENSION vector`` (a no-op once it exists) and the psycopg adapters."""
        import psycopg
        from pgvector.psycopg import register_vector

        installed = self._conn.execute(
            "SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
        if not installed:
            available = self._conn.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
            major = self._conn.info.server_version // 10000
            if not available:
                raise ConfigError(
                    f"pgvector is not installed on this PostgreSQL {major} server, so it cannot "
                    f"store vectors: install it on the database host (Debian/Ubuntu: apt-get "
                    f"install postgresql-{major}-pgvector; elsewhere see "
                    f"https://github.com/pgvector/pgvector), or leave out the embedder: "
                    f"BM25 (full-text) search works without it.")
            try:
                # In public: one install serves every schema an index lives in.
                self._conn.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
            except psycopg.errors.InsufficientPrivilege as exc:
                raise ConfigError(
                    "pgvector is installed on this server but not enabled in this database, "
                    "and this user may not enable it: have a superuser (or the database "
                    "owner) run CREATE EXTENSION vector once, or leave out the embedder: "
                    "BM25 (full-text) search works without it.") from exc
        register_vector(self._conn)

    def _check_embedder(self) -> None:
        """Vectors from another model are meaningless: a new embedder re-embeds everything."""
        assert self.embedder is not None
        meta = dict(self._conn.execute("SELECT key, value FROM retrieval_meta").fetchall())
        exists = self._conn.execute(
            "SELECT to_regclass('retrieval_vectors') IS NOT NULL").fetchone()[0]
        if meta.get("embedder") == self.embedder.name and "dimensions" in meta and exists:
            self._dimensions = int(meta["dimensions"])
        else:
            with self._conn.transaction():
                self._conn.execute("DROP TABLE IF EXISTS retrieval_vectors")
                self._conn.execute("DELETE FROM retrieval_meta WHERE key IN "
                                   "('embedder', 'dimensions')")
                self._conn.execute("INSERT INTO retrieval_meta VALUES ('embedder', %s)",
                                   (self.embedder.name,))
        self._embed_missing()

    def _create_vector_table(self, dimensions: int) -> None:
        self._conn.execute(
            f"CREATE TABLE retrieval_vectors (chunk_id TEXT PRIMARY KEY REFERENCES "
            f"retrieval_chunks (id) ON DELETE CASCADE, embedding vector({dimensions}) NOT NULL)")
        if dimensions <= HNSW_MAX_DIMENSIONS:
            self._conn.execute("CREATE INDEX retrieval_vectors_hnsw ON retrieval_vectors "
                               "USING hnsw (embedding vector_cosine_ops)")
        self._conn.execute("INSERT INTO retrieval_meta VALUES ('dimensions', %s)",
                           (str(dimensions),))
        self._dimensions = dimensions

    def _embed_missing(self) -> int:
        """Embed every chunk without a vector, ``_BATCH`` at a time; returns how many."""
        import numpy as np

        assert self.embedder is not None
        done = 0
        while True:
            if self._dimensions is None:
                sql = f"SELECT {_COLUMNS} FROM retrieval_chunks c ORDER BY c.id LIMIT %s"
            else:
                sql = (f"SELECT {_COLUMNS} FROM retrieval_chunks c WHERE NOT EXISTS (SELECT 1 "
                       f"FROM retrieval_vectors v WHERE v.chunk_id = c.id) ORDER BY c.id LIMIT %s")
            rows = self._conn.execute(sql, (_BATCH,)).fetchall()
            if not rows:
                return done
            vectors = [np.asarray(v, dtype=np.float32)
                       for v in self.embedder.embed([_embed_text(_chunk(r)) for r in rows])]
            if len(vectors) != len(rows):
                raise ConfigError(f"The embedder {self.embedder.name!r} returned {len(vectors)} "
                                  f"vectors for {len(rows)} texts.")
            with self._conn.transaction():
                if self._dimensions is None:
                    self._create_vector_table(len(vectors[0]))
                wrong = {len(v) for v in vectors} - {self._dimensions}
                if wrong:
                    raise ConfigError(
                        f"The embedder {self.embedder.name!r} returned vectors of "
                        f"{min(wrong)} dimensions; this index holds {self._dimensions}.")
                with self._conn.cursor() as cur:
                    # ON CONFLICT: another process may be filling the same chunks right now
                    cur.executemany(
                        "INSERT INTO retrieval_vectors (chunk_id, embedding) VALUES (%s, %s) "
                        "ON CONFLICT (chunk_id) DO NOTHING",
                        [(r[0], v) for r, v in zip(rows, vectors)])
            done += len(rows)

    # -- reading -----------------------------------------------------------------------

    def __len__(self) -> int:
        return self._conn.execute("SELECT count(*) FROM retrieval_chunks").fetchone()[0]

    def sources(self) -> list[str]:
        return [r[0] for r in self._conn.execute(
            "SELECT source FROM retrieval_files ORDER BY source").fetchall()]

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """Full-text search, headings weighted above body text; no matching word: no hits."""
        match = _or_query(query)
        if not match:
            return []
        rows = self._conn.execute(
            f"SELECT {_COLUMNS}, ts_rank_cd(tsv, q) AS score FROM retrieval_chunks c, "
            "to_tsquery('english', %s) q WHERE tsv @@ q ORDER BY score DESC, id LIMIT %s",
            (match, k)).fetchall()
        return [Hit(_chunk(r), float(r[8]), i) for i, r in enumerate(rows, 1)]

    def search_vectors(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` nearest chunks by cosine distance (HNSW); score = cosine similarity."""
        import numpy as np

        if self.embedder is None:
            raise ValueError("this index was opened without an embedder; vector search needs one.")
        if self._dimensions is None:  # nothing embedded yet
            return []
        q = np.asarray(self.embedder.embed([query])[0], dtype=np.float32)
        with self._conn.transaction():
            if k > _EF_SEARCH:  # else an HNSW scan stops short of k rows
                self._conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(k),))
            # Order the vector table alone, so the planner can walk the HNSW index, then join.
            rows = self._conn.execute(
                f"SELECT {_COLUMNS}, top.distance FROM (SELECT chunk_id, embedding <=> %s AS "
                "distance FROM retrieval_vectors ORDER BY distance LIMIT %s) top "
                "JOIN retrieval_chunks c ON c.id = top.chunk_id ORDER BY top.distance, c.id",
                (q, k)).fetchall()
        # A zero vector has no direction: its distance is NaN, which scores 0 here.
        return [Hit(_chunk(r), 0.0 if math.isnan(r[8]) else 1.0 - float(r[8]), i)
                for i, r in enumerate(rows, 1)]
