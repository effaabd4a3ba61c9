"""Layer 3, inference: the local model's classifier -- fitted once per process, scored fast.

sklearn fits it; prediction reuses the learnt weights with a few numpy calls instead.
"""

from __future__ import annotations

import copy
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
    collapse,
    cut_words,
    quote,
    split_sentences,
    text_of,
)

# The local models a route can name. Each is the same classifier over other
# features, so an event can be replayed "with another model" offline.
# Name -> whether char_wb 3-5 grams are read besides word 1-2 grams.
MODELS: dict[str, bool] = {"local-linear": True, "local-words": False}

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
    pipeline: Any  # sklearn Pipeline(features -> LogisticRegression), fitted


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
    bigram_ids: dict[tuple[int | None, int | None], int] = {}
    for gram, index in word_vocab.items():
        a, sep, b = gram.partition(" ")
        if sep:
            bigram_ids[(word_vocab[a], word_vocab[b])] = index
    return Fitted(
        bigram_ids=bigram_ids,
        word_vocab=word_vocab,
        char_vocab=char_vocab,
        char_ids=CharGramIds(char_vocab),
        n_word=n_word,
        idf=np.concatenate(idf).astype(np.float64),
        heads=heads,
        coef_t=np.ascontiguousarray(np.vstack(coefs).T) if coefs else np.zeros((X.shape[1], 0)),
        intercept=np.concatenate(intercepts) if intercepts else np.zeros(0),
    )


# Fits shared by every model built from the same schema, examples, text fields
# and features in this process: integrations, replays and tests rebuild models
# often, and a fit is the slow part.
_CACHE: OrderedDict[tuple[str, str, tuple[str, ...], bool], Fitted] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def shared_fit(
    schema: type[BaseModel],
    plan: Plan,
    rows: list[tuple[dict[str, Any], dict[str, Any]]],
    text_fields: tuple[str, ...],
    char_ngrams: bool,
) -> Fitted:
    """The fit for these inputs from the process cache, or a new one (then cached)."""
    key = _cache_key(schema, rows, text_fields, char_ngrams)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    # Fitted outside the lock so other keys are not held up; a rare duplicate
    # fit of the same key is harmless (the results are identical).
    fitted = fit(plan, rows, text_fields, char_ngrams)
    with _CACHE_LOCK:
        _CACHE[key] = fitted
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return fitted


def _cache_key(
    schema: type[BaseModel],
    rows: list[tuple[dict[str, Any], dict[str, Any]]],
    text_fields: tuple[str, ...],
    char_ngrams: bool,
) -> tuple[str, str, tuple[str, ...], bool]:
    schema_json = json.dumps(schema.model_json_schema(), sort_keys=True, default=str)
    digest = hashlib.sha256()
    for inp, outp in rows:
        digest.update(
            json.dumps([inp, outp], sort_keys=True, ensure_ascii=False, default=str).encode()
        )
        digest.update(b"\n")
    return (schema_json, digest.hexdigest(), text_fields, char_ngrams)


# ------------------------------------------------------------------- scoring


def predict_output(
    fitted: Fitted, plan: Plan, text_fields: tuple[str, ...], data: dict[str, Any]
) -> dict[str, Any]:
    """The output object for one input (a plain dict in schema field order).

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
    top_prob: list[float] = []
    chosen = np.zeros(len(logits), dtype=np.float64)  # 1 at each predicted class
    for name, head in fitted.heads.items():
        z = logits[head.start : head.stop]
        probs = np.exp(z - z.max())
        probs /= probs.sum()
        best = int(np.argmax(probs))
        obj[name] = head.labels[best]
        top_prob.append(float(probs[best]))
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

    for name in plan.order:
        if name in obj:
            continue
        if name == plan.confidence:
            # The weakest field decides: one shaky label makes the whole answer shaky.
            obj[name] = round(min(top_prob), 3) if top_prob else 0.0
        elif name == plan.evidence:
            obj[name] = quotes
        elif name == plan.summary:
            obj[name] = _summary(plan, text_fields, quotes, data or {})
        else:
            value = plan.neutral[name]
            # Copied so a caller editing one answer cannot change the next one.
            obj[name] = copy.deepcopy(value) if isinstance(value, (list, dict)) else value
    return {name: obj[name] for name in plan.order}


def _summary(
    plan: Plan, text_fields: tuple[str, ...], quotes: list[str], data: dict[str, Any]
) -> str:
    """The best quote on one line, fitted to the field's length bounds."""
    line = collapse(quotes[0]) if quotes else ""
    if not line:
        for name in text_fields:
            value = data.get(name)
            if value is not None and collapse(str(value)):
                line = collapse(str(value))
                break
    if not line:
        line = "(no text)"
    if plan.summary_max:
        line = cut_words(line, int(plan.summary_max))
    if len(line) < plan.summary_min:
        line = line.ljust(plan.summary_min, ".")
    return line
