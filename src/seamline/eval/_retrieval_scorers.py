"""Scorers for retrieval-grounded integrations: was the right page found, and cited?

They read the ``retrieval`` entry the pipeline wrote to the eval event's audit story
(the chunk ids retrieved, best first) and the golden line's ``relevant`` list of chunk
ids or document ids (``"refunds.md"`` counts every chunk of that page, so a golden set
survives a change of chunk size). A line without ``relevant`` (an off-topic question)
is not rated by them.
"""

from __future__ import annotations

from typing import Any

from seamline.eval._scorers import Context, Scorer
from seamline.retrieval import is_relevant, recall_at_k, reciprocal_rank


def _relevant(context: Context) -> frozenset[str] | None:
    ids = context.example.get("relevant")
    return frozenset(map(str, ids)) if ids else None


def _retrieved(context: Context) -> list[str] | None:
    entries = context.entries("retrieval")
    if not entries:
        return None
    return [str(c["id"]) for c in entries[-1].get("chunks", [])]


def recall_at(k: int) -> Scorer:
    """Share of the relevant ids found among the first ``k`` chunks retrieved."""

    def score(expected: Any, actual: Any, context: Context) -> float | None:
        relevant = _relevant(context)
        return None if relevant is None else recall_at_k(_retrieved(context) or [], relevant, k)

    return score


def mrr(expected: Any, actual: Any, context: Context) -> float | None:
    """1 / rank of the first relevant chunk retrieved (0 when none was)."""
    relevant = _relevant(context)
    return None if relevant is None else reciprocal_rank(_retrieved(context) or [], relevant)


def cites_relevant(citations_field: str, id_keys: tuple[str, ...]) -> Scorer:
    """Share of the answer's citations that point into a relevant page."""

    def score(expected: Any, actual: Any, context: Context) -> float | None:
        relevant = _relevant(context)
        cited = (actual or {}).get(citations_field) if isinstance(actual, dict) else None
        if relevant is None or not cited:
            return None
        ids = [c if isinstance(c, str) else next((str(c[k]) for k in id_keys if c.get(k)), "")
               for c in cited if isinstance(c, str | dict)]
        return sum(is_relevant(i, relevant) for i in ids) / len(ids)

    return score
