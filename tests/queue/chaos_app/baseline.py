"""The chaos test's baseline: what answers when the AI path is off (a keyword rule)."""


def keyword(data: dict) -> dict:
    refund = "refund" in str(data.get("body", "")).lower()
    return {"label": "refund" if refund else "other", "confidence": 0.5,
            "amount": data.get("amount", 0.0) if refund else 0.0}
