"""Vectors on PostgreSQL with pgvector, on a throwaway server that ships the extension.

The system PostgreSQL of CI has no pgvector, so these tests start their own with
``pgserver`` (PostgreSQL 16 binaries with ``vector.so``, from PyPI; the dev extra). As
root, pgserver creates a ``pgserver`` system user and runs initdb/pg_ctl as it.
"""

from __future__ import annotations

import shutil

import psycopg
import pytest
from retrieval_fixtures import CORPUS, QUESTIONS
from typer.testing import CliRunner

from seamline.errors import ConfigError
from seamline.retrieval import (
    ChunkIndex,
    HashingEmbedder,
    PgChunkIndex,
    evaluate,
    load_questions,
    retrieve,
)


class CountingEmbedder:
    """HashingEmbedder, remembering every text it was asked to embed."""

    def __init__(self, dimensions: int = 256) -> None:
        self._inner = HashingEmbedder(dimensions)
        self.name = self._inner.name
        self.texts: list[str] = []

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.texts.extend(texts)
        return self._inner.embed(texts)


def _one(index: PgChunkIndex, sql: str, *params):
    return index._conn.execute(sql, params).fetchone()[0]


def _docs(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    return docs


def test_vectors_are_stored_in_pgvector_and_searched_like_sqlite(vector_url, tmp_path):
    docs = _docs(tmp_path)
    with PgChunkIndex.open(vector_url, HashingEmbedder()) as index:
        assert index.build(docs).chunks_written == 41
        assert _one(index, "SELECT count(*) FROM retrieval_vectors") == 41
        assert _one(index, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                           "attrelid = 'retrieval_vectors'::regclass AND attname = 'embedding'"
                    ) == "vector(256)"
        assert dict(index._conn.execute("SELECT key, value FROM retrieval_meta").fetchall()) == {
            "embedder": "hashing-256", "dimensions": "256"}

        hits = index.search_vectors("HTTP 429 Too Many Requests", 5)
        assert hits[0].chunk.id == "api_limits.md#1" and [h.rank for h in hits] == [1, 2, 3, 4, 5]
        with ChunkIndex.open(":memory:", HashingEmbedder()) as exact:
            exact.build(docs)
            expected = exact.search_vectors("HTTP 429 Too Many Requests", 5)
        # HNSW on 41 vectors is exact: the same chunks, the same cosine similarities
        assert [h.chunk.id for h in hits] == [h.chunk.id for h in expected]
        assert [h.score for h in hits] == pytest.approx([h.score for h in expected], abs=1e-5)
        index._conn.execute("SET enable_seqscan = off")  # walk the HNSW index, even for 41 rows
        # k above hnsw.ef_search (40): the search raises it, else HNSW stops at 40 rows
        assert len(index.search_vectors("refund", 41)) == 41
        index._conn.execute("RESET enable_seqscan")

        vector = retrieve(index, "How long does a refund take to appear?", mode="vector")
        assert vector.hits[0].chunk.id == "refunds.md#1" and not vector.abstain
        hybrid = retrieve(index, "How long does a refund take to appear?", k=3, mode="hybrid",
                          min_score=0.01)
        assert hybrid.hits[0].chunk.id == "refunds.md#1" and len(hybrid.hits) == 3
        report = evaluate(load_questions(QUESTIONS), lambda q, k: [
            h.chunk for h in retrieve(index, q, k=k, mode="hybrid").hits])
    # measured: hybrid recall@5 0.978 (as on SQLite: BM25 there, ts_rank_cd here)
    assert report.recall[5] >= 0.95
    with PgChunkIndex.open(vector_url) as bm25_only:  # no embedder: no vectors needed
        assert len(bm25_only) == 41
        with pytest.raises(ValueError, match="without an embedder"):
            bm25_only.search_vectors("refund")


def test_the_hnsw_index_exists_and_the_search_can_use_it(vector_url):
    with PgChunkIndex.open(vector_url, HashingEmbedder()) as index:
        index.build(CORPUS)
        definition = _one(index, "SELECT indexdef FROM pg_indexes WHERE tablename = "
                                 "'retrieval_vectors' AND indexname = 'retrieval_vectors_hnsw'")
        assert "USING hnsw (embedding vector_cosine_ops)" in definition
        index._conn.execute("SET enable_seqscan = off")  # 41 rows: else a scan is cheaper
        plan = index._conn.execute(
            "EXPLAIN SELECT chunk_id, embedding <=> %s AS distance FROM retrieval_vectors "
            "ORDER BY distance LIMIT 5", (index._conn.execute(
                "SELECT embedding FROM retrieval_vectors LIMIT 1").fetchone()[0],)).fetchall()
        assert "Index Scan using retrieval_vectors_hnsw" in " ".join(r[0] for r in plan)


def test_rebuilds_embed_only_new_and_changed_files_and_deletions_take_vectors(vector_url,
                                                                              tmp_path):
    docs = _docs(tmp_path)
    embedder = CountingEmbedder()
    with PgChunkIndex.open(vector_url, embedder) as index:
        index.build(docs)
        assert len(embedder.texts) == 41
        embedder.texts.clear()
        assert index.build(docs).chunks_written == 0 and embedder.texts == []

        (docs / "billing.md").write_text("# Billing\nWe bill yearly, in euros.\n")
        (docs / "storage.txt").unlink()
        (docs / "extra.md").write_text("# Extra\nQuokkas live on Rottnest Island.\n")
        report = index.build(docs)
        assert report.changed == ["billing.md"] and report.removed == ["storage.txt"]
        assert report.added == ["extra.md"]
        assert sorted(embedder.texts) == ["Billing\nWe bill yearly, in euros.",
                                          "Extra\nQuokkas live on Rottnest Island."]
        assert _one(index, "SELECT count(*) FROM retrieval_vectors") == len(index) == 41 - 3 - 1 + 1
        assert _one(index, "SELECT count(*) FROM retrieval_vectors WHERE chunk_id LIKE %s",
                    "storage.txt#%") == 0
        assert index.search_vectors("quokkas on Rottnest", 1)[0].chunk.id == "extra.md#0"

    # chunks written without an embedder get their vectors when one is back, and only they
    (docs / "extra.md").write_text("# Extra\nWombats dig burrows.\n")
    with PgChunkIndex.open(vector_url) as bm25_only:
        assert bm25_only.build(docs).changed == ["extra.md"]
    embedder.texts.clear()
    with PgChunkIndex.open(vector_url, embedder) as index:
        assert embedder.texts == ["Extra\nWombats dig burrows."]
        assert index.build(docs).chunks_written == 0
        assert embedder.texts == ["Extra\nWombats dig burrows."]
        assert index.search_vectors("wombats burrows", 1)[0].chunk.id == "extra.md#0"


def test_another_embedder_re_embeds_everything_once(vector_url):
    with PgChunkIndex.open(vector_url, HashingEmbedder()) as index:
        index.build(CORPUS)
    other = CountingEmbedder(64)
    with PgChunkIndex.open(vector_url, other) as index:
        assert len(other.texts) == 41  # on open, before any build
        assert _one(index, "SELECT value FROM retrieval_meta WHERE key = 'dimensions'") == "64"
        assert _one(index, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                           "attrelid = 'retrieval_vectors'::regclass AND attname = 'embedding'"
                    ) == "vector(64)"
        assert _one(index, "SELECT count(*) FROM retrieval_vectors") == 41
        assert index.search_vectors("HTTP 429 Too Many Requests", 1)[0].chunk.id.startswith(
            "api_limits.md")
    other.texts.clear()
    with PgChunkIndex.open(vector_url, other) as index:
        index.build(CORPUS)
    assert other.texts == []


def test_builds_are_committed_for_the_next_connection(vector_url):
    with PgChunkIndex.open(vector_url, HashingEmbedder()) as index:
        index.build(CORPUS)
    with PgChunkIndex.open(vector_url, HashingEmbedder()) as again:
        assert len(again) == 41 and again.sources()[0] == "accounts.md"
        assert again.search_vectors("HTTP 429 Too Many Requests", 1)[0].chunk.id == \
            "api_limits.md#1"


def _pgvector_available(url: str) -> bool:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute("SELECT count(*) FROM pg_available_extensions "
                            "WHERE name = 'vector'").fetchone()[0] > 0


def test_a_server_without_pgvector_says_how_to_install_it(pg_url):
    if _pgvector_available(pg_url):
        pytest.skip("this PostgreSQL has pgvector available; the refusal cannot be shown here")
    with pytest.raises(ConfigError, match=r"pgvector is not installed on this PostgreSQL \d+ "
                                          r"server") as refused:
        PgChunkIndex.open(pg_url, HashingEmbedder())
    assert "apt-get install postgresql-" in str(refused.value)
    assert "BM25 (full-text) search works without it" in str(refused.value)
    with PgChunkIndex.open(pg_url) as index:  # and BM25 still does
        assert index.build(CORPUS).chunks_written == 41


runner = CliRunner()


def _run(*args: str):
    from seamline.cli import app

    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, " ".join(result.output.split())


def test_the_cli_keeps_the_index_and_its_vectors_in_postgres_with_db(vector_url, tmp_path,
                                                                     pg_url):
    docs = _docs(tmp_path)
    code, built = _run("index", "build", str(docs), "--db", vector_url, "--embedder", "hashing")
    assert code == 0, built
    assert "into PostgreSQL database seamline_vec_" in built
    assert "14 added" in built and "41 chunks written, 41 in the index" in built
    assert not (tmp_path / ".seamline").exists()

    code, found = _run("index", "search", "HTTP 429 Too Many Requests", "--db", vector_url,
                       "--mode", "vector", "--embedder", "hashing", "-k", "2")
    assert code == 0, found
    assert "vector results" in found and "api_limits.md#1" in found

    code, table = _run("index", "eval", "--questions", str(QUESTIONS), "--db", vector_url,
                       "--mode", "hybrid", "--embedder", "hashing")
    assert code == 0, table
    assert "recall@5" in table and "lowest best ts_rank_cd score" in table

    code, not_pg = _run("index", "search", "x", "--db", str(tmp_path / "index.db"))
    assert code == 2 and "--db takes a PostgreSQL URL" in not_pg
    missing = vector_url.replace("seamline_vec_", "nope_")
    code, unreachable = _run("index", "search", "x", "--db", missing)
    assert code == 2 and "Cannot use the PostgreSQL database given by --db" in unreachable
    assert "Traceback" not in unreachable
    if not _pgvector_available(pg_url):
        code, refused = _run("index", "build", str(docs), "--db", pg_url, "--embedder", "hashing")
        assert code == 2 and "pgvector is not installed on this PostgreSQL" in refused
        assert "Traceback" not in refused
        code, empty = _run("index", "search", "refund", "--db", pg_url)  # BM25: no pgvector
        assert code == 2 and "The PostgreSQL index given by --db is empty" in empty
