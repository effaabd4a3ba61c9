"""Retrieval into an integration: the documents an answer may cite, or a reason to abstain.

The output is shaped for the grounding checks of layer 4: ``documents`` is a list of
``{"id", "title", "text", "location"}`` for the input's ``documents_field``, so a
``GroundingSpec(citations_field=..., documents_field=...)`` rejects any citation of a
chunk that was not retrieved (closed sources).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from seamline.retrieval._hybrid import reciprocal_rank_fusion
from seamline.retrieval._index import Hit

Mode = Literal["bm25", "vector", "hybrid"]


class SearchIndex(Protocol):
    """What retrieval needs of an index: the SQLite :class:`ChunkIndex` or the PostgreSQL one."""

    def search(self, query: str, k: int = 5) -> list[Hit]: ...

    def search_vectors(self, query: str, k: int = 5) -> list[Hit]: ...


# Measured on examples/support_answer (41 chunks): the golden questions answered right
# score 3.58 and up, off-topic questions match nothing or score 3.15 at most. BM25 scores
# grow with the corpus's vocabulary, so calibrate this per corpus (`seamline index eval`
# says how many golden questions a threshold would abstain on).
DEFAULT_MIN_SCORE = 3.5
# The same for cosine similarity with all-MiniLM-L6-v2 (LocalEmbedder): the 46 golden
# questions' best chunks score 0.348 and up, 14 off-topic questions 0.224 at most.
# Another embedder lives on another scale: calibrate it the same way.
DEFAULT_MIN_SIMILARITY = 0.30


@dataclass(frozen=True)
class Retrieval:
    """What retrieval found, and whether the evidence is good enough to answer from.

    ``top_score`` is the best BM25 score (``None`` in vector mode), ``top_similarity``
    the best cosine similarity (``None`` in bm25 mode). In hybrid mode either signal
    clearing its floor is enough: BM25 catches exact terms and codes, vectors catch
    paraphrases ("get my money back" for a page about refunds).
    """

    question: str
    hits: list[Hit]
    top_score: float | None
    min_score: float
    mode: str
    top_similarity: float | None = None
    min_similarity: float = DEFAULT_MIN_SIMILARITY

    @property
    def abstain(self) -> bool:
        if not self.hits:
            return True
        lexical = self.top_score is not None and self.top_score >= self.min_score
        semantic = self.top_similarity is not None and self.top_similarity >= self.min_similarity
        return not (lexical or semantic)

    @property
    def chunk_ids(self) -> list[str]:
        return [h.chunk.id for h in self.hits]

    def documents(self) -> list[dict[str, Any]]:
        """The documents list for an integration's input (empty when abstaining)."""
        if self.abstain:
            return []
        return [{"id": h.chunk.id, "title": " > ".join(h.chunk.heading_path),
                 "text": h.chunk.text, "location": h.chunk.location} for h in self.hits]

    def summary(self) -> dict[str, Any]:
        """For the audit trail: what was retrieved and why the answer may (not) go on."""
        return {"question": self.question, "mode": self.mode, "abstain": self.abstain,
                "chunks": [{"id": h.chunk.id, "score": round(h.score, 4)} for h in self.hits],
                "top_score": self.top_score, "min_score": self.min_score,
                "top_similarity": self.top_similarity, "min_similarity": self.min_similarity}


def retrieve(index: SearchIndex, question: str, *, k: int = 5, mode: Mode = "bm25",
             min_score: float | None = None, min_similarity: float | None = None) -> Retrieval:
    """The top ``k`` chunks for ``question``, and whether to abstain.

    ``min_score`` is the BM25 floor (bm25 and hybrid modes; the rank-fused score says
    nothing about how well the best chunk matches), ``min_similarity`` the cosine floor
    (vector and hybrid modes).
    """
    floor = DEFAULT_MIN_SCORE if min_score is None else min_score
    sim_floor = DEFAULT_MIN_SIMILARITY if min_similarity is None else min_similarity
    if mode == "vector":
        hits = index.search_vectors(question, k)
        return Retrieval(question, hits, None, floor, mode,
                         hits[0].score if hits else None, sim_floor)
    lexical = index.search(question, k if mode == "bm25" else 4 * k)
    top = lexical[0].score if lexical else 0.0
    if mode == "bm25":
        return Retrieval(question, lexical, top, floor, mode)
    semantic = index.search_vectors(question, 4 * k)
    by_id = {h.chunk.id: h.chunk for h in [*lexical, *semantic]}
    fused = reciprocal_rank_fusion([[h.chunk.id for h in lexical], [h.chunk.id for h in semantic]])
    hits = [Hit(by_id[cid], score, rank) for rank, (cid, score) in enumerate(fused[:k], 1)]
    return Retrieval(question, hits, top, floor, mode,
                     semantic[0].score if semantic else None, sim_floor)
