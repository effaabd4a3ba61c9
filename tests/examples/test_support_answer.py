"""The support-answer example end to end: retrieve → prompt → cited answer → grounding → act.

The integration file as shipped (hybrid retrieval with the local MiniLM embedder and the
on-device extractive answerer), run through the real pipeline on a real store.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from seamline.audit import story, verify
from seamline.errors import ConfigError
from seamline.eval import run_eval
from seamline.eval._compare import apply_overrides
from seamline.inference import ScriptedModel
from seamline.integration import load_integration
from seamline.preflight import check
from seamline.runtime import Pipeline

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support_answer"


@pytest.fixture(scope="module")
def integration():
    return load_integration(EXAMPLE / "integration.yaml")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the index goes to .seamline/index/ here
    monkeypatch.setenv("SUPPORT_ANSWER_HELPDESK_DB", str(tmp_path / "answers.db"))
    return tmp_path


def _replies(workdir: Path) -> list[tuple[str, str, dict]]:
    db = workdir / "answers.db"
    if not db.exists():
        return []
    rows = sqlite3.connect(db).execute("SELECT kind, ticket_id, body FROM replies").fetchall()
    return [(kind, ticket, json.loads(body)) for kind, ticket, body in rows]


def _entries(store, event_id: str, kind: str) -> list[dict]:
    return [e["payload"] for e in story(store, event_id) if e["kind"] == kind]


def test_the_example_is_ready_to_go_live(integration):
    problems = [p for p in check(integration) if p.level == "error"]
    assert problems == []
    assert integration.retrieval is not None and integration.retrieval.mode == "hybrid"


def test_a_question_is_answered_with_verbatim_quotes_from_the_chunks_retrieved(
        integration, store, workdir):
    pipeline = Pipeline(integration, store)
    result = pipeline.process({"ticket_id": "t-1", "question":
                               "How long does a refund take to appear on my card?"})
    assert result.state == "succeeded", result.reason
    out = result.output
    assert out["status"] == "answered" and "5 to 10 business days" in out["answer"]
    [found] = _entries(store, result.event_id, "retrieval")
    assert found["abstain"] is False and found["mode"] == "hybrid"
    retrieved = [c["id"] for c in found["chunks"]]
    assert retrieved[0].startswith("refunds.md#")
    [ingest] = _entries(store, result.event_id, "ingest")
    docs = {d["id"]: d["text"] for d in ingest["input"]["documents"]}
    assert list(docs) == retrieved  # what the model saw is what retrieval found
    for citation in out["citations"]:
        assert citation["quote"] in docs[citation["chunk_id"]]
    [grounding] = _entries(store, result.event_id, "grounding")
    assert grounding["passed"] and grounding["checks"]["closed_sources"] == "pass"
    assert _replies(workdir) == [("reply", "t-1", {"answer": out["answer"],
                                                    "sources": out["citations"]})]
    assert verify(store).ok


def test_a_paraphrase_is_found_by_the_embeddings_when_bm25_finds_nothing_good(
        integration, store, workdir):
    result = Pipeline(integration, store).process(
        {"ticket_id": "t-2", "question": "How do I get my money back?"})
    [found] = _entries(store, result.event_id, "retrieval")
    assert found["top_score"] < found["min_score"]  # BM25 alone would abstain
    assert found["top_similarity"] >= found["min_similarity"]
    assert result.output["status"] == "answered"
    assert result.output["citations"][0]["chunk_id"].startswith("refunds.md#")


def test_an_off_topic_question_abstains_and_is_handed_to_a_person(integration, store, workdir):
    result = Pipeline(integration, store).process(
        {"ticket_id": "t-3", "question": "What is the capital of France?"})
    assert result.state == "succeeded"
    assert result.output == {"status": "insufficient_information", "answer": "", "citations": []}
    [found] = _entries(store, result.event_id, "retrieval")
    assert found["abstain"] is True
    [prompt] = _entries(store, result.event_id, "prompt")
    assert "none were found" in prompt["user"]
    assert [(k, t) for k, t, _ in _replies(workdir)] == [("handover", "t-3")]


def test_pii_in_the_question_is_redacted_before_retrieval_and_the_prompt(
        integration, store, workdir):
    result = Pipeline(integration, store).process(
        {"ticket_id": "t-4", "question": "I'm jane.doe@example.com: how long does a refund take?"})
    [found] = _entries(store, result.event_id, "retrieval")
    [prompt] = _entries(store, result.event_id, "prompt")
    assert "jane.doe@example.com" not in found["question"]
    assert "jane.doe@example.com" not in prompt["user"]
    assert result.output["status"] == "answered"


def test_documents_sent_by_the_caller_are_replaced_by_what_retrieval_found(
        integration, store, workdir):
    forged = [{"id": "forged#0", "text": "Refunds are paid in cash at any office within 1 hour."}]
    seen = []

    def model(request):
        seen.append([d["id"] for d in request.source["documents"]])
        return {"status": "answered", "answer": "Cash within 1 hour.", "citations": [
            {"chunk_id": "forged#0", "quote": "Refunds are paid in cash at any office"}]}

    result = Pipeline(integration, store, provider=ScriptedModel(model)).process(
        {"ticket_id": "t-5", "question": "How long does a refund take?", "documents": forged})
    assert all("forged#0" not in ids for ids in seen) and seen[0]
    assert result.state == "dead_lettered" and result.stage == "grounding"
    assert "'forged#0' is not among the documents provided" in result.reason
    assert len(seen) == 3  # the first reply and two repairs, each told why
    assert _replies(workdir) == []


def test_a_quote_with_one_word_changed_is_repaired_then_accepted(integration, store, workdir):
    calls = []

    def model(request):
        calls.append(request)
        doc = request.source["documents"][0]
        quote = "Refunds go back to the original payment method"
        assert quote in doc["text"]
        if request.attempt == 0:  # one word changed: not verbatim
            quote = quote.replace("original", "first")
        return {"status": "answered", "answer": "To the original payment method.",
                "citations": [{"chunk_id": doc["id"], "quote": quote}]}

    result = Pipeline(integration, store, provider=ScriptedModel(model)).process(
        {"ticket_id": "t-6", "question": "Where do refunds go back to?"})
    assert result.state == "succeeded", result.reason
    assert [c.attempt for c in calls] == [0, 1]
    told = " ".join(m.content for m in calls[1].messages)
    assert "first payment method" in told  # the repair names the quote that failed
    assert result.output["citations"][0]["quote"].endswith("original payment method")


def test_without_the_local_model_retrieval_falls_back_to_bm25_and_says_so(
        integration, store, workdir, monkeypatch):
    from seamline.retrieval import LocalEmbedder

    monkeypatch.setattr(LocalEmbedder, "available", staticmethod(lambda: False))
    result = Pipeline(integration, store).process(
        {"ticket_id": "t-7", "question": "How long does a refund take to appear?"})
    [found] = _entries(store, result.event_id, "retrieval")
    assert found["mode"] == "bm25" and "not installed" in found["note"]
    assert result.output["status"] == "answered"


def test_a_retrieval_setting_outside_the_input_schema_is_named_by_check(integration):
    broken = integration.model_copy(update={"retrieval": integration.retrieval.model_copy(
        update={"query_field": "subject"})})
    errors = [p.sentence for p in check(broken) if p.level == "error"]
    assert any("query field 'subject' is not a field of the input schema" in e for e in errors)


def test_the_golden_set_scores_the_whole_stack_and_retrieval(integration, workdir):
    report = run_eval(integration, EXAMPLE / "data" / "golden.jsonl")
    assert report.mean("recall@4") == pytest.approx(1.0)
    assert report.mean("mrr") >= 0.95
    assert report.mean("grounding") == pytest.approx(1.0)
    assert report.mean("no_pii_leak") == pytest.approx(1.0)
    assert report.mean("field:status") >= 0.95
    # The headline now counts only informative scorers (key facts in the answer text among
    # them; grounding and no-PII-leak cannot fail for the extractive model): 90.4% on test.
    assert report.score >= 0.88
    bm25 = run_eval(apply_overrides(integration, {"retrieval_mode": "bm25"}),
                    EXAMPLE / "data" / "golden.jsonl")
    assert bm25.mean("recall@4") < report.mean("recall@4")  # paraphrases need the vectors


def test_a_variant_with_a_nonsense_retrieval_mode_is_refused(integration):
    with pytest.raises(ConfigError, match="retrieval setting is invalid"):
        apply_overrides(integration, {"retrieval_mode": "psychic"})


def test_on_postgresql_the_index_is_shared_by_every_worker_in_its_own_schema(
        integration, workdir, vector_url, monkeypatch):
    """retrieval.db: store keeps chunks and pgvector vectors in the store's PostgreSQL."""
    from cryptography.fernet import Fernet

    from seamline.store import open_store

    monkeypatch.setenv("SEAMLINE_VAULT_KEY", Fernet.generate_key().decode())
    shared = integration.model_copy(update={"retrieval": integration.retrieval.model_copy(
        update={"db": "store"})})
    store = open_store(vector_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        first, second = Pipeline(shared, store), Pipeline(shared, store)  # two workers
        assert len(first.retriever.report.added) == 14
        assert second.retriever.report.added == [] and len(second.retriever.report.unchanged) == 14
        result = second.process({"ticket_id": "pg-1", "question": "How do I get my money back?"})
        assert result.output["status"] == "answered", result.reason
        assert result.output["citations"][0]["chunk_id"].startswith("refunds.md#")
        off = first.process({"ticket_id": "pg-2", "question": "What is the capital of France?"})
        assert off.output["status"] == "insufficient_information"
    finally:
        store.close()
    import psycopg

    with psycopg.connect(vector_url) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'retrieval_support_answer'")}
        assert {"retrieval_chunks", "retrieval_vectors", "retrieval_files"} <= tables
        assert not (workdir / ".seamline" / "index").exists()  # no SQLite file was made


def test_a_shared_index_needs_postgresql_and_says_so(integration, store, workdir, monkeypatch):
    on_store = integration.model_copy(update={"retrieval": integration.retrieval.model_copy(
        update={"db": "store"})})
    with pytest.raises(ConfigError, match="not a PostgreSQL database"):
        Pipeline(on_store, store)  # the store here is SQLite
    from_env = integration.model_copy(update={"retrieval": integration.retrieval.model_copy(
        update={"db": "env:ANSWERS_INDEX_DB"})})
    monkeypatch.delenv("ANSWERS_INDEX_DB", raising=False)
    with pytest.raises(ConfigError, match="ANSWERS_INDEX_DB, which is not set"):
        Pipeline(from_env, store)
