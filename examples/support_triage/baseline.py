"""The demo's baseline: the keyword rules the support team used before the model.

It answers whenever the AI path is off (the flag) or fails, and sets the bar the
model has to beat on the golden set.
"""

from __future__ import annotations

from typing import Any

_INTENT_WORDS = (
    ("refund", ("refund", "money back", "reembolso", "rückerstattung", "remboursement")),
    ("cancellation", ("cancel", "unsubscribe", "close my account", "kündigen", "cancelar")),
    ("billing", ("invoice", "charge", "billing", "payment", "vat", "receipt", "factura")),
    ("shipping", ("shipping", "delivery", "tracking", "package", "parcel", "courier")),
    ("account", ("password", "login", "log in", "2fa", "account", "sign in", "email address")),
    ("technical", ("error", "bug", "crash", "api", "outage", "down", "500", "timeout", "broken")),
    ("feedback", ("love", "suggestion", "feature request", "feedback", "great job", "would be nice")),
)
_URGENT = ("outage", "down for", "all users", "security", "breach", "lawyer", "legal", "data loss")
_HIGH = ("urgent", "asap", "immediately", "blocked", "can't work", "charged twice", "double charged")


def keyword_triage(data: dict[str, Any]) -> dict[str, Any]:
    text = f"{data.get('subject', '')}\n{data.get('body', '')}".lower()
    intent = next((name for name, words in _INTENT_WORDS if any(w in text for w in words)), "other")
    if any(w in text for w in _URGENT):
        urgency = "critical"
    elif any(w in text for w in _HIGH):
        urgency = "high"
    else:
        urgency = "normal"
    summary = (data.get("subject") or "(no subject)").strip()[:240] or "(no subject)"
    return {"intent": intent, "urgency": urgency, "summary": summary, "confidence": 0.5,
            "evidence": []}
