"""Retrieval, hybrid ranking: reciprocal rank fusion of several ranked lists.

RRF uses ranks, not scores, because BM25 scores and cosine similarities live on
different scales and no weighting of the two survives a change of corpus.
"""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_K = 60  # the constant of Cormack, Clarke and Büttcher (2009)


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], *, k: int = DEFAULT_K
                           ) -> list[tuple[str, float]]:
    """Ids by the sum of ``1 / (k + rank)`` over the lists they appear in, best first.

    Ties keep the order of first appearance, so the result is deterministic.
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    order = {item: i for i, item in enumerate(scores)}
    return sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))
