"""`seamline index build|search|eval`: the retrieval index from the command line.

A thin layer over :mod:`seamline.retrieval`; the index is its own SQLite file
(``--index``, default ``.seamline/index.db``), never the store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from seamline.cli._common import console, existing_file, fail
from seamline.retrieval import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_MIN_SCORE,
    DEFAULT_OVERLAP,
    ChunkIndex,
    Embedder,
    HashingEmbedder,
    OpenAIEmbedder,
    evaluate,
    load_questions,
    retrieve,
)

index_app = typer.Typer(no_args_is_help=True, help="Build, search and evaluate the retrieval index.")

IndexOption = Annotated[Path, typer.Option("--index", envvar="SEAMLINE_INDEX",
                                           help="The index file (its own SQLite database).")]
EmbedderOption = Annotated[str | None, typer.Option(
    "--embedder", help="'hashing' (lexical, offline) or 'openai:MODEL' (an OpenAI-compatible "
                       "/embeddings endpoint; OPENAI_BASE_URL and OPENAI_API_KEY apply).")]
ModeOption = Annotated[str, typer.Option("--mode", help="bm25, vector or hybrid (RRF).")]
DEFAULT_INDEX = Path(".seamline/index.db")


def _embedder(spec: str | None) -> Embedder | None:
    if not spec:
        return None
    if spec == "hashing":
        return HashingEmbedder()
    if spec.startswith("openai:") and spec[7:]:
        return OpenAIEmbedder(spec[7:])
    fail(f"--embedder takes 'hashing' or 'openai:MODEL', not {spec!r}.", 2)
    return None


def _check_mode(mode: str, embedder: Embedder | None) -> None:
    if mode not in ("bm25", "vector", "hybrid"):
        fail(f"--mode takes bm25, vector or hybrid, not {mode!r}.", 2)
    if mode != "bm25" and embedder is None:
        fail(f"--mode {mode} needs --embedder.", 2)


@index_app.command("build")
def build_cmd(
    docs: Annotated[Path, typer.Argument(help="A folder (or one file) of .md, .html, .txt, .pdf.")],
    index: IndexOption = DEFAULT_INDEX,
    max_tokens: Annotated[int, typer.Option(min=16, help="Largest chunk.")] = DEFAULT_MAX_TOKENS,
    overlap: Annotated[int, typer.Option(min=0, help="Tokens shared by neighbouring chunks "
                                                     "of one section.")] = DEFAULT_OVERLAP,
    embedder: EmbedderOption = None,
):
    """Index the documents; unchanged files are skipped, edited ones re-chunked, deleted ones removed."""
    if not docs.exists():
        fail(f"{docs} does not exist.", 2)
    if overlap >= max_tokens:
        fail(f"--overlap ({overlap}) must be below --max-tokens ({max_tokens}).", 2)
    with ChunkIndex.open(index, _embedder(embedder)) as idx:
        report = idx.build(docs, max_tokens=max_tokens, overlap=overlap)
        total = len(idx)
    console.print(f"Indexed {escape(str(docs))} into {escape(str(index))}: "
                  f"{len(report.added)} added, {len(report.changed)} changed, "
                  f"{len(report.removed)} removed, {len(report.unchanged)} unchanged; "
                  f"{report.chunks_written} chunks written, {total} in the index.")


@index_app.command("search")
def search_cmd(
    query: Annotated[str, typer.Argument(help="The question.")],
    index: IndexOption = DEFAULT_INDEX,
    k: Annotated[int, typer.Option("-k", min=1, help="How many chunks.")] = 5,
    mode: ModeOption = "bm25",
    embedder: EmbedderOption = None,
    min_score: Annotated[float | None, typer.Option(
        help=f"Abstain below this best BM25 score (default {DEFAULT_MIN_SCORE}).")] = None,
):
    """Show the chunks a question retrieves, or say that an answer should abstain."""
    emb = _embedder(embedder)
    _check_mode(mode, emb)
    existing_file(index, "index")
    with ChunkIndex.open(index, emb) as idx:
        result = retrieve(idx, query, k=k, mode=mode, min_score=min_score)  # type: ignore[arg-type]
    if not result.hits:
        console.print("Nothing matched: an answer should abstain.")
        return
    table = Table(title=f"{mode} results", title_justify="left")
    for col in ("Rank", "Score", "Chunk", "Heading", "Location", "Text"):
        table.add_column(col, overflow="fold")
    for hit in result.hits:
        c = hit.chunk
        table.add_row(str(hit.rank), f"{hit.score:.3f}", escape(c.id),
                      escape(" > ".join(c.heading_path)), escape(c.location),
                      escape(c.text[:120] + ("…" if len(c.text) > 120 else "")))
    console.print(table)
    if result.abstain:
        console.print(f"Best score {result.top_score:.2f} is below {result.min_score}: "
                      "an answer should abstain.")


@index_app.command("eval")
def eval_cmd(
    questions: Annotated[Path, typer.Option(help="JSON lines of {question, relevant: [ids]}.")],
    index: IndexOption = DEFAULT_INDEX,
    docs: Annotated[Path | None, typer.Option(
        help="Build (incrementally) from this folder first.")] = None,
    mode: ModeOption = "bm25",
    embedder: EmbedderOption = None,
    k: Annotated[str, typer.Option("-k", help="Comma-separated cut-offs for recall@k.")] = "1,3,5",
    min_score: Annotated[float, typer.Option(
        help="Report how many golden questions this BM25 threshold abstains on.")] = DEFAULT_MIN_SCORE,
):
    """Recall@k and MRR of the index on a golden question set, as a table."""
    emb = _embedder(embedder)
    _check_mode(mode, emb)
    try:
        ks = sorted({int(x) for x in k.split(",") if x.strip()})
    except ValueError:
        ks = []
    if not ks or ks[0] < 1:
        fail(f"-k takes comma-separated positive integers, not {k!r}.", 2)
    golden = load_questions(existing_file(questions, "question set"))
    if docs is None:
        existing_file(index, "index")
    with ChunkIndex.open(index, emb) as idx:
        if docs is not None:
            idx.build(docs)
        report = evaluate(golden, lambda q, n: [h.chunk for h in retrieve(
            idx, q, k=n, mode=mode, min_score=float("-inf")).hits], ks)  # type: ignore[arg-type]
        best = [retrieve(idx, g.question, k=1).top_score for g in golden]
    table = Table(title=f"Retrieval quality ({mode}, {report.questions} questions)",
                  title_justify="left")
    table.add_column("Measure")
    table.add_column("Value", justify="right")
    for cut, value in report.recall.items():
        table.add_row(f"recall@{cut}", f"{value:.3f}")
    table.add_row("MRR", f"{report.mrr:.3f}")
    console.print(table)
    for miss in report.misses:
        console.print(f"  no relevant chunk in the top {ks[-1]}: {escape(miss)}")
    below = sum(1 for score in best if score < min_score)
    console.print(f"At --min-score {min_score}, {below} of {len(best)} golden questions would "
                  f"abstain (lowest best BM25 score {min(best):.2f}).")
