"""The on-device classifier's quality on the triage golden set: C chosen on dev, measured on test.

    python benchmarks/local_model.py [--no-embeddings]

The examples (``train.jsonl``) and the golden inputs are redacted as the pipeline redacts
them, once; each candidate is fitted on the examples and scored on the golden set's
``dev`` split; the one chosen there (ties go to the shipped value) is then scored on the
``test`` split, which nothing was chosen on. Two things are chosen this way:

* ``C``, the logistic regressions' inverse L2 strength (shipped: 10, first picked by 5-fold
  cross-validation on ``train.jsonl``);
* the features: the shipped TF-IDF word and character n-grams; all-MiniLM-L6-v2 sentence
  embeddings (the ``embeddings`` extra, on the CPU); and both side by side.

Accuracy is per field (intent, urgency) and for both fields right. This scores the
classifier alone; ``seamline eval run`` scores the whole integration (the numbers agree
to within the context-window cut of long e-mails).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "support_triage"
GRID = (1.0, 3.0, 10.0, 30.0)
FIELDS = ("intent", "urgency")


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and "input" in json.loads(line)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-embeddings", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from seamline.eval import split_of
    from seamline.inference import _local_fit, text_fields
    from seamline.inference._local_text import text_of
    from seamline.inference.local import LocalModel
    from seamline.ingest import redact_fields
    from seamline.integration import load_integration

    spec = load_integration(EXAMPLE / "integration.yaml")
    fields = text_fields(spec)

    def seen(data: dict[str, Any]) -> dict[str, Any]:
        return redact_fields(data, spec.pii, spec.pii_kinds or None)[0]

    t = time.perf_counter()
    train = [(seen(r["input"]), r["output"]) for r in _rows(EXAMPLE / "data" / "train.jsonl")]
    golden = [(seen(r["input"]), r["output"], split_of(r, str(r["input"]["message_id"])))
              for r in _rows(EXAMPLE / "data" / "golden.jsonl")]
    print(f"redacted {len(train)} examples and {len(golden)} golden inputs in "
          f"{time.perf_counter() - t:.1f} s", flush=True)

    def accuracy(predict, split: str) -> dict[str, float]:
        rows = [(i, o) for i, o, s in golden if s == split]
        got = [predict(i) for i, _ in rows]
        out = {f: float(np.mean([g[f] == o[f] for g, (_, o) in zip(got, rows)])) for f in FIELDS}
        out["both"] = float(np.mean([all(g[f] == o[f] for f in FIELDS)
                                     for g, (_, o) in zip(got, rows)]))
        return out

    results: list[tuple[str, dict[str, float], dict[str, float]]] = []
    shipped = _local_fit._C
    dev_by_c = {}
    for c in GRID:
        _local_fit._C = c
        model = LocalModel(spec.output_schema, train, fields)
        dev_by_c[c] = accuracy(model.predict, "dev")
        print(f"tf-idf C={c:g}: dev {dev_by_c[c]}", flush=True)
    best = max(GRID, key=lambda c: (dev_by_c[c]["both"], c == shipped))
    _local_fit._C = best
    model = LocalModel(spec.output_schema, train, fields)
    results.append((f"TF-IDF n-grams (shipped), C={best:g} chosen on dev", dev_by_c[best],
                    accuracy(model.predict, "test")))
    _local_fit._C = shipped
    if best != shipped:  # what ships, beside what dev would choose
        model = LocalModel(spec.output_schema, train, fields)
        results.append((f"TF-IDF n-grams, C={shipped:g} as shipped", dev_by_c[shipped],
                        accuracy(model.predict, "test")))

    if not args.no_embeddings:
        from scipy.sparse import csr_matrix, hstack
        from sklearn.linear_model import LogisticRegression

        from seamline.retrieval import LocalEmbedder

        if not LocalEmbedder.available():
            print("The embeddings extra is not installed: skipping MiniLM.")
        else:
            embedder = LocalEmbedder()
            t = time.perf_counter()
            train_x = np.asarray(embedder.embed([text_of(i, fields) for i, _ in train]))
            gold_x = np.asarray(embedder.embed([text_of(i, fields) for i, _, _ in golden]))
            print(f"embedded {len(train) + len(golden)} texts in {time.perf_counter() - t:.1f} s",
                  flush=True)
            tfidf = model.fitted  # the shipped features, for the side-by-side variant
            union = next(iter(model.pipelines.values())).named_steps["features"]
            train_t = union.transform([text_of(i, fields) for i, _ in train])
            gold_t = union.transform([text_of(i, fields) for i, _, _ in golden])
            del tfidf
            variants = {
                "MiniLM embeddings": (csr_matrix(train_x), csr_matrix(gold_x)),
                "TF-IDF n-grams + MiniLM": (hstack([train_t, csr_matrix(train_x)]).tocsr(),
                                            hstack([gold_t, csr_matrix(gold_x)]).tocsr()),
            }
            for name, (xtr, xgo) in variants.items():
                def fitted(c: float, xtr=xtr) -> dict[str, Any]:
                    heads = {}
                    for f in FIELDS:
                        y = [o[f] for _, o in train]
                        heads[f] = LogisticRegression(C=c, class_weight="balanced",
                                                      max_iter=3000, random_state=0).fit(xtr, y)
                    return heads

                def acc(heads: dict[str, Any], split: str, xgo=xgo) -> dict[str, float]:
                    idx = [k for k, (_, _, s) in enumerate(golden) if s == split]
                    pred = {f: heads[f].predict(xgo[idx]) for f in FIELDS}
                    want = {f: [golden[k][1][f] for k in idx] for f in FIELDS}
                    out = {f: float(np.mean(pred[f] == np.asarray(want[f]))) for f in FIELDS}
                    out["both"] = float(np.mean([all(pred[f][j] == want[f][j] for f in FIELDS)
                                                 for j in range(len(idx))]))
                    return out

                dev = {c: acc(fitted(c), "dev") for c in GRID}
                c_best = max(GRID, key=lambda c: (dev[c]["both"], c == shipped))
                results.append((f"{name}, C={c_best:g} chosen on dev", dev[c_best],
                                acc(fitted(c_best), "test")))

    table = Table(title="Triage golden set: chosen on dev, headline on test")
    for col in ("features", "dev intent", "dev urgency", "dev both", "test intent",
                "test urgency", "test both"):
        table.add_column(col, justify="left" if col == "features" else "right")
    for name, dev, test in results:
        table.add_row(name, *[f"{dev[f]:.1%}" for f in (*FIELDS, "both")],
                      *[f"{test[f]:.1%}" for f in (*FIELDS, "both")])
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
