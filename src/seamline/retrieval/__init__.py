"""Retrieval: documents in, chunks with heading paths and locations, BM25 (and vectors) out.

Feeds the grounding checks of layer 4: retrieved chunks become the closed set of
documents an answer may cite; when nothing scores high enough, the answer abstains.
"""

from seamline.retrieval._chunk import DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP, Chunk, chunk_blocks
from seamline.retrieval._documents import Block, load_blocks
from seamline.retrieval._embed import (
    Embedder,
    HashingEmbedder,
    LocalEmbedder,
    OpenAIEmbedder,
    embedder_from_spec,
)
from seamline.retrieval._hybrid import reciprocal_rank_fusion
from seamline.retrieval._index import STOP_WORDS, ChunkIndex, Hit, IndexReport, fts_query
from seamline.retrieval._pg import PgChunkIndex
from seamline.retrieval._quality import (
    GoldenQuestion,
    QualityReport,
    evaluate,
    is_relevant,
    load_questions,
    recall_at_k,
    reciprocal_rank,
)
from seamline.retrieval._rag import DEFAULT_MIN_SCORE, Retrieval, SearchIndex, retrieve

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_MIN_SCORE",
    "DEFAULT_OVERLAP",
    "STOP_WORDS",
    "Block",
    "Chunk",
    "ChunkIndex",
    "Embedder",
    "GoldenQuestion",
    "HashingEmbedder",
    "Hit",
    "IndexReport",
    "LocalEmbedder",
    "OpenAIEmbedder",
    "PgChunkIndex",
    "QualityReport",
    "Retrieval",
    "SearchIndex",
    "chunk_blocks",
    "embedder_from_spec",
    "evaluate",
    "fts_query",
    "is_relevant",
    "load_blocks",
    "load_questions",
    "recall_at_k",
    "reciprocal_rank",
    "reciprocal_rank_fusion",
    "retrieve",
]
