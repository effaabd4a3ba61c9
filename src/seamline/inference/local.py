"""Layer 3, inference: the on-device model, a small linear classifier learned from examples.

The public face only; ``_local_text``, ``_local_schema``, ``_local_fit``, ``_local_fill``,
``_local_answer`` and ``_local_store`` do the work.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from seamline.errors import CannotFill, ConfigError
from seamline.inference._local_answer import Answer, answer
from seamline.inference._local_fit import Fitted, cached, char_ngrams_of, fit, fit_key, remember
from seamline.inference._local_schema import check_examples, plan_for, with_labelled_bools
from seamline.inference._local_store import load, save, stored
from seamline.inference._local_text import split_sentences
from seamline.inference._types import ModelReply, ModelRequest, Usage

__all__ = ["LocalModel", "split_sentences"]

Rows = list[tuple[dict[str, Any], dict[str, Any]]]


class LocalModel:
    """An on-device :class:`~seamline.inference._types.Provider` fitted on labelled examples.

    ``examples`` are ``(input, output)`` pairs of plain dicts; ``text_fields``
    name the input fields whose text the model reads (joined by newlines). It reads
    the event's fields (``ModelRequest.source``), never the prompt. The reply is JSON
    that validates against ``output_schema``:

    * every categorical field (``Literal[...]`` or ``Enum``, possibly Optional, and a
      ``bool`` the examples label both ways) is predicted by its own sklearn pipeline --
      sublinear TF-IDF n-grams feeding a ``LogisticRegression``
      (``class_weight="balanced"``, fixed seed);
    * amounts with their currency, numbers next to the field's word, dates, ids, e-mail
      addresses, URLs and yes/no fields stated by a cue word are read from the input by
      rules that record their evidence (``_local_fill``; ``ModelReply.evidence``);
    * ``confidence`` is the smallest of the top-class probabilities and the extraction
      rules' confidences;
    * ``evidence`` / ``quotes`` / ``citations`` hold the one or two sentences of
      the input that push hardest towards the predicted classes, and the sentence of
      each value read, verbatim;
    * ``summary`` is the best of those sentences on one line, cut to the
      field's ``max_length`` at a word boundary;
    * a field it cannot fill from the input is left to the schema's default, or ``null``
      where the schema allows it; a required one makes it refuse the event with
      :class:`~seamline.errors.CannotFill` ("the on-device model cannot fill
      refund_amount_usd from this input"). It never invents a value.

    ``model`` names the features, so an event can be replayed with another model
    offline: ``"local-linear"`` reads word 1-2 grams and ``char_wb`` 3-5 grams
    (the default), ``"local-words"`` word 1-2 grams only. An explicit
    ``char_ngrams`` wins over the name.

    Training happens on first use and is shared by every instance built from the same
    schema, examples, text fields and features in this process; with ``cache_dir`` the
    fit is also kept on disk (``_local_store``) and later processes load it instead.
    ``prepare`` turns each example's input into what the model sees at run time; with a
    ``fingerprint`` (what identifies ``prepare``: the PII policy and redaction code) the
    examples are prepared only when a fit is actually needed.
    """

    name = "local"
    reads_prompt = False  # it reads the event's fields; the prompt changes nothing

    def __init__(
        self,
        output_schema: type[BaseModel],
        examples: Sequence[tuple[dict[str, Any], dict[str, Any]]],
        text_fields: Sequence[str],
        model: str = "local-linear",
        *,
        char_ngrams: bool | None = None,
        prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        fingerprint: str = "",
        cache_dir: str | Path | None = None,
    ) -> None:
        named_char_ngrams = char_ngrams_of(model)  # an unknown name fails even if overridden
        plan = plan_for(output_schema)
        self.output_schema = output_schema
        if isinstance(text_fields, str):
            text_fields = (text_fields,)
        self.text_fields = tuple(text_fields or ())
        if not self.text_fields:
            raise ConfigError("The local model needs at least one input text field to read.")
        rows = check_examples(examples, plan, output_schema)
        self._plan = with_labelled_bools(plan, rows)
        if self._plan is not plan:
            check_examples(rows, self._plan, output_schema)  # the bools' labels, too
        self.model = model
        self.char_ngrams = named_char_ngrams if char_ngrams is None else bool(char_ngrams)
        self._prepare = prepare
        if prepare is not None and not fingerprint:
            # Nothing says what ``prepare`` does: the prepared examples are the key.
            rows, self._prepare = [(prepare(i), o) for i, o in rows], None
        self._rows: Rows = rows
        self.key = fit_key(output_schema, rows, self.text_fields, self.char_ngrams, fingerprint)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.fitted_from = ""  # "memory", "disk" or "fit": where the last ``fitted`` came from
        self._fitted: Fitted | None = None
        self._pipelines: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_jsonl(
        cls,
        path: str | Path,
        output_schema: type[BaseModel],
        text_fields: Sequence[str],
        model: str = "local-linear",
        *,
        char_ngrams: bool | None = None,
        prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        fingerprint: str = "",
        cache_dir: str | Path | None = None,
    ) -> LocalModel:
        """Build from a JSONL file of ``{"input": {...}, "output": {...}}`` lines.

        ``prepare`` turns each example's input into what the model will see at run
        time (the pipeline redacts it), so training and prediction read alike.
        """
        char_ngrams_of(model)  # a wrong name fails before every example is read and prepared
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
            examples.append((row["input"], row["output"]))
        if not examples:
            raise ConfigError(f"The examples file {path} holds no examples.")
        return cls(output_schema, examples, text_fields, model, char_ngrams=char_ngrams,
                   prepare=prepare, fingerprint=fingerprint, cache_dir=cache_dir)

    # -- training ----------------------------------------------------------

    def warm(self) -> None:
        """Train now (or take the kept fit), so the first event is not the slow one."""
        _ = self.fitted

    @property
    def fitted(self) -> Fitted:
        """The trained model: from this process, else from disk, else fitted now (and kept)."""
        fitted = self._fitted
        if fitted is None:
            with self._lock:
                if self._fitted is None:
                    self._fitted = self._obtain()
                fitted = self._fitted
        return fitted

    def _obtain(self) -> Fitted:
        hit = cached(self.key)
        if hit is not None:
            self.fitted_from = "memory"
            if self.cache_dir is not None and not stored(self.cache_dir, self.key):
                save(hit, self.cache_dir, self.key)  # fitted for another store: keep it here too
            return hit
        if self.cache_dir is not None:
            loaded = load(self.cache_dir, self.key)
            if loaded is not None:
                self.fitted_from = "disk"
                return remember(self.key, loaded)
        fitted = self._fit()
        if self.cache_dir is not None:
            save(fitted, self.cache_dir, self.key)
        self.fitted_from = "fit"
        return remember(self.key, fitted)

    def _fit(self) -> Fitted:
        rows = self._rows
        if self._prepare is not None:
            prepare = self._prepare
            rows = [(prepare(i), o) for i, o in rows]
        return fit(self._plan, rows, self.text_fields, self.char_ngrams)

    @property
    def pipelines(self) -> dict[str, Any]:
        """Field name -> fitted sklearn ``Pipeline`` (features -> LogisticRegression).

        A fit loaded from disk holds only the arrays prediction needs; asking for the
        sklearn pipelines then fits them again (the same result, as fitting is seeded)."""
        heads = self.fitted.heads
        if all(h.pipeline is not None for h in heads.values()):
            return {name: head.pipeline for name, head in heads.items()}
        if self._pipelines is None:
            self._pipelines = {name: head.pipeline for name, head in self._fit().heads.items()}
        return self._pipelines

    # -- prediction --------------------------------------------------------

    def explain(self, data: dict[str, Any]) -> Answer:
        """The answer for one input with its evidence, and the required fields it lacks."""
        return answer(self.fitted, self._plan, self.text_fields, data)

    def predict(self, data: dict[str, Any]) -> dict[str, Any]:
        """The output object for one input (a plain dict in schema field order); raises
        :class:`CannotFill` when the input does not state a required field's value."""
        result = self.explain(data)
        if result.missing:
            raise CannotFill(result.missing, why=result.evidence["unfilled"],
                             evidence=result.evidence)
        return result.output

    def complete(self, request: ModelRequest) -> ModelReply:
        result = self.explain(request.source)
        if result.missing:
            raise CannotFill(result.missing, why=result.evidence["unfilled"],
                             evidence=result.evidence)
        text = json.dumps(result.output, ensure_ascii=False, sort_keys=False)
        prompt_chars = sum(len(m.content) for m in request.messages)
        return ModelReply(
            text=text,
            # No tokenizer here: ~4 characters a token, the usual rough rate.
            usage=Usage(input_tokens=(prompt_chars + 3) // 4, output_tokens=(len(text) + 3) // 4),
            model=self.model,
            stop_reason="end",
            evidence=result.evidence,
            reads_prompt=False,
        )

    def __repr__(self) -> str:
        return (
            f"LocalModel({self.output_schema.__name__}, {len(self._rows)} examples, "
            f"text_fields={list(self.text_fields)!r}, model={self.model!r})"
        )
