"""A store with something on every console page, and an app serving it: shared by the
route tests and the browser tests of the console.

Four refunds wait for approval (amount above the cap), each with a grounding entry whose
quote sits in the ticket body; one event is dead-lettered at the actions stage (its
downstream is down until a test brings it up and redrives it); spend is spread over
tenants and days.
"""

from __future__ import annotations

import json
import time
from typing import Any

from conftest import make_integration
from fastapi import FastAPI
from sqlalchemy import insert

from seamline.access import Role, add_user
from seamline.inference import ScriptedModel
from seamline.integration import ActionSpec
from seamline.outputs import GroundingSpec
from seamline.runtime import Pipeline
from seamline.server import create_app
from seamline.store import Store
from seamline.store.tables import events

PASSWORD = "correct horse battery staple"
USERS = {"vera": Role.VIEWER, "rita": Role.REVIEWER, "adam": Role.ADMIN}
TICKETS = [
    {"ticket_id": "R1", "tenant": "acme", "customer": "c1",
     "body": "I was charged $150 twice on 3 March. Please refund one charge."},
    {"ticket_id": "R2", "tenant": "acme", "customer": "c2",
     "body": "Refund my annual plan of $480 <script>alert(1)</script> please."},
    {"ticket_id": "R3", "tenant": "globex", "customer": "c3",
     "body": "The $220 order arrived broken. Write to anna.k@example.com, I want my money back."},
    {"ticket_id": "R4", "tenant": "globex", "customer": "c4",
     "body": "Cancel and refund the $130 add-on, it never worked."},
]
QUOTES = {"R1": "charged $150 twice", "R2": "annual plan of $480", "R3": "arrived broken",
          "R4": "refund the $130 add-on"}
AMOUNTS = {"R1": 150, "R2": 480, "R3": 220, "R4": 130}
BROKEN = {"ticket_id": "D1", "tenant": "acme", "customer": "c9", "body": "Please refund $20 and tell me."}


class Model:
    """A scripted model (a refund verdict quoting the ticket) and a downstream that is down
    until ``fixed`` is set."""

    def __init__(self) -> None:
        self.fixed = False
        self.provider = ScriptedModel(self.answer, model="scripted-1")
        self.notified: list[str] = []

    def notify(self, params: dict, *, idempotency_key: str) -> dict:
        if not self.fixed:
            raise ConnectionError("the notification service is down")
        self.notified.append(params["ticket"])
        return {"ok": True}

    def answer(self, request: Any) -> str:
        text = request.messages[-1].content
        ticket = next((t for t in QUOTES if f"Ticket {t}:" in text), "D1")
        return json.dumps({"label": "refund", "confidence": 0.72,
                           "amount": AMOUNTS.get(ticket, 20), "quote": QUOTES.get(ticket, "")})


def integration(model: Model):
    refund = make_integration().actions[0]
    notify = ActionSpec(name="notify", handler=model.notify, when="input.ticket_id == 'D1'",
                        params={"ticket": "input.ticket_id"})
    spec = make_integration(grounding=GroundingSpec(quote_fields=("quote",),
                                                    source_fields=("body",)),
                            actions=(refund, notify))
    # The console's pages are under test, not eval-first go-live (tests/eval/test_signoff.py).
    return spec.model_copy(update={"rollout": spec.rollout.model_copy(
        update={"require_signoff": False})})


def seed(store: Store) -> tuple[Model, dict[str, str]]:
    """Fill ``store``; answer the model (to fix D1 before a redrive) and ticket -> event id."""
    model = Model()
    pipeline = Pipeline(integration(model), store, provider=model.provider)
    ids = {t["ticket_id"]: pipeline.process(t).event_id for t in [*TICKETS, BROKEN]}
    for name, role in USERS.items():
        add_user(store, name, PASSWORD, role, actor="seed")
    # Spend on earlier days, so the day chart has a shape.
    now = time.time()
    with store.write() as conn:
        for day in range(1, 8):
            for tenant, usd in (("acme", 0.4 * day), ("globex", 0.25 * (8 - day))):
                conn.execute(insert(events).values(
                    id=f"old-{day}-{tenant}", integration="refunds",
                    idempotency_key=f"old-{day}-{tenant}", tenant=tenant, state="succeeded",
                    stage="", reason="", path="ai", model="scripted-1", cost_usd=usd,
                    created_at=now - day * 86400, updated_at=now - day * 86400))
    return model, ids


def console_app(store: Store, model: Model) -> FastAPI:
    """The app as ``seamline serve`` builds it (plain-http cookies: tests talk http)."""
    return create_app([integration(model)], store, providers={"refunds": model.provider},
                      allow_anonymous=True, secure_cookies=False)


# What a console meets in production: ids as long as the store allows, reasons and names
# longer than a phone is wide, unbroken strings (a URL, a token), a multi-line e-mail, and
# hostile text (a script in the body, HTML in a quote) that must arrive on the page escaped.
LONG_ID = "evt_" + "0123456789abcdef" * 2 + "a1b2"  # 40 characters, the column's width
LONG_DEAD = "evt_" + "fedcba9876543210" * 2 + "c3d4"
LONG_INTEGRATION = "lead_intake_for_the_enterprise_sales_team_emea_north"
UNBROKEN = "https://tracking.example.com/" + "x7Qz" * 60
HOSTILE_BODY = ("Hello team,\n\nI was charged twice for the <b>Pro</b> plan & \"quoted\" invoice "
                "INV-2026-000123456789.\n\n<script>alert('console')</script>\n\nTracking: "
                + UNBROKEN + "\n\nThanks,\n[PERSON_1]")
HTML_QUOTE = "the <b>Pro</b> plan & \"quoted\" invoice"
LONG_REASON = ("the amount 1280.00 EUR is above the approval threshold of 100.00 for this "
               "integration, and the model's confidence 0.41 is below 0.60: a person decides; "
               "reference " + "R" * 120)


def seed_hostile(store: Store) -> dict[str, Any]:
    """Add an action waiting for review and a dead letter with long, unbroken and hostile
    text, recorded as the runtime records them (event row, outbox row, audit story) but for
    an integration this server does not run. Returns their ids."""
    from seamline.audit import AuditEntry, append
    from seamline.store.tables import dead_letters, outbox

    now = time.time()
    data = {"message_id": "MSG-" + "9" * 36, "subject": "Re: <script>alert(1)</script> refund",
            "from_email": "[EMAIL_1]", "body": HOSTILE_BODY}
    output = {"intent": "refund", "urgency": "high", "confidence": 0.41,
              "summary": "Customer reports a double charge and wants one refunded; " * 3,
              "evidence": ["charged twice", HTML_QUOTE], "tags": ["billing", "refund", UNBROKEN]}
    with store.write() as conn:
        for eid, state, stage, reason in (
                (LONG_ID, "awaiting_approval", "", LONG_REASON),
                (LONG_DEAD, "dead_lettered", "actions",
                 "the CRM answered 502: " + UNBROKEN + " <img src=x onerror=alert(2)>")):
            conn.execute(insert(events).values(
                id=eid, integration=LONG_INTEGRATION, idempotency_key=eid, tenant="acme",
                state=state, stage=stage, reason=reason, path="ai", input=json.dumps(data),
                output=json.dumps(output), prompt_version="p-0123456789abcdef",
                model="claude-sonnet-4-5", cost_usd=0.0123, created_at=now - 60,
                updated_at=now - 30))
        outbox_id = conn.execute(insert(outbox).values(
            idempotency_key="k-" + LONG_ID, event_id=LONG_ID, integration=LONG_INTEGRATION,
            action="escalate_to_a_human_with_the_full_context_attached",
            params=json.dumps({"ticket_id": data["message_id"], "note": UNBROKEN,
                               "amount": 1280.0}),
            status="awaiting_approval", approval_reason=LONG_REASON, created_at=now - 60,
            updated_at=now - 60)).inserted_primary_key[0]
        conn.execute(insert(dead_letters).values(
            event_id=LONG_DEAD, integration=LONG_INTEGRATION, stage="actions",
            reason="the CRM answered 502", detail=json.dumps({"error": UNBROKEN}),
            payload=json.dumps(data), created_at=now - 30))
        append(conn, [
            AuditEntry(LONG_ID, LONG_INTEGRATION, "ingest", {
                "input": data, "idempotency_key": LONG_ID, "tenant": "acme",
                "pii_redacted": ["EMAIL", "PERSON"], "truncated": False}),
            AuditEntry(LONG_ID, LONG_INTEGRATION, "output", {
                "output": output, "valid": True, "error": "", "cost_usd": 0.0123, "path": "ai"}),
            AuditEntry(LONG_ID, LONG_INTEGRATION, "state", {
                "state": "awaiting_approval", "reason": LONG_REASON}),
            AuditEntry(LONG_ID, LONG_INTEGRATION, "custom_check", {
                "note": "<script>alert(3)</script>", "score": 3}),
            AuditEntry(LONG_DEAD, LONG_INTEGRATION, "dead_letter", {
                "stage": "actions", "reason": "the CRM answered 502: " + UNBROKEN}),
        ], now=now)
    return {"outbox_id": int(outbox_id), "event": LONG_ID, "dead": LONG_DEAD}


def seed_in_doubt(store: Store, outbox_ids: tuple[int, ...]) -> None:
    """Leave these waiting refunds *in doubt*, as the outbox leaves an action whose worker
    died between sending it and recording the result (``_Outbox._hold``): the intent kept
    (``intent_at``/``intent_by``), one attempt made, the doubt as the reason, and an
    ``action_in_doubt`` entry in the audit trail. (tests/actions/test_in_doubt.py gets there
    by killing a real send; the console only reads the state it leaves.)"""
    from sqlalchemy import select, update

    from seamline.audit import AuditEntry, append
    from seamline.store.tables import outbox

    now = time.time()
    at = time.strftime("%H:%M:%S", time.gmtime(now - 90))
    sentence = f"in doubt: may have run at {at}, worker 1151 died"
    with store.write() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.id.in_(outbox_ids))).all()
        for row in rows:
            conn.execute(update(outbox).where(outbox.c.id == row.id).values(
                intent_at=now - 90, intent_by="elsewhere:1151/seamline-worker-0", attempts=1,
                approval_reason=sentence, updated_at=now))
        append(conn, [AuditEntry(row.event_id, row.integration, "action_in_doubt", {
            "action": row.action, "idempotency_key": row.idempotency_key,
            "intent_at": now - 90, "intent_by": "elsewhere:1151/seamline-worker-0",
            "attempts": 1, "resolution": "waits for a person", "reason": sentence})
            for row in rows], now=now)
