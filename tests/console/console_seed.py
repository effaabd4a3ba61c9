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
    return make_integration(grounding=GroundingSpec(quote_fields=("quote",),
                                                    source_fields=("body",)),
                            actions=(refund, notify))


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
