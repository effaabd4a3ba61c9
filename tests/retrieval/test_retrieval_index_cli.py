"""`seamline index build|search|eval` from the command line."""

from __future__ import annotations

import shutil

from retrieval_fixtures import CORPUS, QUESTIONS
from typer.testing import CliRunner

from seamline.cli import app

runner = CliRunner()


class _Result:
    """The CLI's result with its output unwrapped (Rich wraps at the terminal's width)."""

    def __init__(self, result) -> None:
        self.exit_code = result.exit_code
        self.output = " ".join(result.output.split())
        self.raw = result.output


def _run(*args: str):
    return _Result(runner.invoke(app, list(args), env={"COLUMNS": "200"}))


def test_build_twice_then_search_then_eval(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(CORPUS, docs)
    index = str(tmp_path / "index.db")
    first = _run("index", "build", str(docs), "--index", index)
    assert first.exit_code == 0, first.output
    assert "14 added" in first.output and "41 chunks written" in first.output
    (docs / "support.md").unlink()
    second = _run("index", "build", str(docs), "--index", index)
    assert "1 removed, 13 unchanged; 0 chunks written" in second.output.replace("\n", " ")

    found = _run("index", "search", "HTTP 429 Too Many Requests", "--index", index, "-k", "2")
    assert found.exit_code == 0 and "api_limits.md#1" in found.output
    assert "API rate limits > Rate limit headers" in found.output

    off = _run("index", "search", "Who won the football world cup?", "--index", index)
    assert "Nothing matched: an answer should abstain." in off.output

    table = _run("index", "eval", "--questions", str(QUESTIONS), "--index", index,
                 "--mode", "hybrid", "--embedder", "hashing")
    assert table.exit_code == 0, table.output
    assert "recall@5" in table.output and "MRR" in table.output
    # support.md was deleted above: its two questions find nothing, two more score below 3.5
    assert "At --min-score 3.5, 4 of 46 golden questions would abstain" in table.output


def test_mistakes_end_in_a_sentence_and_exit_code_2(tmp_path):
    index = str(tmp_path / "index.db")
    bad_mode = _run("index", "search", "x", "--index", index, "--mode", "vector")
    assert bad_mode.exit_code == 2 and "needs --embedder" in bad_mode.output
    missing = _run("index", "search", "x", "--index", index)
    assert missing.exit_code == 2 and "does not exist" in missing.output
    overlap = _run("index", "build", str(CORPUS), "--index", index, "--max-tokens", "100",
                   "--overlap", "100")
    assert overlap.exit_code == 2 and "must be below" in overlap.output
