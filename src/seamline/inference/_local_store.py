"""Layer 3, inference: the local model's fit kept on disk, keyed by what it was fitted from.

A fit is a few arrays (IDF weights, the logistic regressions' coefficients and intercepts)
and two vocabularies; they are written with ``numpy.savez`` (no pickle, so loading a file
cannot run code) beside the store, under ``models/``, as ``local-<key>.npz``. The key is a
hash of everything the fit depends on -- the output schema, the examples' content, how
they are prepared (the PII policy and the redaction code), the text fields, the features,
the hyper-parameters and the scikit-learn version -- so a changed example, policy or
library is a new file, never a stale model. Every process that builds the same model
(approvals, workers after the first, replay, eval) loads it instead of fitting again.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from seamline.inference._local_fit import Fitted, Head, bigrams_of
from seamline.inference._local_text import CharGramIds

FORMAT = 1


def path_for(folder: Path, key: str) -> Path:
    return folder / f"local-{key[:40]}.npz"


def stored(folder: Path, key: str) -> bool:
    return path_for(folder, key).is_file()


def save(fitted: Fitted, folder: Path, key: str) -> Path | None:
    """Write ``fitted`` atomically (a temporary file, then a rename); None when the folder
    cannot be written (the model still works, it is only fitted again next time)."""
    words = _terms(fitted.word_vocab, 0)
    chars = _terms(fitted.char_vocab, fitted.n_word)
    meta = {"format": FORMAT, "key": key, "n_word": fitted.n_word,
            "heads": [{"name": name, "labels": list(h.labels), "start": h.start, "stop": h.stop}
                      for name, h in fitted.heads.items()]}
    target = path_for(folder, key)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".local-", suffix=".npz", dir=folder)
        with os.fdopen(fd, "wb") as out:
            np.savez(out, meta=_blob(json.dumps(meta)), words=_blob("\n".join(words)),
                     chars=_blob("\n".join(chars)), idf=fitted.idf, coef_t=fitted.coef_t,
                     intercept=fitted.intercept)
        os.replace(tmp, target)
    except OSError:
        return None
    return target


def load(folder: Path, key: str) -> Fitted | None:
    """The fit stored under ``key``, or None (absent, another format, damaged)."""
    path = path_for(folder, key)
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(_text(data["meta"]))
            if meta.get("format") != FORMAT or meta.get("key") != key:
                return None
            words, chars = _split(_text(data["words"])), _split(_text(data["chars"]))
            idf = np.asarray(data["idf"], dtype=np.float64)
            coef_t = np.ascontiguousarray(data["coef_t"], dtype=np.float64)
            intercept = np.asarray(data["intercept"], dtype=np.float64)
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        return None
    n_word = int(meta["n_word"])
    if len(words) != n_word or len(idf) != n_word + len(chars) or coef_t.shape[0] != len(idf):
        return None
    word_vocab = {t: i for i, t in enumerate(words)}
    char_vocab = {t: n_word + i for i, t in enumerate(chars)}
    heads = {h["name"]: Head(tuple(h["labels"]), int(h["start"]), int(h["stop"]), None)
             for h in meta["heads"]}
    return Fitted(word_vocab=word_vocab, char_vocab=char_vocab, n_word=n_word, idf=idf,
                  heads=heads, coef_t=coef_t, intercept=intercept,
                  bigram_ids=bigrams_of(word_vocab), char_ids=CharGramIds(char_vocab))


def _terms(vocab: dict[str, int], offset: int) -> list[str]:
    terms = [""] * len(vocab)
    for term, index in vocab.items():
        terms[index - offset] = term
    return terms


def _blob(text: str) -> np.ndarray[Any, Any]:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _text(array: np.ndarray[Any, Any]) -> str:
    return bytes(array.tobytes()).decode("utf-8")


def _split(text: str) -> list[str]:
    return text.split("\n") if text else []
