"""Retrieval on PostgreSQL: the same chunks, ranked by ``tsvector`` full-text search.

For deployments whose store is PostgreSQL and that want one database to back up. The
ranking is ``ts_rank_cd`` (cover density), not BM25, so its scores live on another scale:
calibrate ``min_score`` for :func:`retrieve` on this index (``seamline index eval``).
Vectors (pgvector) are not implemented yet: ``CREATE EXTENSION vector`` needs the
extension installed on the server, which is not the case where this was built.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Self

from seamline.retrieval._chunk import DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP, Chunk, chunk_blocks
from seamline.retrieval._documents import SUFFIXES, load_blocks
from seamline.retrieval._index import STOP_WORDS, Hit, IndexReport

_SCHEMA = """
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


def _or_query(text: str) -> str:
    words = dict.fromkeys(w.lower() for w in re.findall(r"[A-Za-z0-9]+", text))
    return " | ".join(w for w in words if w not in STOP_WORDS)


class PgChunkIndex:
    """The chunk index in PostgreSQL tables (``retrieval_*``); same build and search as SQLite."""

    embedder = None

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    @classmethod
    def open(cls, url: str) -> PgChunkIndex:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        with conn.transaction():
            conn.execute(_SCHEMA)
        return cls(conn)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self._conn.execute("SELECT count(*) FROM retrieval_chunks").fetchone()[0]

    def build(self, root: str | Path, *, max_tokens: int = DEFAULT_MAX_TOKENS,
              overlap: int = DEFAULT_OVERLAP) -> IndexReport:
        """Index the files under ``root``; as :meth:`ChunkIndex.build`, by content hash."""
        root = Path(root)
        params = f"{max_tokens}/{overlap}"
        report = IndexReport()
        known = dict(self._conn.execute("SELECT source, hash FROM retrieval_files").fetchall())
        paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        seen = set()
        with self._conn.transaction():
            for path in paths:
                source = path.relative_to(root).as_posix()
                seen.add(source)
                digest = hashlib.sha256(path.read_bytes() + params.encode()).hexdigest()
                if known.get(source) == digest:
                    report.unchanged.append(source)
                    continue
                (report.changed if source in known else report.added).append(source)
                chunks = chunk_blocks(source, load_blocks(path), max_tokens=max_tokens,
                                      overlap=overlap)
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
            for source in sorted(set(known) - seen):
                self._conn.execute("DELETE FROM retrieval_chunks WHERE source = %s", (source,))
                self._conn.execute("DELETE FROM retrieval_files WHERE source = %s", (source,))
                report.removed.append(source)
        return report

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """Full-text search, headings weighted above body text; no matching word: no hits."""
        match = _or_query(query)
        if not match:
            return []
        rows = self._conn.execute(
            "SELECT id, source, ordinal, heading_path, text, start_line, end_line, page, "
            "ts_rank_cd(tsv, q) AS score FROM retrieval_chunks, to_tsquery('english', %s) q "
            "WHERE tsv @@ q ORDER BY score DESC, id LIMIT %s", (match, k)).fetchall()
        return [Hit(Chunk(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4], r[5], r[6], r[7]),
                    float(r[8]), i) for i, r in enumerate(rows, 1)]

    def search_vectors(self, query: str, k: int = 5) -> list[Hit]:
        raise ValueError("vector search on PostgreSQL needs pgvector, which is not implemented "
                         "yet; use mode='bm25' or the SQLite index with an embedder.")
