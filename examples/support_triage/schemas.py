"""Input and output schemas of the support-triage demo integration."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Intent = Literal[
    "billing", "refund", "technical", "account", "shipping", "cancellation", "feedback", "other"
]
Urgency = Literal["low", "normal", "high", "critical"]


class SupportEmail(BaseModel):
    """One inbound support e-mail, as the helpdesk hands it over."""

    message_id: str = Field(min_length=1, max_length=200)
    tenant_id: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    from_email: str = Field(min_length=3)
    subject: str = Field(max_length=500)
    body: str = Field(min_length=1)
    language: str | None = None


class TriageResult(BaseModel):
    """What the model must say about one e-mail."""

    intent: Intent
    urgency: Urgency
    summary: str = Field(min_length=1, max_length=240)
    confidence: float = Field(ge=0, le=1)
    evidence: list[str] = Field(default_factory=list, description="Verbatim quotes from the e-mail.")
