"""recall@k, MRR and cites_relevant read the retrieval entry of an eval event's story."""

from __future__ import annotations

import pytest

from seamline.errors import ConfigError
from seamline.eval._scorers import Context, _one

RETRIEVED = [{"id": "billing.md#2"}, {"id": "refunds.md#1"}, {"id": "refunds.md#0"}]


def _ctx(relevant=None, chunks=RETRIEVED):
    example = {"input": {}, "output": {}}
    if relevant is not None:
        example["relevant"] = relevant
    story = [{"kind": "retrieval", "payload": {"chunks": chunks}}] if chunks is not None else []
    return Context(example=example, story=story)


def _score(name, actual=None, ctx=None, **opts):
    return _one({"scorer": name, **opts}, None)(None, actual, ctx)


def test_recall_at_k_counts_documents_or_chunks_found_in_the_top_k():
    assert _score("recall@1", ctx=_ctx(["refunds.md"])) == 0.0
    assert _score("recall@2", ctx=_ctx(["refunds.md"])) == 1.0
    assert _score("recall@3", ctx=_ctx(["refunds.md#0", "accounts.md"])) == 0.5
    assert _score("recall@5", ctx=_ctx(["refunds.md"], chunks=None)) == 0.0  # nothing retrieved


def test_mrr_is_one_over_the_rank_of_the_first_relevant_chunk():
    assert _score("mrr", ctx=_ctx(["refunds.md"])) == pytest.approx(0.5)
    assert _score("mrr", ctx=_ctx(["billing.md#2"])) == 1.0
    assert _score("mrr", ctx=_ctx(["plans.html"])) == 0.0


def test_lines_without_relevant_ids_are_not_rated():
    for name in ("recall@3", "mrr", "cites_relevant"):
        assert _score(name, actual={"citations": [{"chunk_id": "x#0"}]}, ctx=_ctx()) is None


def test_cites_relevant_is_the_share_of_citations_into_relevant_pages():
    actual = {"citations": [{"chunk_id": "refunds.md#1"}, {"chunk_id": "billing.md#0"}]}
    assert _score("cites_relevant", actual, _ctx(["refunds.md"])) == 0.5
    assert _score("cites_relevant", {"refs": ["refunds.md#1"]}, _ctx(["refunds.md"]),
                  field="refs") == 1.0
    assert _score("cites_relevant", {"citations": []}, _ctx(["refunds.md"])) is None


def test_a_malformed_recall_declaration_is_refused():
    with pytest.raises(ConfigError, match="unknown"):
        _one({"scorer": "recall@0"}, None)
