"""The timeline's sentences: one per audit entry kind the runtime writes, and a sentence
(never a traceback, never key=value) for a kind or a payload shape it does not know."""

from __future__ import annotations

import re

import pytest

from seamline.console._story import sentence

ENTRIES = [
    ("ingest", {"input": {}, "idempotency_key": "R1", "tenant": "acme",
                "pii_redacted": ["EMAIL"], "truncated": False, "submitted_by": "key:ops"},
     "Received from key:ops for tenant acme with idempotency key R1; personal data redacted: EMAIL."),
    ("rollout", {"flag": "refunds.ai", "mode": "percent", "percent": 25.0, "path": "baseline"},
     "Flag refunds.ai is 25%: this event takes the baseline."),
    ("prompt", {"version": "p-1", "tokens": 29}, "The prompt was rendered with version p-1 (29 tokens)."),
    ("budget", {"decision": "reserved", "estimate_usd": 0.0002},
     "$0.000200 was reserved under the spending caps for the model call."),
    ("budget", {"decision": "refused", "cap": "daily", "cap_usd": 20.0, "estimate_usd": 0.05},
     "The spending cap daily ($20.00) refused a call estimated at $0.050000."),
    ("model_call", {"attempt": 1, "error": "Timeout: no answer in 30 s"},
     "The model call (attempt 2) failed: Timeout: no answer in 30 s."),
    ("grounding", {"passed": False, "quotes": [{}], "failures": ["a number disagrees"]},
     "Grounding failed; 1 quote(s) found in the source; 1 failure(s), the first: a number disagrees."),
    ("output", {"valid": False, "error": "not JSON", "path": "ai"},
     "No valid output from the model: not JSON."),
    ("actions_planned", {"actions": [{"action": "refund"}, {"action": "notify"}], "dry_run": False},
     "Planned 2 action(s): refund, notify."),
    ("action", {"action": "notify", "status": "failed", "attempt": 3, "error": "502"},
     "Action notify failed on attempt 3: 502."),
    ("approval", {"action": "refund", "decision": "rejected", "reviewer": "rita",
                  "comment": "a duplicate"}, "Action refund rejected by rita: a duplicate."),
    ("state", {"state": "dead_lettered", "reason": "the CRM is down"},
     "The event was put in the dead-letter queue because the CRM is down."),
    ("dead_letter", {"stage": "actions", "reason": "the CRM is down"},
     "Dead-lettered at the actions stage because the CRM is down."),
    ("redrive", {"from_stage": "actions", "reason": "down", "actor": "rita"},
     "Redriven by rita from the actions stage (it had died because down)."),
    ("replay", {"prompt_version": "p-2", "model": "m", "changed_fields": ["label"], "error": ""},
     "Replayed with prompt p-2 and model m (nothing was acted on): 1 field(s) changed (label)."),
    ("duplicate", {"duplicate_of": "evt_1", "idempotency_key": "R1"},
     "A duplicate of event evt_1 (idempotency key R1); nothing was run again."),
    # What the outbox writes when a connector's OAuth credential cannot give a token.
    ("action", {"action": "mark_customer", "status": "waiting_credentials", "attempt": 0,
                "waiting_for": "hubspot", "error": "invalid_grant"},
     "Action mark_customer was not sent: it waits for the credential hubspot (invalid_grant)."),
    ("state", {"state": "waiting_credentials", "reason": "an action waits for a connector's "
               "credential (seamline connectors status)"},
     "The event waits for a connector's credential: nothing was sent, and its actions run "
     "once the credential works again."),
    ("resume", {"from_state": "waiting_credentials", "credential": "hubspot"},
     "Resumed: the credential hubspot works again, so the actions that waited for it run now."),
    ("resume", {"from_state": "acting"}, "Resumed from state acting."),
]


@pytest.mark.parametrize(("kind", "payload", "expected"), ENTRIES, ids=[e[0] for e in ENTRIES])
def test_each_kind_is_told_in_a_sentence(kind, payload, expected):
    assert sentence(kind, payload) == expected


@pytest.mark.parametrize("payload", [None, "text", [], {"approval": None},
                                     {"decision": ["odd"], "reviewer": {"x": 1}}])
def test_odd_payloads_still_get_a_sentence(payload):
    for kind in ("approval", "action", "grounding", "something_new"):
        told = sentence(kind, payload)
        assert told.endswith(".") and not re.search(r"\w=\S", told), (kind, told)


def test_an_unknown_kind_names_itself_and_its_short_fields():
    told = sentence("custom_check", {"note": "ok", "score": 3, "blob": "x" * 500})
    assert told == "A custom check entry: note ok; score 3."
