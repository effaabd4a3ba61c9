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


@dataclass(frozen=True)
class Retrieval:
    """What retrieval found; ``abstain`` says nothing scored ``min_score`` or better."""

    question: str
    hits: list[Hit]
    top_score: float
    min_score: float
    mode: str

    @property
    def abstain(self) -> bool:
        return not self.hits or self.top_score < self.min_score

    @property
    def chunk_ids(self) -> list[str]:
        return [h.chunk.id for h in self.hits]

    def documents(self) -> list[dict[str, Any]]:
        """The documents list for an integration's input (empty when abstaining)."""
        if self.abstain:
            return []
        return [{"id": h.chunk.id, "title": " > ".join(h.chunk.heading_path),
                 "text": h.chunk.text, "location": h.chunk.location} for h in self.hits]


def retrieve(index: SearchIndex, question: str, *, k: int = 5, mode: Mode = "bm25",
             min_score: float | None = None) -> Retrieval:
    """The top ``k`` chunks for ``question``.

    ``min_score`` is read against BM25 in ``bm25`` and ``hybrid`` mode (the rank-fused
    score says nothing about how well the best chunk matches) and against cosine
    similarity in ``vector`` mode, where it defaults to 0.
    """
    if mode == "vector":
        hits = index.search_vectors(question, k)
        floor = 0.0 if min_score is None else min_score
        return Retrieval(question, hits, hits[0].score if hits else 0.0, floor, mode)
    floor = DEFAULT_MIN_SCORE if min_score is None else min_score
    lexical = index.search(question, k if mode == "bm25" else 4 * k)
    top = lexical[0].score if lexical else 0.0
    if mode == "bm25":
        return Retrieval(question, lexical, top, floor, mode)
    semantic = index.search_vectors(question, 4 * k)
    by_id = {h.chunk.id: h.chunk for h in [*lexical, *semantic]}
    fused = reciprocal_rank_fusion([[h.chunk.id for h in lexical], [h.chunk.id for h in semantic]])
    hits = [Hit(by_id[cid], score, rank) for rank, (cid, score) in enumerate(fused[:k], 1)]
    return Retrieval(question, hits, top, floor, mode)
