"""A small integration, a scripted model and a golden set for the eval tests.

Importable as ``eval_fixtures:...`` so the CLI can load the integration and the provider
the way a user would load their own.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import make_integration

from seamline.inference import ScriptedModel

integration = make_integration()

# Ticket bodies and their right labels; t3 and t4 are the ones a worse model gets wrong.
TICKETS = {
    "t1": ("Please refund my order, it arrived broken.", "refund"),
    "t2": ("How do I change my password?", "other"),
    "t3": ("I want a refund for the double charge.", "refund"),
    "t4": ("Refund the subscription, write to jane.doe@example.com please.", "refund"),
    "t5": ("Where is the invoice for March?", "other"),
}


def _answer(request) -> str:
    text = request.messages[-1].content.lower()
    label = "refund" if "refund" in text else "other"
    if request.model == "worse" and any(t in text for t in ("t3", "t4")):
        label = "other" if label == "refund" else "refund"
    return json.dumps({"label": label, "confidence": 0.9, "amount": 20.0, "quote": ""})


def scripted(_integration=None) -> ScriptedModel:
    """Right on every ticket; under the model name "worse", wrong on t3 and t4."""
    return ScriptedModel(_answer)


def write_golden(path: Path, header: dict | None = None, **extra) -> Path:
    lines = [json.dumps({"golden": header})] if header is not None else []
    for tid, (body, label) in TICKETS.items():
        # Every line in the untouched split: the headline is measured on all five.
        item = {"input": {"ticket_id": tid, "body": body}, "split": "test",
                "output": {"label": label, "confidence": 0.9, "amount": 20.0, "quote": ""}}
        item.update(extra.get(tid, {}))
        lines.append(json.dumps(item))
    path.write_text("\n".join(lines) + "\n")
    return path
