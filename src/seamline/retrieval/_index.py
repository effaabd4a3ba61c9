"""Retrieval, the index: BM25 over SQLite FTS5, re-indexed incrementally by content hash.

The index lives in its own SQLite file, not in the store: FTS5 virtual tables (and
their shadow tables) cannot be described to Alembic, an index is derived data that can
always be rebuilt from the documents, and a rebuild must never lock the store the
event pipeline writes to. Vectors, when an :class:`Embedder` is given, sit in the same
file and are searched by exact cosine in numpy (fine up to ~10^5 chunks on one machine).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import numpy as np
from threadpoolctl import ThreadpoolController

from seamline.retrieval._chunk import DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP, Chunk, chunk_blocks
from seamline.retrieval._documents import SUFFIXES, load_blocks
from seamline.retrieval._embed import Embedder

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (source TEXT PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
  rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, source TEXT NOT NULL,
  ordinal INTEGER NOT NULL, heading_path TEXT NOT NULL, text TEXT NOT NULL,
  start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, page INTEGER);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks (source);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(heading, text, tokenize='porter unicode61');
CREATE TABLE IF NOT EXISTS vectors (rowid INTEGER PRIMARY KEY, vec BLOB NOT NULL);
"""
_WORD = re.compile(r"\w+", re.UNICODE)
BUILD_WAIT_S = 900.0
# Words that match nearly every chunk carry no signal; dropping them lets an off-topic
# question find nothing (and abstain) instead of matching on "the" and "how".
STOP_WORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from",
    "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "so", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "to", "was", "we", "what",
    "when", "where", "which", "who", "why", "will", "with", "you", "your"))


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk, its score (higher is better) and its 1-based rank."""

    chunk: Chunk
    score: float
    rank: int


@dataclass
class IndexReport:
    """What a build did: sources added, changed, removed and left alone, chunks written."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    chunks_written: int = 0


def changed_files(root: Path, known: dict[str, str], report: IndexReport, *, max_tokens: int,
                  overlap: int) -> Iterator[tuple[str, str, list[Chunk]]]:
    """``(source, digest, chunks)`` of each new or changed file under ``root``.

    Shared by the SQLite and PostgreSQL indexes: ``known`` is source -> hash as stored;
    ``report`` gets the added, changed and unchanged sources as the walk goes, and the
    removed ones (known, no longer there) once it is done. The hash covers the chunking
    settings, since other settings make other chunks.
    """
    params = f"{max_tokens}/{overlap}"
    paths = [root] if root.is_file() else sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    seen = set()
    for path in paths:
        source = path.name if root.is_file() else path.relative_to(root).as_posix()
        seen.add(source)
        digest = hashlib.sha256(path.read_bytes() + params.encode()).hexdigest()
        if known.get(source) == digest:
            report.unchanged.append(source)
            continue
        (report.changed if source in known else report.added).append(source)
        yield source, digest, chunk_blocks(source, load_blocks(path), max_tokens=max_tokens,
                                           overlap=overlap)
    if not root.is_file():
        report.removed.extend(sorted(set(known) - seen))


def fts_query(text: str) -> str:
    """A user's question as an FTS5 ``OR`` query of quoted words (no syntax injection)."""
    words = dict.fromkeys(w.lower() for w in _WORD.findall(text))
    return " OR ".join(f'"{w}"' for w in words if w not in STOP_WORDS)


class ChunkIndex:
    """An FTS5 index of chunks in one SQLite file; open it with :meth:`open`."""

    def __init__(self, conn: sqlite3.Connection, embedder: Embedder | None = None) -> None:
        self._conn = conn
        self.embedder = embedder
        self._matrix: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def open(cls, path: str | Path, embedder: Embedder | None = None) -> ChunkIndex:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Several worker processes start together and each builds: a writer waits for the
        # other's build (embedding may take minutes) and then finds everything unchanged.
        conn = sqlite3.connect(str(path), timeout=BUILD_WAIT_S)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        # The write lock first: two openers whose deferred transactions both read and then
        # both ask to write get "database is locked" at once, without the busy wait.
        conn.executescript("BEGIN IMMEDIATE;\n" + _SCHEMA + "\nCOMMIT;")
        index = cls(conn, embedder)
        index._check_embedder()
        return index

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------

    def build(self, root: str | Path, *, max_tokens: int = DEFAULT_MAX_TOKENS,
              overlap: int = DEFAULT_OVERLAP) -> IndexReport:
        """Index every supported file under ``root``; only new or changed files cost work."""
        report = IndexReport()
        with self._conn:
            # The write lock before reading what is known: a builder in another process
            # waits here, then finds this one's work and leaves it alone.
            self._conn.execute("BEGIN IMMEDIATE")
            known = dict(self._conn.execute("SELECT source, hash FROM files"))
            for source, digest, chunks in changed_files(Path(root), known, report,
                                                        max_tokens=max_tokens, overlap=overlap):
                report.chunks_written += self._replace(source, digest, chunks)
            for source in report.removed:
                self._delete(source)
                self._conn.execute("DELETE FROM files WHERE source = ?", (source,))
        self._matrix = None
        return report

    def add_chunks(self, source: str, digest: str, chunks: Iterable[Chunk]) -> int:
        """Replace ``source``'s chunks with ``chunks`` (for callers that chunk themselves)."""
        with self._conn:
            n = self._replace(source, digest, list(chunks))
        self._matrix = None
        return n

    def _delete(self, source: str) -> None:
        rows = "SELECT rowid FROM chunks WHERE source = ?"
        self._conn.execute(f"DELETE FROM chunks_fts WHERE rowid IN ({rows})", (source,))
        self._conn.execute(f"DELETE FROM vectors WHERE rowid IN ({rows})", (source,))
        self._conn.execute("DELETE FROM chunks WHERE source = ?", (source,))

    def _replace(self, source: str, digest: str, chunks: list[Chunk]) -> int:
        self._delete(source)
        self._conn.execute("INSERT OR REPLACE INTO files (source, hash) VALUES (?, ?)",
                           (source, digest))
        cur = self._conn.execute("SELECT coalesce(max(rowid), 0) FROM chunks")
        first = cur.fetchone()[0] + 1
        rowids = range(first, first + len(chunks))
        self._conn.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r, c.id, c.source, c.ordinal, json.dumps(c.heading_path), c.text, c.start_line,
              c.end_line, c.page) for r, c in zip(rowids, chunks)])
        self._conn.executemany(
            "INSERT INTO chunks_fts (rowid, heading, text) VALUES (?, ?, ?)",
            [(r, " ".join(c.heading_path), c.text) for r, c in zip(rowids, chunks)])
        if self.embedder is not None and chunks:
            vectors = self.embedder.embed([_embed_text(c) for c in chunks])
            self._conn.executemany(
                "INSERT INTO vectors (rowid, vec) VALUES (?, ?)",
                [(r, np.asarray(v, dtype=np.float32).tobytes()) for r, v in zip(rowids, vectors)])
        return len(chunks)

    def _check_embedder(self) -> None:
        """Vectors from another model are meaningless: a new embedder re-embeds everything."""
        if self.embedder is None:
            return
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'embedder'").fetchone()
        if row and row[0] == self.embedder.name:
            return
        with self._conn:
            self._conn.execute("DELETE FROM vectors")
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('embedder', ?)",
                               (self.embedder.name,))
            rows = self._conn.execute("SELECT rowid, * FROM chunks").fetchall()
            for i in range(0, len(rows), 256):
                batch = rows[i:i + 256]
                vectors = self.embedder.embed([_embed_text(_chunk(r[1:])) for r in batch])
                self._conn.executemany(
                    "INSERT INTO vectors VALUES (?, ?)",
                    [(r[0], np.asarray(v, dtype=np.float32).tobytes())
                     for r, v in zip(batch, vectors)])

    # -- reading -----------------------------------------------------------------------

    def __len__(self) -> int:
        return self._conn.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def sources(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT source FROM files ORDER BY source")]

    def chunks(self, source: str | None = None) -> Iterator[Chunk]:
        sql = "SELECT * FROM chunks" + (" WHERE source = ?" if source else "") + " ORDER BY rowid"
        for row in self._conn.execute(sql, (source,) if source else ()):
            yield _chunk(row)

    def get(self, chunk_id: str) -> Chunk | None:
        row = self._conn.execute("SELECT * FROM chunks WHERE id = ?", (chunk_id,)).fetchone()
        return _chunk(row) if row else None

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """BM25 (FTS5's ``bm25()``, negated so higher is better); no matching word: no hits."""
        match = fts_query(query)
        if not match:
            return []
        # Headings weigh twice the body: a chunk under "Refunds" is about refunds.
        # Rank inside FTS5 first and join only the top k: joining every match costs more
        # than the ranking on a large index.
        rows = self._conn.execute(
            "SELECT c.*, -top.rank FROM (SELECT rowid, bm25(chunks_fts, 2.0, 1.0) AS rank "
            "FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?) AS top "
            "JOIN chunks c ON c.rowid = top.rowid ORDER BY top.rank", (match, k)).fetchall()
        return [Hit(_chunk(r[:9]), float(r[9]), i) for i, r in enumerate(rows, 1)]

    def search_vectors(self, query: str, k: int = 5) -> list[Hit]:
        """Exact cosine similarity to the query's embedding; needs an embedder."""
        if self.embedder is None:
            raise ValueError("this index was opened without an embedder; vector search needs one.")
        if self._matrix is None:
            rows = self._conn.execute("SELECT rowid, vec FROM vectors ORDER BY rowid").fetchall()
            if not rows:
                return []
            ids = np.array([r[0] for r in rows])
            matrix = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
            matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-12
            self._matrix = (ids, matrix)
        ids, matrix = self._matrix
        q = np.asarray(self.embedder.embed([query])[0], dtype=np.float32)
        # One BLAS thread: a matrix-vector product gains nothing from more, and OpenBLAS's
        # spinning workers would steal the cores the embedding model (torch) needs next
        # (measured: the next query's embedding took 62 ms instead of 18).
        with _blas().limit(limits=1, user_api="blas"):
            sims = matrix @ (q / (np.linalg.norm(q) + 1e-12))
        top = np.argsort(-sims)[:k]
        wanted = [int(ids[i]) for i in top]
        by_id = {r[0]: r for r in self._conn.execute(  # one query for the k rows, not k queries
            f"SELECT * FROM chunks WHERE rowid IN ({','.join('?' * len(wanted))})", wanted)}
        return [Hit(_chunk(by_id[rowid]), float(sims[i]), rank)
                for rank, (rowid, i) in enumerate(zip(wanted, top), 1)]


_controller: ThreadpoolController | None = None


def _blas() -> ThreadpoolController:
    """The loaded thread pools, inspected once (each inspection walks the loaded libraries)."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def _embed_text(chunk: Chunk) -> str:
    return " > ".join(chunk.heading_path) + "\n" + chunk.text


def _chunk(row: tuple) -> Chunk:
    _, cid, source, ordinal, path, text, start, end, page = row
    return Chunk(cid, source, ordinal, tuple(json.loads(path)), text, start, end, page)
