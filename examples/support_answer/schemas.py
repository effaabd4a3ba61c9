"""Input and output schemas of the support-answer example (retrieval-grounded answers)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator


class Document(BaseModel):
    """One retrieved chunk, as retrieval puts it into the input (callers never send these)."""

    id: str
    title: str = ""
    text: str
    location: str = ""


class Question(BaseModel):
    """A customer's question from the help widget."""

    ticket_id: str = Field(min_length=1, max_length=200)
    tenant_id: str = Field("acme", min_length=1)
    question: str = Field(min_length=3, max_length=2000)
    documents: list[Document] = Field(default_factory=list)


class Citation(BaseModel):
    chunk_id: str = Field(min_length=1, description="The id of one of the documents given.")
    quote: str = Field(min_length=1, description="Words copied exactly from that document.")


class Answer(BaseModel):
    """An answer that quotes the documentation, or an honest "I don't know"."""

    status: Literal["answered", "insufficient_information"]
    answer: str = Field(max_length=1500)
    citations: list[Citation] = Field(default_factory=list, max_length=4)

    @model_validator(mode="after")
    def _answers_cite(self) -> Answer:
        if self.status == "answered" and not self.citations:
            raise ValueError("an answer must cite at least one document (or abstain)")
        if self.status == "answered" and not self.answer.strip():
            raise ValueError("an answered status needs an answer")
        return self
