"""Layer 3, inference: the on-device model, a small linear classifier learned from examples.

The public face only; ``_local_text``, ``_local_schema`` and ``_local_fit`` do the work.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from seamline.errors import ConfigError
from seamline.inference._local_fit import Fitted, char_ngrams_of, predict_output, shared_fit
from seamline.inference._local_schema import check_examples, plan_for
from seamline.inference._local_text import split_sentences
from seamline.inference._types import ModelReply, ModelRequest, Usage

__all__ = ["LocalModel", "split_sentences"]


class LocalModel:
    """An on-device :class:`~seamline.inference._types.Provider` fitted on labelled examples.

    ``examples`` are ``(input, output)`` pairs of plain dicts; ``text_fields``
    name the input fields whose text the model reads (joined by newlines). The
    reply is JSON that validates against ``output_schema``:

    * every categorical field (``Literal[...]`` or ``Enum``, possibly Optional)
      is predicted by its own sklearn pipeline -- sublinear TF-IDF n-grams
      feeding a ``LogisticRegression`` (``class_weight="balanced"``, fixed seed);
    * ``confidence`` is the smallest top-class probability over those fields;
    * ``evidence`` / ``quotes`` / ``citations`` hold the one or two sentences of
      the input that push hardest towards the predicted classes, verbatim;
    * ``summary`` is the best of those sentences on one line, cut to the
      field's ``max_length`` at a word boundary;
    * every other field gets its default or a neutral value.

    The classifier is the only source of labels: nothing is looked up.

    ``model`` names the features, so an event can be replayed with another model
    offline: ``"local-linear"`` reads word 1-2 grams and ``char_wb`` 3-5 grams
    (the default), ``"local-words"`` word 1-2 grams only. An explicit
    ``char_ngrams`` wins over the name.

    Training happens on first use and is shared by every instance built from
    the same schema, examples, text fields and features in this process.
    """

    name = "local"

    def __init__(
        self,
        output_schema: type[BaseModel],
        examples: Sequence[tuple[dict[str, Any], dict[str, Any]]],
        text_fields: Sequence[str],
        model: str = "local-linear",
        *,
        char_ngrams: bool | None = None,
    ) -> None:
        named_char_ngrams = char_ngrams_of(model)  # an unknown name fails even if overridden
        self._plan = plan_for(output_schema)
        self.output_schema = output_schema
        if isinstance(text_fields, str):
            text_fields = (text_fields,)
        self.text_fields = tuple(text_fields or ())
        if not self.text_fields:
            raise ConfigError("The local model needs at least one input text field to read.")
        self._rows = check_examples(examples, self._plan, output_schema)
        self.model = model
        self.char_ngrams = named_char_ngrams if char_ngrams is None else bool(char_ngrams)
        self._fitted: Fitted | None = None
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
            examples.append((prepare(row["input"]) if prepare else row["input"], row["output"]))
        if not examples:
            raise ConfigError(f"The examples file {path} holds no examples.")
        return cls(output_schema, examples, text_fields, model, char_ngrams=char_ngrams)

    # -- training ----------------------------------------------------------

    def warm(self) -> None:
        """Train now (or take the cached model), so the first event is not the slow one."""
        _ = self.fitted

    @property
    def fitted(self) -> Fitted:
        """The trained model, fitted now if needed (or taken from the process cache)."""
        fitted = self._fitted
        if fitted is None:
            with self._lock:
                if self._fitted is None:
                    self._fitted = shared_fit(
                        self.output_schema, self._plan, self._rows, self.text_fields,
                        self.char_ngrams,
                    )
                fitted = self._fitted
        return fitted

    @property
    def pipelines(self) -> dict[str, Any]:
        """Field name -> fitted sklearn ``Pipeline`` (features -> LogisticRegression)."""
        return {name: head.pipeline for name, head in self.fitted.heads.items()}

    # -- prediction --------------------------------------------------------

    def predict(self, data: dict[str, Any]) -> dict[str, Any]:
        """The output object for one input (a plain dict in schema field order)."""
        return predict_output(self.fitted, self._plan, self.text_fields, data)

    def complete(self, request: ModelRequest) -> ModelReply:
        obj = self.predict(request.source)
        text = json.dumps(obj, ensure_ascii=False, sort_keys=False)
        prompt_chars = sum(len(m.content) for m in request.messages)
        return ModelReply(
            text=text,
            # No tokenizer here: ~4 characters a token, the usual rough rate.
            usage=Usage(input_tokens=(prompt_chars + 3) // 4, output_tokens=(len(text) + 3) // 4),
            model=self.model,
            stop_reason="end",
        )

    def __repr__(self) -> str:
        return (
            f"LocalModel({self.output_schema.__name__}, {len(self._rows)} examples, "
            f"text_fields={list(self.text_fields)!r}, model={self.model!r})"
        )
