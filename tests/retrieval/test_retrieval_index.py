"""The FTS5 index: BM25 ranking, and re-indexing that costs work only for what changed."""

from __future__ import annotations

import shutil

from retrieval_fixtures import CORPUS, tiny_pdf

from seamline.retrieval import ChunkIndex, fts_query


def _docs(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "refunds.md").write_text("# Refunds\n## Policy\nRefunds within 14 days.\n"
                                     "## Timing\nA refund takes 5 to 10 business days.\n")
    (root / "billing.md").write_text("# Billing\nWe bill monthly by card.\n")
    (root / "faq.txt").write_text("Passwords reset links expire after one hour.\n")
    return root


def test_an_unchanged_folder_costs_no_work_on_the_second_build(tmp_path):
    root = _docs(tmp_path)
    with ChunkIndex.open(tmp_path / "index.db") as index:
        first = index.build(root)
        assert sorted(first.added) == ["billing.md", "faq.txt", "refunds.md"]
        assert first.chunks_written == len(index) == 4
    with ChunkIndex.open(tmp_path / "index.db") as index:  # reopened: the hashes persisted
        second = index.build(root)
    assert second.added == second.changed == second.removed == []
    assert second.chunks_written == 0 and len(second.unchanged) == 3


def test_an_edited_file_replaces_only_its_own_chunks(tmp_path):
    root = _docs(tmp_path)
    with ChunkIndex.open(tmp_path / "index.db") as index:
        index.build(root)
        before = {c.id: c for c in index.chunks()}
        (root / "billing.md").write_text("# Billing\nWe bill yearly by invoice.\n## Tax\nVAT.\n")
        report = index.build(root)
        after = {c.id: c for c in index.chunks()}
    assert report.changed == ["billing.md"] and report.added == [] and report.chunks_written == 2
    assert {i: c for i, c in after.items() if c.source != "billing.md"} == {
        i: c for i, c in before.items() if c.source != "billing.md"}
    assert [c.text for c in after.values() if c.source == "billing.md"] == [
        "We bill yearly by invoice.", "VAT."]


def test_a_deleted_file_leaves_the_index_and_its_words_no_longer_match(tmp_path):
    root = _docs(tmp_path)
    with ChunkIndex.open(tmp_path / "index.db") as index:
        index.build(root)
        assert index.search("passwords reset")
        (root / "faq.txt").unlink()
        report = index.build(root)
        assert report.removed == ["faq.txt"]
        assert index.sources() == ["billing.md", "refunds.md"]
        assert index.search("passwords reset") == []


def test_changing_the_chunk_settings_rechunks_every_file(tmp_path):
    root = _docs(tmp_path)
    with ChunkIndex.open(tmp_path / "index.db") as index:
        index.build(root)
        report = index.build(root, max_tokens=64, overlap=8)
    assert len(report.changed) == 3


def test_bm25_ranks_the_chunk_about_the_question_first(tmp_path):
    with ChunkIndex.open(tmp_path / "index.db") as index:
        index.build(CORPUS)
        hits = index.search("How long does a refund take to appear?", 3)
        assert hits[0].chunk.id == "refunds.md#1"
        assert hits[0].chunk.heading_path == ("Refunds", "How to request a refund")
        assert [h.rank for h in hits] == [1, 2, 3]
        assert hits[0].score > hits[1].score >= hits[2].score > 0
        assert index.search("HTTP 429")[0].chunk.source == "api_limits.md"


def test_questions_are_words_not_fts5_syntax():
    assert fts_query('What is "NEAR(x y)" OR col:* ?') == '"near" OR "x" OR "y" OR "col"'
    assert fts_query("what is the") == ""  # only stop words: nothing to look for


def test_a_question_of_stop_words_or_unknown_words_finds_nothing(tmp_path):
    shutil.copytree(CORPUS, tmp_path / "docs")
    with ChunkIndex.open(tmp_path / "index.db") as index:
        index.build(tmp_path / "docs")
        assert index.search("what is it") == []
        assert index.search("Who won the football world cup?") == []


def test_a_pdf_in_the_folder_is_indexed_page_by_page(tmp_path):
    root = _docs(tmp_path)
    (root / "manual.pdf").write_bytes(tiny_pdf(["Install the agent first.",
                                                "Quotas reset every midnight UTC."]))
    with ChunkIndex.open(tmp_path / "index.db") as index:
        index.build(root)
        hit = index.search("when do quotas reset", 1)[0]
    assert hit.chunk.id == "manual.pdf#1" and hit.chunk.page == 2
    assert hit.chunk.location == "manual.pdf:p.2 L1-1"
    assert hit.chunk.heading_path == ("manual",)
