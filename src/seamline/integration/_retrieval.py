"""How an integration declares retrieval: where the documents are, what to ask, where to put them.

The pipeline retrieves after ingest (on the redacted input) and before the prompt: the
chunks found become the input's ``documents_field``, the closed set of sources the
grounding checks hold the answer to. No chunk good enough: the documents are empty and
the answer must abstain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RetrievalSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    # The documents folder (.md, .html, .txt, .pdf); indexed incrementally when a pipeline
    # starts, so an edited page is searchable on the next start. Empty: use the index as is.
    docs: Path | None = None
    # The index file (its own SQLite database); default .seamline/index/<integration>.db.
    index: Path | None = None
    # Where the index lives instead, for several machines: "store" (the store's own
    # PostgreSQL database, SEAMLINE_DB) or "env:NAME" (a PostgreSQL URL in that environment
    # variable). Tables go in the schema retrieval_<integration>; vectors use pgvector.
    db: str = Field("", pattern=r"^(|store|env:[A-Za-z_][A-Za-z0-9_]*)$")
    query_field: str = "question"  # input: the text to search with
    documents_field: str = "documents"  # input: where the chunks found go
    k: int = Field(5, ge=1, le=50)
    mode: Literal["bm25", "vector", "hybrid"] = "bm25"
    # "local" (all-MiniLM-L6-v2, the embeddings extra), "hashing" or "openai:MODEL". When
    # the local model is not installed, retrieval falls back to BM25 and says so.
    embedder: str = ""
    min_score: float | None = None  # BM25 floor; default DEFAULT_MIN_SCORE
    min_similarity: float | None = None  # cosine floor; default DEFAULT_MIN_SIMILARITY
    max_tokens: int = Field(512, ge=16)  # chunking, when the pipeline builds the index
    overlap: int = Field(200, ge=0)
