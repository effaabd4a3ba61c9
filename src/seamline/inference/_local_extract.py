"""Layer 3, inference: the on-device *extractive* answerer for retrieval-grounded integrations.

``provider: local, model: local-extractive`` answers a question from the documents
retrieval put into the input, by quoting them: it never writes a word that is not in a
document, so every answer it gives passes the verbatim-quote and closed-source checks
by construction, and with no documents it abstains. It is what makes a support-answer
integration run with no key and no network; a real model replaces it by changing the
route, and the same checks then hold that model to the same standard.

The reply is an object with four fields, named by the route's ``params`` (defaults in
brackets): the status [``status``: ``answered`` or ``insufficient_information``], the
answer [``answer``], the citations [``citations``: ``[{"chunk_id", "quote"}]``], read
from the input's question [``question``] and documents [``documents``: ``[{"id",
"text", ...}]``, best first, as :meth:`seamline.retrieval.Retrieval.documents` gives].

Written by hand because no library does extractive sentence selection over a handful
of passages without a model download: sentences are scored by the IDF-weighted share of
the question's words they contain (Porter-less: a word matches its plural and "-ing"
form), the document's retrieval rank breaking ties.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from pydantic import BaseModel

from seamline.inference._local_text import split_sentences
from seamline.inference._types import ModelReply, ModelRequest, Usage
from seamline.retrieval import STOP_WORDS

_WORD = re.compile(r"\w+", re.UNICODE)
# Retrieval's stop words, and the question words that carry no content either.
_STOP = STOP_WORDS | {"our", "us", "am", "get", "have", "has", "had", "would", "could", "should",
                      "any"}
_MAX_SENTENCES = 2
_MIN_SENTENCE_CHARS = 12


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _terms(text: str) -> set[str]:
    return {_stem(w) for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOP}


class ExtractiveModel:
    """A :class:`~seamline.inference._types.Provider` that answers by quoting documents."""

    name = "local"
    reads_prompt = False  # it reads the question and documents; the prompt changes nothing

    def __init__(self, output_schema: type[BaseModel], *, model: str = "local-extractive",
                 params: dict[str, Any] | None = None) -> None:
        p = params or {}
        self.output_schema = output_schema
        self.model = model
        self.question_field = p.get("question_field", "question")
        self.documents_field = p.get("documents_field", "documents")
        self.status_field = p.get("status_field", "status")
        self.answer_field = p.get("answer_field", "answer")
        self.citations_field = p.get("citations_field", "citations")
        self.answered = p.get("answered", "answered")
        self.abstained = p.get("abstained", "insufficient_information")

    def answer(self, source: dict[str, Any]) -> dict[str, Any]:
        """The reply object for one input (also usable without a pipeline)."""
        question = str(source.get(self.question_field) or "")
        docs = [d for d in source.get(self.documents_field) or []
                if isinstance(d, dict) and d.get("text")]
        wanted = _terms(question)
        if not docs or not wanted:
            return self._reply(self.abstained, "", [])
        sentences = [(rank, str(doc.get("id", "")), doc["text"][a:b])
                     for rank, doc in enumerate(docs)
                     for a, b in split_sentences(doc["text"]) if b - a >= _MIN_SENTENCE_CHARS]
        if not sentences:
            return self._reply(self.abstained, "", [])
        terms = [_terms(s) for _, _, s in sentences]
        n = len(sentences)
        idf = {t: math.log(1 + n / (1 + sum(t in ts for ts in terms))) for t in wanted}
        total = sum(idf.values())

        def score(i: int) -> tuple[float, float]:
            rank = sentences[i][0]
            covered = sum(idf[t] for t in wanted & terms[i]) / total
            return covered, -rank - i / (10 * n)  # better-ranked documents, earlier sentences

        order = sorted(range(n), key=score, reverse=True)
        best = order[0]
        if score(best)[0] == 0:  # nothing shared with the question: the top document's opening
            best = next(i for i, s in enumerate(sentences) if s[0] == 0)
        picked = [best]
        # A second sentence when it adds question words the first lacks (same document).
        missing = wanted - terms[best]
        for i in order[1:]:
            if len(picked) >= _MAX_SENTENCES or not missing:
                break
            if sentences[i][1] == sentences[best][1] and missing & terms[i]:
                picked.append(i)
                missing -= terms[i]
        picked.sort()
        quotes = [{"chunk_id": sentences[i][1], "quote": sentences[i][2]} for i in picked]
        answer = " ".join(q["quote"] for q in quotes)
        return self._reply(self.answered, answer, quotes)

    def _reply(self, status: str, answer: str, citations: list[dict[str, str]]) -> dict[str, Any]:
        return {self.status_field: status, self.answer_field: answer,
                self.citations_field: citations}

    def complete(self, request: ModelRequest) -> ModelReply:
        text = json.dumps(self.answer(request.source), ensure_ascii=False)
        prompt_chars = sum(len(m.content) for m in request.messages)
        return ModelReply(
            text=text,
            # No tokenizer here: ~4 characters a token, the usual rough rate.
            usage=Usage(input_tokens=(prompt_chars + 3) // 4, output_tokens=(len(text) + 3) // 4),
            model=self.model, stop_reason="end", reads_prompt=False)

    def __repr__(self) -> str:
        return f"ExtractiveModel({self.output_schema.__name__}, model={self.model!r})"
