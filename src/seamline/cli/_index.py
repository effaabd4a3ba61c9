"""`seamline index build|search|eval`: the retrieval index from the command line.

A thin layer over :mod:`seamline.retrieval`; the index is its own SQLite file
(``--index``, default ``.seamline/index.db``), never the store, or, with ``--db URL``,
``retrieval_*`` tables in a PostgreSQL database (vectors there need pgvector).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from seamline.cli._common import console, existing_file, fail
from seamline.errors import ConfigError
from seamline.retrieval import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_MIN_SCORE,
    DEFAULT_OVERLAP,
    ChunkIndex,
    Embedder,
    LocalEmbedder,
    PgChunkIndex,
    embedder_from_spec,
    evaluate,
    load_questions,
    retrieve,
)

index_app = typer.Typer(no_args_is_help=True, help="Build, search and evaluate the retrieval index.")

IndexOption = Annotated[Path, typer.Option("--index", envvar="SEAMLINE_INDEX",
                                           help="The index file (its own SQLite database).")]
EmbedderOption = Annotated[str | None, typer.Option(
    "--embedder", help="'local' (all-MiniLM-L6-v2 on the CPU, the embeddings extra), 'hashing' "
                       "(lexical, offline) or 'openai:MODEL' (an OpenAI-compatible /embeddings "
                       "endpoint; OPENAI_BASE_URL and OPENAI_API_KEY apply).")]
ModeOption = Annotated[str, typer.Option("--mode", help="bm25, vector or hybrid (RRF).")]
PgOption = Annotated[str | None, typer.Option(
    "--db", envvar="SEAMLINE_INDEX_DB",
    help="A PostgreSQL URL (postgresql://...): keep the index in its retrieval_* tables instead "
         "of the --index file; with --embedder, vectors go to pgvector there.")]
DEFAULT_INDEX = Path(".seamline/index.db")
_PG_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def _open_pg(db: str, emb: Embedder | None) -> PgChunkIndex:
    if not db.startswith(_PG_SCHEMES):
        fail("--db takes a PostgreSQL URL (postgresql://user@host:5432/dbname); the SQLite "
             "index is chosen with --index.", 2)
    try:
        import psycopg
    except ImportError:
        fail("--db needs the PostgreSQL driver: pip install 'seamline[postgres]'.", 2)
    try:
        return PgChunkIndex.open(db, emb)
    except ConfigError as exc:
        fail(str(exc), 2)
    except psycopg.Error as exc:
        _pg_failed(exc)
    raise AssertionError  # fail() always raises


def _pg_failed(exc: Exception) -> None:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    fail(f"Cannot use the PostgreSQL database given by --db: {escape(reason)}", 2)


@contextmanager
def _opened(index: Path, db: str | None, emb: Embedder | None, *,
            must_exist: bool) -> Iterator[ChunkIndex | PgChunkIndex]:
    """The SQLite index file, or the PostgreSQL one with ``--db``; mistakes end in exit 2."""
    if db is None:
        if must_exist:
            existing_file(index, "index")
        idx: ChunkIndex | PgChunkIndex = ChunkIndex.open(index, emb)
    else:
        idx = _open_pg(db, emb)
    with idx:
        if must_exist and db is not None and len(idx) == 0:
            fail("The PostgreSQL index given by --db is empty: run seamline index build DOCS "
                 "--db URL first.", 2)
        try:
            yield idx
        except ConfigError as exc:
            fail(str(exc), 2)
        except Exception as exc:
            if db is not None and type(exc).__module__.startswith("psycopg"):
                _pg_failed(exc)  # the server went away, a permission is missing, ...
            raise


def _where(index: Path, db: str | None) -> str:
    """Where the index is, for a sentence; a URL's password is never printed."""
    if db is None:
        return str(index)
    from psycopg.conninfo import conninfo_to_dict

    try:
        name = conninfo_to_dict(db.replace("postgresql+psycopg://", "postgresql://", 1)).get(
            "dbname")
    except Exception:  # noqa: BLE001 - only a label
        name = None
    return f"PostgreSQL database {name}" if name else "the PostgreSQL database"


def _embedder(spec: str | None) -> Embedder | None:
    try:
        emb = embedder_from_spec(spec)
    except ConfigError as exc:
        fail(f"--embedder: {exc}", 2)
    if isinstance(emb, LocalEmbedder) and not emb.available():
        fail("--embedder local needs the local model: pip install 'seamline[embeddings]'.", 2)
    return emb


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
    db: PgOption = None,
):
    """Index the documents; unchanged files are skipped, edited ones re-chunked, deleted ones removed."""
    if not docs.exists():
        fail(f"{docs} does not exist.", 2)
    if overlap >= max_tokens:
        fail(f"--overlap ({overlap}) must be below --max-tokens ({max_tokens}).", 2)
    with _opened(index, db, _embedder(embedder), must_exist=False) as idx:
        report = idx.build(docs, max_tokens=max_tokens, overlap=overlap)
        total = len(idx)
    console.print(f"Indexed {escape(str(docs))} into {escape(_where(index, db))}: "
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
        help=f"Abstain below this best BM25 score (default {DEFAULT_MIN_SCORE}; with --db the "
             "score is ts_rank_cd: calibrate it with seamline index eval).")] = None,
    db: PgOption = None,
):
    """Show the chunks a question retrieves, or say that an answer should abstain."""
    emb = _embedder(embedder)
    _check_mode(mode, emb)
    with _opened(index, db, emb, must_exist=True) as idx:
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
        console.print("Nothing scored high enough (" + _evidence(result) + "): "
                      "an answer should abstain.")


def _evidence(result) -> str:
    parts = []
    if result.top_score is not None:
        parts.append(f"best BM25 {result.top_score:.2f} < {result.min_score}")
    if result.top_similarity is not None:
        parts.append(f"best cosine {result.top_similarity:.3f} < {result.min_similarity}")
    return ", ".join(parts)


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
    db: PgOption = None,
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
    if docs is not None and not docs.exists():
        fail(f"{docs} does not exist.", 2)
    with _opened(index, db, emb, must_exist=docs is None) as idx:
        if docs is not None:
            idx.build(docs)
        report = evaluate(golden, lambda q, n: [h.chunk for h in retrieve(
            idx, q, k=n, mode=mode, min_score=float("-inf")).hits], ks)  # type: ignore[arg-type]
        # No hit at all scores 0: such a question would abstain at any floor.
        best = [retrieve(idx, g.question, k=1).top_score or 0.0 for g in golden]
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
                  f"abstain (lowest best {'ts_rank_cd' if db else 'BM25'} score "
                  f"{min(best):.2f}).")
