"""The local embedding model a package ships (all-MiniLM-L6-v2), and abstaining on either signal."""

from __future__ import annotations

import numpy as np
import pytest
from retrieval_fixtures import CORPUS, QUESTIONS

from seamline.errors import ConfigError
from seamline.retrieval import (
    ChunkIndex,
    HashingEmbedder,
    LocalEmbedder,
    Retrieval,
    embedder_from_spec,
    evaluate,
    load_questions,
    retrieve,
)

pytestmark = pytest.mark.skipif(not LocalEmbedder.available(),
                                reason="the embeddings extra is not installed")


def test_the_model_is_semantic_not_lexical():
    vectors = np.array(LocalEmbedder().embed([
        "How do I get my money back?", "Refunds go back to the original payment method.",
        "It will rain in Paris tomorrow."]))
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    money_refund, money_rain = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert money_refund > money_rain + 0.2  # no shared word, yet close in meaning
    lexical = np.array(HashingEmbedder().embed([
        "How do I get my money back?", "Refunds go back to the original payment method."]))
    assert lexical[0] @ lexical[1] < money_refund


def test_it_loads_from_the_package_with_no_network_and_once_per_process():
    assert (LocalEmbedder.model_dir() / "model.safetensors").is_file()
    a, b = LocalEmbedder(), LocalEmbedder()
    a.embed(["x"])
    assert a._model() is b._model()
    assert a.name == "local:all-MiniLM-L6-v2" and a.embed([]) == []


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    idx = ChunkIndex.open(tmp_path_factory.mktemp("local") / "index.db", LocalEmbedder())
    idx.build(CORPUS)
    yield idx
    idx.close()


def test_hybrid_with_the_local_model_beats_bm25_on_the_golden_questions(index):
    golden = load_questions(QUESTIONS)

    def run(mode):
        return evaluate(golden, lambda q, n: [h.chunk for h in retrieve(index, q, k=n,
                                                                         mode=mode).hits])

    bm25, hybrid = run("bm25"), run("hybrid")
    assert hybrid.recall[5] == 1.0 and hybrid.mrr >= 0.98
    assert hybrid.mrr > bm25.mrr and hybrid.recall[5] > bm25.recall[5]


def test_hybrid_answers_a_paraphrase_bm25_would_abstain_on(index):
    question = "How do I get my money back?"
    assert retrieve(index, question, mode="bm25").abstain
    found = retrieve(index, question, mode="hybrid")
    assert not found.abstain and found.hits[0].chunk.source == "refunds.md"
    assert found.top_similarity >= found.min_similarity > found.top_score / 100
    assert retrieve(index, "What's the weather in Paris today?", mode="hybrid").abstain


def test_either_signal_clearing_its_floor_is_enough():
    hits = [object()]
    assert Retrieval("q", hits, 1.0, 3.5, "hybrid", 0.5, 0.3).abstain is False
    assert Retrieval("q", hits, 4.0, 3.5, "hybrid", 0.1, 0.3).abstain is False
    assert Retrieval("q", hits, 1.0, 3.5, "hybrid", 0.1, 0.3).abstain is True
    assert Retrieval("q", hits, None, 3.5, "vector", 0.1, 0.3).abstain is True
    assert Retrieval("q", [], 9.0, 3.5, "bm25").abstain is True


def test_an_unknown_embedder_spelling_is_refused():
    assert isinstance(embedder_from_spec("local"), LocalEmbedder)
    assert embedder_from_spec("") is None and embedder_from_spec("none") is None
    with pytest.raises(ConfigError, match="'local', 'hashing' or 'openai:MODEL'"):
        embedder_from_spec("bert")
