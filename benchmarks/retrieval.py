"""The embedded retrieval index: indexing throughput, query latency, and quality.

    python benchmarks/retrieval.py [--sizes 10000,100000] [--queries 300] [--baseline-queries 50]
                                   [--embed-size 2000]

For each size, synthetic chunks (a Zipf-distributed vocabulary of 20,000 words, 60-140
words each, headed like real sections) go through :meth:`ChunkIndex.add_chunks` in
sources of 100 chunks: chunks per second is what indexing costs after chunking. Queries
are 3-6 words sampled from the same distribution; p50/p99 are measured on the FTS5 BM25
search. The baseline, measured in the same run on the same chunks in the same SQLite
file format, is what one would write without an index: a full scan ranking chunks by how
many query words they contain (``LIKE``). Ratios are baseline / index. Quality is
recall@k and MRR on the support-answer golden set, for BM25 and for vector and hybrid
search with the hashing embedder and (with the embeddings extra) the local MiniLM model;
the local model's own cost is measured on ``--embed-size`` synthetic chunks: chunks
embedded and indexed per second, and hybrid query p50/p99 (the query's embedding
included) against BM25 alone on the same index.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import percentile

from seamline.retrieval import (
    Chunk,
    ChunkIndex,
    HashingEmbedder,
    LocalEmbedder,
    evaluate,
    load_questions,
    retrieve,
)

ROOT = Path(__file__).resolve().parents[1]
VOCAB = 20_000


def _words(rng: random.Random, n: int, lowest: int = 1) -> list[str]:
    # Zipf-like: a few words everywhere, most rare, as in real documentation. Queries
    # draw from rank 20 on: the commonest words play the stop words a question loses.
    words: list[str] = []
    while len(words) < n:
        rank = int(rng.paretovariate(1.1)) % VOCAB
        if rank >= lowest:
            words.append(f"w{rank}")
    return words


def synthetic_chunks(n: int, seed: int = 7) -> list[list[Chunk]]:
    rng = random.Random(seed)
    sources = []
    for s in range(0, n, 100):
        name = f"doc{s // 100}.md"
        sources.append([Chunk(f"{name}#{i}", name, i, ("Doc", f"Section {i}"),
                              " ".join(_words(rng, rng.randint(60, 140))), i * 10 + 1,
                              i * 10 + 9) for i in range(min(100, n - s))])
    return sources


def bench_size(n: int, queries: int, baseline_queries: int, tmp: Path) -> dict[str, float]:
    sources = synthetic_chunks(n)
    rng = random.Random(11)
    asked = [" ".join(_words(rng, rng.randint(3, 6), 20)) for _ in range(queries)]
    index = ChunkIndex.open(tmp / f"index-{n}.db")
    t0 = time.perf_counter()
    for i, chunks in enumerate(sources):
        index.add_chunks(chunks[0].source, str(i), chunks)
    index_s = time.perf_counter() - t0
    index.search(asked[0])  # warm the page cache, as a long-running server would be
    lat = []
    for q in asked:
        t = time.perf_counter()
        index.search(q, 5)
        lat.append(time.perf_counter() - t)
    index.close()

    plain = sqlite3.connect(tmp / f"plain-{n}.db")
    plain.execute("CREATE TABLE chunks (id TEXT PRIMARY KEY, text TEXT NOT NULL)")
    t0 = time.perf_counter()
    for chunks in sources:
        with plain:
            plain.executemany("INSERT INTO chunks VALUES (?, ?)", [(c.id, c.text) for c in chunks])
    plain_s = time.perf_counter() - t0
    base = []
    for q in asked[:baseline_queries]:
        words = q.split()
        score = " + ".join("(' ' || text || ' ' LIKE ?)" for _ in words)
        t = time.perf_counter()
        plain.execute(f"SELECT id, {score} AS s FROM chunks WHERE s > 0 ORDER BY s DESC LIMIT 5",
                      [f"% {w} %" for w in words]).fetchall()
        base.append(time.perf_counter() - t)
    plain.close()
    return {"chunks": n, "index_cps": n / index_s, "plain_cps": n / plain_s,
            "p50": percentile(lat, 0.5), "p99": percentile(lat, 0.99),
            "base_p50": percentile(base, 0.5), "base_p99": percentile(base, 0.99)}


def quality(tmp: Path) -> list[tuple[str, dict[int, float], float]]:
    golden = load_questions(ROOT / "examples/support_answer/data/questions.jsonl")
    embedders = [HashingEmbedder()] + ([LocalEmbedder()] if LocalEmbedder.available() else [])
    out = []
    for embedder in embedders:
        with ChunkIndex.open(tmp / f"golden-{embedder.name}.db", embedder) as index:
            index.build(ROOT / "examples/support_answer/docs")
            modes = ("vector", "hybrid") if out else ("bm25", "vector", "hybrid")
            for mode in modes:
                report = evaluate(golden, lambda q, k, m=mode: [h.chunk for h in retrieve(
                    index, q, k=k, mode=m, min_score=float("-inf")).hits])
                label = mode if mode == "bm25" else f"{mode} ({embedder.name})"
                out.append((label, report.recall, report.mrr))
    return out


def local_model_cost(n: int, queries: int, tmp: Path) -> dict[str, float]:
    """Embedding throughput and hybrid query latency with the local model on ``n`` chunks."""
    sources = synthetic_chunks(n, seed=3)
    rng = random.Random(5)
    asked = [" ".join(_words(rng, rng.randint(3, 6), 20)) for _ in range(queries)]
    embedder = LocalEmbedder()
    embedder.embed(["warm"])  # the one-off model load is not indexing
    index = ChunkIndex.open(tmp / f"local-{n}.db", embedder)
    t0 = time.perf_counter()
    for i, chunks in enumerate(sources):
        index.add_chunks(chunks[0].source, str(i), chunks)
    index_s = time.perf_counter() - t0
    retrieve(index, asked[0], mode="hybrid")
    lat: dict[str, list[float]] = {"bm25": [], "hybrid": []}
    for q in asked:
        for mode, times in lat.items():
            t = time.perf_counter()
            retrieve(index, q, k=5, mode=mode)  # type: ignore[arg-type]
            times.append(time.perf_counter() - t)
    index.close()
    return {"cps": n / index_s, "p50": percentile(lat["hybrid"], 0.5),
            "p99": percentile(lat["hybrid"], 0.99), "base_p50": percentile(lat["bm25"], 0.5),
            "base_p99": percentile(lat["bm25"], 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--baseline-queries", type=int, default=50)
    parser.add_argument("--embed-size", type=int, default=2000,
                        help="Chunks for the local model's cost (0: skip).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        print("| chunks | index chunks/s | plain insert chunks/s | BM25 p50 | BM25 p99 "
              "| LIKE scan p50 | LIKE scan p99 | p50 ratio |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in (int(s) for s in args.sizes.split(",")):
            r = bench_size(n, args.queries, args.baseline_queries, tmp)
            print(f"| {n:,} | {r['index_cps']:,.0f} | {r['plain_cps']:,.0f} "
                  f"| {r['p50'] * 1e3:.2f} ms | {r['p99'] * 1e3:.2f} ms "
                  f"| {r['base_p50'] * 1e3:.1f} ms | {r['base_p99'] * 1e3:.1f} ms "
                  f"| {r['base_p50'] / r['p50']:.0f}x |", flush=True)
        print("\n| mode | recall@1 | recall@3 | recall@5 | MRR |\n|---|---:|---:|---:|---:|")
        for mode, recall, mrr in quality(tmp):
            print(f"| {mode} | {recall[1]:.3f} | {recall[3]:.3f} | {recall[5]:.3f} | {mrr:.3f} |",
                  flush=True)
        if args.embed_size and LocalEmbedder.available():
            r = local_model_cost(args.embed_size, min(args.queries, 200), tmp)
            print("\n| local model, chunks | embedded + indexed chunks/s | hybrid p50 | hybrid p99 "
                  "| BM25 p50 | BM25 p99 | p50 ratio |\n|---:|---:|---:|---:|---:|---:|---:|")
            print(f"| {args.embed_size:,} | {r['cps']:,.0f} | {r['p50'] * 1e3:.1f} ms "
                  f"| {r['p99'] * 1e3:.1f} ms | {r['base_p50'] * 1e3:.2f} ms "
                  f"| {r['base_p99'] * 1e3:.2f} ms | {r['p50'] / r['base_p50']:.1f}x |")


if __name__ == "__main__":
    main()
