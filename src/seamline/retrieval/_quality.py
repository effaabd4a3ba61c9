"""Retrieval quality on a golden question set: recall@k and mean reciprocal rank.

A question names the chunk ids or document ids that answer it; a retrieved chunk is
relevant when its id or its source is named, so a golden set written against
documents survives a change of chunk size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from seamline.retrieval._chunk import Chunk


@dataclass(frozen=True)
class GoldenQuestion:
    question: str
    relevant: frozenset[str]


@dataclass(frozen=True)
class QualityReport:
    """Mean recall@k for each k, MRR, and the questions that found nothing relevant."""

    questions: int
    recall: dict[int, float]
    mrr: float
    misses: list[str]


def load_questions(path: str | Path) -> list[GoldenQuestion]:
    """JSON lines of ``{"question": ..., "relevant": [chunk or document ids]}``."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            if not row.get("question") or not row.get("relevant"):
                raise ValueError(f"{path}:{n}: a question needs 'question' and 'relevant'.")
            out.append(GoldenQuestion(row["question"], frozenset(row["relevant"])))
    return out


def _id(item: Chunk | str) -> str:
    return item if isinstance(item, str) else item.id


def is_relevant(item: Chunk | str, relevant: frozenset[str]) -> bool:
    """A chunk (or chunk id, ``source#n``) is relevant when its id or its source is named."""
    chunk_id = _id(item)
    return chunk_id in relevant or chunk_id.rpartition("#")[0] in relevant


def recall_at_k(retrieved: Sequence[Chunk | str], relevant: frozenset[str], k: int) -> float:
    """Share of the relevant ids (chunks or documents) found in the top ``k``."""
    top = [_id(c) for c in retrieved[:k]]
    found = {r for r in relevant if any(is_relevant(c, frozenset([r])) for c in top)}
    return len(found) / len(relevant)


def reciprocal_rank(retrieved: Sequence[Chunk | str], relevant: frozenset[str]) -> float:
    """1 / rank of the first relevant chunk; 0 when none was retrieved."""
    for rank, chunk in enumerate(retrieved, 1):
        if is_relevant(chunk, relevant):
            return 1.0 / rank
    return 0.0


def evaluate(questions: Sequence[GoldenQuestion], search: Callable[[str, int], list[Chunk]],
             ks: Sequence[int] = (1, 3, 5)) -> QualityReport:
    """Run ``search(question, max(ks))`` for each question and average the measures."""
    if not questions:
        raise ValueError("the golden set is empty.")
    depth = max(ks)
    recall = {k: 0.0 for k in ks}
    rr = 0.0
    misses = []
    for q in questions:
        got = search(q.question, depth)
        for k in ks:
            recall[k] += recall_at_k(got, q.relevant, k)
        r = reciprocal_rank(got, q.relevant)
        rr += r
        if r == 0.0:
            misses.append(q.question)
    n = len(questions)
    return QualityReport(n, {k: v / n for k, v in recall.items()}, rr / n, misses)
