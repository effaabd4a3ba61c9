"""The on-device model: a small linear classifier learned from labelled examples.

:class:`LocalModel` is a :class:`~seamline.inference._types.Provider` that needs
no network and costs nothing. It is fitted with scikit-learn on the
integration's labelled examples (``{"input": {...}, "output": {...}}``) and
answers with JSON that matches the output schema:

* every categorical field (``Literal[...]`` or ``Enum``, possibly Optional) is
  predicted by its own pipeline -- TF-IDF features (word 1-2 grams plus
  ``char_wb`` 3-5 grams, joined by a ``FeatureUnion``, sublinear tf) feeding a
  ``LogisticRegression`` (``class_weight="balanced"``, fixed ``random_state``);
* ``confidence`` is the smallest top-class probability over those fields;
* ``evidence`` / ``quotes`` / ``citations`` hold the one or two sentences of the
  input that push hardest towards the predicted classes, copied verbatim;
* ``summary`` is the best of those sentences on one line, cut to the field's
  ``max_length`` at a word boundary;
* every other field gets its default or a neutral value, so the reply validates.

The classifier is the only source of labels: nothing is looked up.

N-grams never cross a sentence boundary, so a document's counts are exactly
the sum of its sentences' counts. :meth:`LocalModel.complete` uses that to
analyse the text once and score the document and every sentence from the same
counts, with a few numpy calls instead of the slower generic sklearn path
(the two agree; ``LocalModel.pipelines`` exposes the real pipelines).
"""

from __future__ import annotations

import copy
import enum
import hashlib
import json
import math
import re
import threading
import types
import typing
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Callable, Any, Literal, Union

import numpy as np
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from seamline.errors import ConfigError
from seamline.inference._types import ModelReply, ModelRequest, Usage

__all__ = ["LocalModel", "split_sentences"]

_RANDOM_STATE = 0
_C = 10.0  # inverse L2 strength; picked by 5-fold CV on the demo's train.jsonl (flat in 1..30)
_MAX_ITER = 3000
_QUOTE_MAX = 300
_MAX_QUOTES = 2
_MIN_SENTENCE = 3
_CACHE_SIZE = 16
_CHAR_MEMO_SIZE = 200_000

_EVIDENCE_NAMES = ("evidence", "quotes", "citations")

# --------------------------------------------------------------------------- text

# A sentence ends at a newline, at CJK full-width . ! ?, or at a run of . ! ?
# followed by whitespace, a closing quote/bracket or the end (so "$12.50",
# "v2.1" and "example.com" stay whole).
_BOUNDARY = re.compile(r"(?=[\n.!?。！？])(?:\n|[。！？]+|[.!?]+(?=[\s\"'”’»)\]]|$))")
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
_SPACES = re.compile(r"\s+")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of the stripped, non-empty sentences of ``text``.

    ``text[start:end]`` is always a verbatim piece of the input; the ending
    punctuation stays with its sentence.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _BOUNDARY.finditer(text):
        end = m.start() if m.group().endswith("\n") else m.end()
        piece = text[pos:end]
        core = piece.strip()
        if core:
            start = pos + len(piece) - len(piece.lstrip())
            spans.append((start, start + len(core)))
        pos = m.end()
    piece = text[pos:]
    core = piece.strip()
    if core:
        start = pos + len(piece) - len(piece.lstrip())
        spans.append((start, start + len(core)))
    return spans


def _word_grams(sentence: str) -> list[str]:
    """Word 1-2 grams of one lower-cased sentence (sklearn's default tokens)."""
    toks = _TOKEN.findall(sentence)
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:])]


def _char_grams(sentence: str) -> list[str]:
    """``char_wb`` 3-5 grams of one lower-cased sentence, as sklearn makes them."""
    out: list[str] = []
    for w in sentence.split():
        w = f" {w} "
        size = len(w)
        for n in (3, 4, 5):
            if size <= n:
                out.append(w)
                break
            out.extend([w[i : i + n] for i in range(size - n + 1)])
    return out


class _SentenceAnalyzer:
    """A picklable sklearn ``analyzer``: n-grams of each sentence, concatenated."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, doc: str) -> list[str]:
        grams = _word_grams if self.kind == "word" else _char_grams
        out: list[str] = []
        for start, end in split_sentences(doc):
            out.extend(grams(doc[start:end].lower()))
        return out


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _cut_words(text: str, limit: int, ellipsis: str = "…") -> str:
    """``text`` cut to ``limit`` characters at a word boundary, ``ellipsis`` added."""
    if len(text) <= limit:
        return text
    room = max(limit - len(ellipsis), 1)
    head = text[:room]
    if not text[room].isspace():
        space = head.rfind(" ")
        if space >= room // 2:
            head = head[:space]
    return head.rstrip(" ,;:-–—") + ellipsis


def _quote(sentence: str) -> str:
    """A sentence capped at ~300 chars at a word boundary -- still a verbatim prefix."""
    if len(sentence) <= _QUOTE_MAX:
        return sentence
    head = sentence[:_QUOTE_MAX]
    if not sentence[_QUOTE_MAX].isspace():
        cut = max(head.rfind(" "), head.rfind("\t"))
        if cut >= _QUOTE_MAX // 2:
            head = head[:cut]
    return head.rstrip()


def _text_of(data: dict[str, Any], text_fields: Sequence[str]) -> str:
    parts = []
    for name in text_fields:
        value = data.get(name) if isinstance(data, dict) else None
        if value is None:
            continue
        value = value if isinstance(value, str) else str(value)
        if value.strip():
            parts.append(value)
    return "\n".join(parts)


# ------------------------------------------------------------------------ schema


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _categories(annotation: Any) -> list[Any] | None:
    """The allowed JSON values of a Literal/Enum annotation, else None."""
    inner, _ = _strip_optional(annotation)
    if typing.get_origin(inner) is Literal:
        return [a.value if isinstance(a, enum.Enum) else a for a in typing.get_args(inner)]
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        return [m.value for m in inner]
    return None


def _meta(field: Any, attr: str) -> Any:
    for m in field.metadata:
        value = getattr(m, attr, None)
        if value is not None:
            return value
    return None


def _is_list_of_str(annotation: Any) -> bool:
    inner, _ = _strip_optional(annotation)
    return typing.get_origin(inner) in (list, Sequence, typing.Sequence) and typing.get_args(
        inner
    ) in ((str,), ())


def _neutral(annotation: Any, field: Any = None) -> Any:
    """A type-appropriate neutral value that validates (defaults come first)."""
    if field is not None and not field.is_required():
        return to_jsonable_python(field.get_default(call_default_factory=True))
    inner, optional = _strip_optional(annotation)
    if optional:
        return None
    cats = _categories(inner)
    if cats:
        return cats[0]
    origin = typing.get_origin(inner) or inner
    if inner is bool:
        return False
    if inner in (int, float):
        ge, gt, le, lt = (
            (_meta(field, a) if field is not None else None) for a in ("ge", "gt", "le", "lt")
        )
        step = 1 if inner is int else 1e-6
        value = 0
        if ge is not None and value < ge:
            value = ge
        if gt is not None and value <= gt:
            value = gt + step
        if le is not None and value > le:
            value = le
        if lt is not None and value >= lt:
            value = lt - step
        return int(math.ceil(value)) if inner is int else float(value)
    if inner is str:
        min_len = _meta(field, "min_length") if field is not None else None
        return "-" * int(min_len or 0)
    if origin in (list, set, frozenset, tuple, Sequence):
        return []
    if origin is dict:
        return {}
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return {n: _neutral(f.annotation, f) for n, f in inner.model_fields.items()}
    return None


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the model fills for each field of the output schema."""

    order: tuple[str, ...]
    categorical: dict[str, tuple[Any, ...]]  # name -> allowed values, schema order
    confidence: str | None
    evidence: str | None
    summary: str | None
    summary_max: int | None
    summary_min: int
    neutral: dict[str, Any]


def _plan(schema: type[BaseModel]) -> _Plan:
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        raise ConfigError("The local model needs a pydantic model class as its output schema.")
    categorical: dict[str, tuple[Any, ...]] = {}
    neutral: dict[str, Any] = {}
    confidence = evidence = summary = None
    summary_max: int | None = None
    summary_min = 0
    for name, field in schema.model_fields.items():
        annotation = field.annotation
        inner, _ = _strip_optional(annotation)
        cats = _categories(annotation)
        if cats:
            categorical[name] = tuple(cats)
            neutral[name] = _neutral(annotation, field)  # used if never labelled
        elif name == "confidence" and inner is float:
            confidence = name
        elif name in _EVIDENCE_NAMES and _is_list_of_str(annotation) and evidence is None:
            evidence = name
        elif name == "summary" and inner is str:
            summary = name
            summary_max = _meta(field, "max_length")
            summary_min = int(_meta(field, "min_length") or 0)
        else:
            neutral[name] = _neutral(annotation, field)
    if not categorical:
        raise ConfigError(
            f"The output schema {schema.__name__} has no Literal or Enum field, "
            "so the local model has nothing to learn."
        )
    return _Plan(
        order=tuple(schema.model_fields),
        categorical=categorical,
        confidence=confidence,
        evidence=evidence,
        summary=summary,
        summary_max=summary_max,
        summary_min=summary_min,
        neutral=neutral,
    )


# ---------------------------------------------------------------------- training


@dataclass(slots=True)
class _Head:
    """One categorical field: its labels and the linear model over all features."""

    labels: tuple[Any, ...]
    start: int  # this head's columns in _Fitted.coef_t / intercept
    stop: int
    pipeline: Any  # sklearn Pipeline(features -> LogisticRegression), fitted


@dataclass(slots=True)
class _Fitted:
    word_vocab: dict[str, int]
    char_vocab: dict[str, int]  # indices already offset by len(word_vocab)
    n_word: int
    idf: np.ndarray  # (n_features,), word block then char block
    heads: dict[str, _Head]
    # Every head's softmax logits side by side: (n_features, total labels).
    coef_t: np.ndarray
    intercept: np.ndarray
    # (unigram id, unigram id) -> bigram id; every bigram's words are in the vocab.
    bigram_ids: dict[tuple[int, int], int] = dc_field(default_factory=dict)
    # word -> its known char_wb feature ids; words repeat, so this saves most of
    # the n-gram work at prediction time. Bounded; a pure function of the vocab.
    char_memo: dict[str, tuple[int, ...]] = dc_field(default_factory=dict)

    def char_ids(self, word: str) -> tuple[int, ...]:
        hit = self.char_memo.get(word)
        if hit is None:
            get = self.char_vocab.get
            hit = tuple([i for i in map(get, _char_grams(word)) if i is not None])
            if len(self.char_memo) >= _CHAR_MEMO_SIZE:
                self.char_memo.clear()
            self.char_memo[word] = hit
        return hit


def _check_examples(
    examples: Any, plan: _Plan, schema: type[BaseModel]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    schema_name, schema_fields = schema.__name__, schema.model_fields
    if examples is None:
        raise ConfigError("The local model needs labelled examples, and none were given.")
    rows = list(examples)
    if not rows:
        raise ConfigError("The local model needs labelled examples, and the list is empty.")
    out = []
    for i, row in enumerate(rows, 1):
        try:
            inp, outp = row
        except (TypeError, ValueError):
            raise ConfigError(f"Example {i} is not an (input, output) pair.") from None
        if not isinstance(inp, dict) or not isinstance(outp, dict):
            raise ConfigError(f"Example {i} must pair an input object with an output object.")
        for name, allowed in plan.categorical.items():
            value = _label(outp.get(name))
            if value is not None and value not in allowed:
                raise ConfigError(
                    f"Example {i} gives {name}={value!r}, which is not one of "
                    f"{', '.join(map(repr, allowed))} in {schema_name}."
                )
        out.append((inp, outp))
    for name, allowed in plan.categorical.items():
        seen = {_label(outp.get(name)) for _, outp in out} - {None}
        if len(seen) < 2:
            field = schema_fields[name]
            if not seen and not field.is_required():
                continue  # never labelled and has a default: left to the default
            found = "no label" if not seen else f"only the label {next(iter(seen))!r}"
            raise ConfigError(
                f"The examples give {found} for {schema_name}.{name}; "
                "the local model needs at least two different labels to learn it."
            )
    return out


def _label(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _fit(
    plan: _Plan,
    rows: list[tuple[dict[str, Any], dict[str, Any]]],
    text_fields: tuple[str, ...],
    char_ngrams: bool,
) -> _Fitted:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    texts = [_text_of(inp, text_fields) for inp, _ in rows]
    kinds = ("word", "char") if char_ngrams else ("word",)
    parts = [
        (kind, TfidfVectorizer(analyzer=_SentenceAnalyzer(kind), sublinear_tf=True))
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

    heads: dict[str, _Head] = {}
    coefs: list[np.ndarray] = []
    intercepts: list[np.ndarray] = []
    for name, allowed in plan.categorical.items():
        idx, y = [], []
        for i, (_, outp) in enumerate(rows):
            value = _label(outp.get(name))
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
        heads[name] = _Head(
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
    bigram_ids = {}
    for gram, index in word_vocab.items():
        a, sep, b = gram.partition(" ")
        if sep:
            bigram_ids[(word_vocab[a], word_vocab[b])] = index
    return _Fitted(
        bigram_ids=bigram_ids,
        word_vocab=word_vocab,
        char_vocab=char_vocab,
        n_word=n_word,
        idf=np.concatenate(idf).astype(np.float64),
        heads=heads,
        coef_t=np.ascontiguousarray(np.vstack(coefs).T) if coefs else np.zeros((X.shape[1], 0)),
        intercept=np.concatenate(intercepts) if intercepts else np.zeros(0),
    )


_CACHE: OrderedDict[tuple[str, str, tuple[str, ...], bool], _Fitted] = OrderedDict()
_CACHE_LOCK = threading.Lock()


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


# ------------------------------------------------------------------------ model


class LocalModel:
    """An on-device :class:`Provider` fitted on labelled examples.

    ``examples`` are ``(input, output)`` pairs of plain dicts; ``text_fields``
    name the input fields whose text the model reads (joined by newlines).
    Training happens on first use and is shared by every instance built from
    the same schema, examples and text fields in this process.
    """

    name = "local"

    def __init__(
        self,
        output_schema: type[BaseModel],
        examples: Sequence[tuple[dict[str, Any], dict[str, Any]]],
        text_fields: Sequence[str],
        model: str = "local-linear",
        *,
        char_ngrams: bool = True,
    ) -> None:
        self._plan = _plan(output_schema)
        self.output_schema = output_schema
        if isinstance(text_fields, str):
            text_fields = (text_fields,)
        self.text_fields = tuple(text_fields or ())
        if not self.text_fields:
            raise ConfigError("The local model needs at least one input text field to read.")
        self._rows = _check_examples(examples, self._plan, output_schema)
        self.model = model
        self.char_ngrams = bool(char_ngrams)
        self._fitted: _Fitted | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_jsonl(
        cls,
        path: str | Path,
        output_schema: type[BaseModel],
        text_fields: Sequence[str],
        model: str = "local-linear",
        *,
        char_ngrams: bool = True,
        prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> LocalModel:
        """Build from a JSONL file of ``{"input": {...}, "output": {...}}`` lines.

        ``prepare`` turns each example's input into what the model will see at run
        time (the pipeline redacts it), so training and prediction read alike.
        """
        path = Path(path)
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"The examples file {path} does not exist.") from None
        except OSError as exc:
            raise ConfigError(f"The examples file {path} could not be read: {exc}.") from None
        examples = []
        for number, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"Line {number} of {path} is not valid JSON ({exc.msg})."
                ) from None
            if (
                not isinstance(row, dict)
                or not isinstance(row.get("input"), dict)
                or not isinstance(row.get("output"), dict)
            ):
                raise ConfigError(
                    f'Line {number} of {path} must be an object with "input" and "output" objects.'
                )
            examples.append((prepare(row["input"]) if prepare else row["input"], row["output"]))
        if not examples:
            raise ConfigError(f"The examples file {path} holds no examples.")
        return cls(output_schema, examples, text_fields, model, char_ngrams=char_ngrams)

    # -- training ----------------------------------------------------------

    def warm(self) -> None:
        """Train now (or take the cached model), so the first event is not the slow one."""
        self.fitted

    @property
    def fitted(self) -> _Fitted:
        """The trained model, fitted now if needed (or taken from the process cache)."""
        fitted = self._fitted
        if fitted is None:
            with self._lock:
                if self._fitted is None:
                    self._fitted = self._train()
                fitted = self._fitted
        return fitted

    def _train(self) -> _Fitted:
        key = _cache_key(self.output_schema, self._rows, self.text_fields, self.char_ngrams)
        with _CACHE_LOCK:
            hit = _CACHE.get(key)
            if hit is not None:
                _CACHE.move_to_end(key)
                return hit
        fitted = _fit(
            self._plan,
            self._rows,
            self.text_fields,
            self.char_ngrams,
        )
        with _CACHE_LOCK:
            _CACHE[key] = fitted
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        return fitted

    @property
    def pipelines(self) -> dict[str, Any]:
        """Field name -> fitted sklearn ``Pipeline`` (features -> LogisticRegression)."""
        return {name: head.pipeline for name, head in self.fitted.heads.items()}

    # -- prediction --------------------------------------------------------

    def predict(self, data: dict[str, Any]) -> dict[str, Any]:
        """The output object for one input (a plain dict in schema field order)."""
        fitted = self.fitted
        plan = self._plan
        text = _text_of(data or {}, self.text_fields)
        spans = split_sentences(text)

        # Analyse every sentence once; map its n-grams to feature ids.
        wget, bget = fitted.word_vocab.get, fitted.bigram_ids.get
        char_ids = fitted.char_ids if fitted.char_vocab else None
        memo_get = fitted.char_memo.get
        ids: list[int] = []
        lengths: list[int] = []
        for start, end in spans:
            sentence = text[start:end].lower()
            before = len(ids)
            uni = list(map(wget, _TOKEN.findall(sentence)))
            ids.extend([i for i in uni if i is not None])
            ids.extend([i for i in map(bget, zip(uni, uni[1:])) if i is not None])
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
        sentence_score = np.zeros(n_sent, dtype=np.float64)
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
            quote = _quote(text[spans[i][0] : spans[i][1]])
            if quote not in quotes:
                quotes.append(quote)

        for name in plan.order:
            if name in obj:
                continue
            if name == plan.confidence:
                obj[name] = round(min(top_prob), 3) if top_prob else 0.0
            elif name == plan.evidence:
                obj[name] = quotes
            elif name == plan.summary:
                obj[name] = self._summary(quotes, data or {})
            else:
                value = plan.neutral[name]
                obj[name] = copy.deepcopy(value) if isinstance(value, (list, dict)) else value
        return {name: obj[name] for name in plan.order}

    def _summary(self, quotes: list[str], data: dict[str, Any]) -> str:
        plan = self._plan
        line = _collapse(quotes[0]) if quotes else ""
        if not line:
            for name in self.text_fields:
                value = data.get(name)
                if value is not None and _collapse(str(value)):
                    line = _collapse(str(value))
                    break
        if not line:
            line = "(no text)"
        if plan.summary_max:
            line = _cut_words(line, int(plan.summary_max))
        if len(line) < plan.summary_min:
            line = line.ljust(plan.summary_min, ".")
        return line

    def complete(self, request: ModelRequest) -> ModelReply:
        obj = self.predict(request.source)
        text = json.dumps(obj, ensure_ascii=False, sort_keys=False)
        prompt_chars = sum(len(m.content) for m in request.messages)
        return ModelReply(
            text=text,
            usage=Usage(input_tokens=(prompt_chars + 3) // 4, output_tokens=(len(text) + 3) // 4),
            model=self.model,
            stop_reason="end",
        )

    def __repr__(self) -> str:
        return (
            f"LocalModel({self.output_schema.__name__}, {len(self._rows)} examples, "
            f"text_fields={list(self.text_fields)!r}, model={self.model!r})"
        )

