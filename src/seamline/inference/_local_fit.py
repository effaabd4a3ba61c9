"""Layer 3, inference: the local model's classifier -- fitted once, scored fast.

sklearn fits it; prediction reuses the learnt weights with a few numpy calls instead. A
fit is kept per process here (by the key of what it was fitted from) and on disk by
``_local_store``.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from dataclasses import field as dc_field
from itertools import pairwise
from typing import Any

import numpy as np
from pydantic import BaseModel

from seamline.errors import ConfigError
from seamline.inference._local_schema import Plan, label_of
from seamline.inference._local_text import (
    TOKEN,
    CharGramIds,
    SentenceAnalyzer,
    quote,
    split_sentences,
    text_of,
)
from seamline.inference._route import MODELS

_RANDOM_STATE = 0
_C = 10.0  # inverse L2 strength; picked by 5-fold CV on the demo's train.jsonl (flat in 1..30)
_MAX_ITER = 3000
_MAX_QUOTES = 2
_MIN_SENTENCE = 3
_CACHE_SIZE = 16


def char_ngrams_of(model: str) -> bool:
    """Whether the local model named ``model`` reads char n-grams; ConfigError if unknown."""
    try:
        return MODELS[model]
    except (KeyError, TypeError):
        known = ", ".join(repr(name) for name in MODELS)
        raise ConfigError(f"The local model {model!r} is unknown; use one of {known}.") from None


# ------------------------------------------------------------------- fitting


@dataclass(slots=True)
class Head:
    """One categorical field: its labels and the linear model over all features."""

    labels: tuple[Any, ...]
    start: int  # this head's columns in Fitted.coef_t / intercept
    stop: int
    # sklearn Pipeline(features -> LogisticRegression), fitted; None for a fit loaded from
    # disk (prediction never needs it: it reads the arrays of ``Fitted``).
    pipeline: Any = None


@dataclass(slots=True)
class Fitted:
    word_vocab: dict[str, int]
    char_vocab: dict[str, int]  # indices already offset by len(word_vocab)
    n_word: int
    idf: np.ndarray  # (n_features,), word block then char block
    heads: dict[str, Head]
    # Every head's softmax logits side by side: (n_features, total labels).
    coef_t: np.ndarray
    intercept: np.ndarray
    # (unigram id, unigram id) -> bigram id; every bigram's words are in the vocab, so a
    # pair looked up with None (an unknown word) in it is never found.
    bigram_ids: dict[tuple[int | None, int | None], int] = dc_field(default_factory=dict)
    char_ids: CharGramIds = dc_field(default_factory=lambda: CharGramIds({}))


def fit(
    plan: Plan,
    rows: list[tuple[dict[str, Any], dict[str, Any]]],
    text_fields: tuple[str, ...],
    char_ngrams: bool,
) -> Fitted:
    """One TF-IDF -> LogisticRegression pipeline per labelled categorical field."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    texts = [text_of(inp, text_fields) for inp, _ in rows]
    kinds = ("word", "char") if char_ngrams else ("word",)
    parts = [
        (kind, TfidfVectorizer(analyzer=SentenceAnalyzer(kind), sublinear_tf=True))
        for kind in kinds
    ]
    union = FeatureUnion(parts)
    try:
        X = union.fit_transform(texts)
    except ValueError as exc:  # empty vocabulary: every text is blank
        raise ConfigError(
            f"The training examples have no words in {', '.join(text_fields)}."
        ) from exc
    X = X.tocsr()

    heads: dict[str, Head] = {}
    coefs: list[np.ndarray] = []
    intercepts: list[np.ndarray] = []
    for name, allowed in plan.categorical.items():
        idx, y = [], []
        for i, (_, outp) in enumerate(rows):
            value = label_of(outp.get(name))
            if value is not None:
                idx.append(i)
                y.append(allowed.index(value))
        if len(set(y)) < 2:
            continue  # never labelled and has a default (checked on construction)
        clf = LogisticRegression(
            C=_C,
            class_weight="balanced",
            random_state=_RANDOM_STATE,
            max_iter=_MAX_ITER,
        )
        clf.fit(X[idx], np.asarray(y))
        coef = np.asarray(clf.coef_, dtype=np.float64)
        intercept = np.asarray(clf.intercept_, dtype=np.float64)
        if coef.shape[0] == 1:  # binary: sigmoid(z) == softmax([-z/2, z/2])
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        start = sum(len(c) for c in intercepts)
        coefs.append(coef)
        intercepts.append(intercept)
        heads[name] = Head(
            labels=tuple(allowed[k] for k in clf.classes_),
            start=start,
            stop=start + len(intercept),
            pipeline=Pipeline([("features", union), ("clf", clf)]),
        )

    vectorizers = dict(union.transformer_list)
    word_vocab = {str(k): int(v) for k, v in vectorizers["word"].vocabulary_.items()}
    n_word = len(word_vocab)
    idf = [vectorizers["word"].idf_]
    char_vocab: dict[str, int] = {}
    if "char" in vectorizers:
        char_vocab = {str(k): int(v) + n_word for k, v in vectorizers["char"].vocabulary_.items()}
        idf.append(vectorizers["char"].idf_)
    return Fitted(
        bigram_ids=bigrams_of(word_vocab),
        word_vocab=word_vocab,
        char_vocab=char_vocab,
        char_ids=CharGramIds(char_vocab),
        n_word=n_word,
        idf=np.concatenate(idf).astype(np.float64),
        heads=heads,
        coef_t=np.ascontiguousarray(np.vstack(coefs).T) if coefs else np.zeros((X.shape[1], 0)),
        intercept=np.concatenate(intercepts) if intercepts else np.zeros(0),
    )


def bigrams_of(word_vocab: dict[str, int]) -> dict[tuple[int | None, int | None], int]:
    """(unigram id, unigram id) -> bigram id, for every bigram of the vocabulary."""
    bigram_ids: dict[tuple[int | None, int | None], int] = {}
    for gram, index in word_vocab.items():
        a, sep, b = gram.partition(" ")
        if sep:
            bigram_ids[(word_vocab[a], word_vocab[b])] = index
    return bigram_ids


# Fits shared by every model built from the same schema, examples, text fields and
# features in this process (integrations, replays and tests rebuild models often), by key.
_CACHE: OrderedDict[str, Fitted] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def fit_key(
    schema: type[BaseModel],
    rows: list[tuple[dict[str, Any], dict[str, Any]]],
    text_fields: tuple[str, ...],
    char_ngrams: bool,
    fingerprint: str = "",
) -> str:
    """A hash of everything a fit depends on: the schema, the examples' content, how they
    are prepared (``fingerprint``), the text fields, the features, the hyper-parameters
    and the scikit-learn version."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    head = {"schema": schema.model_json_schema(), "text_fields": list(text_fields),
            "char_ngrams": char_ngrams, "prepared_by": fingerprint, "C": _C,
            "max_iter": _MAX_ITER, "seed": _RANDOM_STATE, "sklearn": version("scikit-learn")}
    digest.update(json.dumps(head, sort_keys=True, default=str).encode())
    for inp, outp in rows:
        digest.update(
            json.dumps([inp, outp], sort_keys=True, ensure_ascii=False, default=str).encode()
        )
        digest.update(b"\n")
    return digest.hexdigest()


def cached(key: str) -> Fitted | None:
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
        return hit


def remember(key: str, fitted: Fitted) -> Fitted:
    """Keep ``fitted`` for this process; the one already kept wins a race (same result)."""
    with _CACHE_LOCK:
        fitted = _CACHE.setdefault(key, fitted)
        _CACHE.move_to_end(key)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return fitted


# ------------------------------------------------------------------- scoring


@dataclass(frozen=True, slots=True)
class Scored:
    """What the classifier says about one input: a label per head, its probability, and
    the sentences that push hardest towards those labels (verbatim)."""

    labels: dict[str, Any]
    probabilities: dict[str, float]
    quotes: list[str]


def classify(fitted: Fitted, text_fields: tuple[str, ...], data: dict[str, Any]) -> Scored:
    """The classifier's labels, probabilities and evidence sentences for one input.

    N-grams never cross a sentence boundary, so a document's counts are the sum
    of its sentences' counts: the text is analysed once and the document and
    every sentence are scored from the same counts. This agrees with the sklearn
    pipelines (``Fitted.heads[...].pipeline``) and is much faster.
    """
    text = text_of(data or {}, text_fields)
    spans = split_sentences(text)

    # Analyse every sentence once; map its n-grams to feature ids.
    wget, bget = fitted.word_vocab.get, fitted.bigram_ids.get
    char_ids = fitted.char_ids if fitted.char_vocab else None
    memo_get = fitted.char_ids.memo.get  # inlined hit path: most words are seen before
    ids: list[int] = []
    lengths: list[int] = []
    for start, end in spans:
        sentence = text[start:end].lower()
        before = len(ids)
        uni = list(map(wget, TOKEN.findall(sentence)))
        ids.extend([i for i in uni if i is not None])
        ids.extend([i for i in map(bget, pairwise(uni)) if i is not None])
        if char_ids is not None:
            for word in sentence.split():
                hit = memo_get(word)
                ids.extend(char_ids(word) if hit is None else hit)
        lengths.append(len(ids) - before)
    n_sent = len(spans)
    feat = np.fromiter(ids, dtype=np.int64, count=len(ids))
    idf, n_word, n_feat = fitted.idf, fitted.n_word, len(fitted.idf)

    # Document vector: TF-IDF of the summed sentence counts, each block
    # (word, char) L2-normalised as the FeatureUnion does.
    doc_f, doc_counts = np.unique(feat, return_counts=True)
    doc_w = (1.0 + np.log(doc_counts)) * np.take(idf, doc_f)
    split = int(np.searchsorted(doc_f, n_word))
    for part in (doc_w[:split], doc_w[split:]):
        norm = math.sqrt(float(part @ part)) if len(part) else 0.0
        if norm:
            part /= norm
    logits = doc_w @ np.take(fitted.coef_t, doc_f, axis=0) + fitted.intercept

    obj: dict[str, Any] = {}
    top_prob: dict[str, float] = {}
    chosen = np.zeros(len(logits), dtype=np.float64)  # 1 at each predicted class
    for name, head in fitted.heads.items():
        z = logits[head.start : head.stop]
        probs = np.exp(z - z.max())
        probs /= probs.sum()
        best = int(np.argmax(probs))
        obj[name] = head.labels[best]
        top_prob[name] = float(probs[best])
        chosen[head.start + best] = 1.0

    # Sentences, from the same counts: a sentence's score is the sum, over its
    # features, of the predicted classes' coefficients weighted by tf-idf.
    # (Not length-normalised: that would crown one-word lines like "Invoice";
    # on the demo's annotated evidence the plain sum agrees best.)
    # np.bincount's stub says intp even with float weights, so the plain ndarray.
    sentence_score: np.ndarray = np.zeros(n_sent, dtype=np.float64)
    if len(feat):
        sid = np.repeat(np.arange(n_sent, dtype=np.int64), lengths)
        keys, counts = np.unique(sid * n_feat + feat, return_counts=True)
        s_of, f_of = np.divmod(keys, n_feat)
        s_w = (1.0 + np.log(counts)) * np.take(idf, f_of)
        pull = np.take(fitted.coef_t, f_of, axis=0) @ chosen
        sentence_score = np.bincount(s_of, weights=s_w * pull, minlength=n_sent)

    # Evidence: the sentences that push hardest towards the predicted labels.
    eligible = [i for i, (a, b) in enumerate(spans) if b - a >= _MIN_SENTENCE]
    ranked = sorted(eligible, key=lambda i: (-sentence_score[i], i))
    quotes: list[str] = []
    for rank, i in enumerate(ranked):
        if len(quotes) == _MAX_QUOTES or (rank and sentence_score[i] <= 0):
            break
        piece = quote(text[spans[i][0] : spans[i][1]])
        if piece not in quotes:
            quotes.append(piece)

    return Scored(obj, top_prob, quotes)
