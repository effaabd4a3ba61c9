"""Retrieval quality on the support-answer golden set, with floors measured on this corpus."""

from __future__ import annotations

import json

import pytest
from retrieval_fixtures import CORPUS, QUESTIONS

from seamline.retrieval import (
    Chunk,
    ChunkIndex,
    HashingEmbedder,
    evaluate,
    load_questions,
    recall_at_k,
    reciprocal_rank,
    retrieve,
)


def _chunk(cid: str) -> Chunk:
    return Chunk(cid, cid.split("#")[0], 0, ("t",), "x", 1, 1)


def test_recall_and_reciprocal_rank_by_hand():
    got = [_chunk("a.md#0"), _chunk("b.md#2"), _chunk("c.md#1")]
    assert recall_at_k(got, frozenset({"b.md#2", "c.md"}), 1) == 0.0
    assert recall_at_k(got, frozenset({"b.md#2", "c.md"}), 2) == 0.5
    assert recall_at_k(got, frozenset({"b.md#2", "c.md"}), 3) == 1.0
    assert reciprocal_rank(got, frozenset({"c.md"})) == pytest.approx(1 / 3)
    assert reciprocal_rank(got, frozenset({"z.md"})) == 0.0


def test_a_golden_line_without_relevant_ids_is_refused(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"question": "why?", "relevant": []}) + "\n")
    with pytest.raises(ValueError, match="q.jsonl:1"):
        load_questions(path)


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    idx = ChunkIndex.open(tmp_path_factory.mktemp("quality") / "index.db", HashingEmbedder())
    idx.build(CORPUS)
    yield idx
    idx.close()


# Measured 2026-11-25 on 46 questions / 41 chunks: bm25 recall@1 0.935, @5 0.957, MRR 0.957;
# hybrid (hashing vectors) recall@5 0.978, MRR 0.940; vector alone recall@5 0.891, MRR 0.777.
@pytest.mark.parametrize(("mode", "recall1", "recall5", "mrr"), [
    ("bm25", 0.93, 0.95, 0.95), ("hybrid", 0.88, 0.97, 0.93), ("vector", 0.69, 0.89, 0.77)])
def test_the_golden_set_scores_above_its_measured_floor(index, mode, recall1, recall5, mrr):
    golden = load_questions(QUESTIONS)
    assert len(golden) >= 40
    report = evaluate(golden, lambda q, k: [h.chunk for h in retrieve(
        index, q, k=k, mode=mode, min_score=float("-inf")).hits], ks=(1, 5))
    assert report.recall[1] >= recall1
    assert report.recall[5] >= recall5
    assert report.mrr >= mrr


def test_bm25_misses_only_the_questions_that_share_no_word_with_the_answer(index):
    golden = load_questions(QUESTIONS)
    report = evaluate(golden, lambda q, k: [h.chunk for h in index.search(q, k)])
    assert report.misses == ["How do I get my money back?", "Can I undo a release?"]


def test_the_default_threshold_answers_nearly_every_golden_question(index):
    answered = [q for q in load_questions(QUESTIONS) if not retrieve(index, q.question).abstain]
    assert len(answered) >= 43  # measured: 44 of 46; the two below 3.5 are vocabulary misses
