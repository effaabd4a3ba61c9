"""Seeding a store with days of real events (through the Pipeline and a ScriptedModel) and truth.

The Pipeline stamps events with the wall clock; to lay out a week, each day's events are
run now and then re-dated (``events.created_at``, ``dead_letters.created_at``) to that day.
That one UPDATE is the only row written by hand: state, output, prompt version and model
are the Pipeline's own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from conftest import Ticket, make_integration
from pydantic import Field
from sqlalchemy import update

from seamline.eval._feedback import record_truth
from seamline.eval._production import ProductionScore, production_eval
from seamline.inference import ScriptedModel
from seamline.integration import Integration, PromptSpec
from seamline.runtime import Pipeline
from seamline.store.tables import dead_letters, events

DAY = 86400.0
PER_DAY = 20


class LangTicket(Ticket):
    language: str = Field(default="en", min_length=2)


BODIES = {
    "en": ("Please refund order {n}, it arrived broken.", "Where is my parcel {n}? Tracking is stuck."),
    "de": ("Bitte erstatten Sie Bestellung {n} (refund), sie kam kaputt an.",
           "Wo ist mein Paket {n}? Die Sendungsverfolgung steht."),
    "ru": ("Пожалуйста, верните деньги за заказ {n}, он пришёл сломанным.",
           "Где моя посылка {n}? Отслеживание не обновляется."),
}


def integration(prompt_user: str = "Ticket {{ ticket_id }}: {{ body }}") -> Integration:
    return make_integration(
        input_schema=LangTicket, actions=(),
        pii={"ticket_id": "allow", "tenant": "allow", "customer": "allow", "body": "allow",
             "language": "allow"},
        prompt=PromptSpec(system="Classify.", user=prompt_user))


def tickets(day: int, languages: list[str], tag: str | None = None) -> list[dict]:
    """Half refunds, half not, in the given languages (one per ticket); ``tag`` overrides
    the language field (a caller that does not say which language it sends)."""
    out = []
    for i, lang in enumerate(languages):
        refund = i % 2 == 0
        body = BODIES[lang][0 if refund else 1].format(n=1000 + day * 100 + i)
        out.append({"ticket_id": f"T{day:02d}-{i:03d}", "customer": f"c{i % 4}", "body": body,
                    "language": tag or lang})
    return out


def model(answer: Callable[[dict], str | None], name: str = "scripted") -> ScriptedModel:
    """A model answering ``answer(input)`` as the label; None answers with broken JSON."""
    def reply(req) -> str:
        label = answer(req.source)
        if label is None:
            return "I think it is a refund, probably"
        return json.dumps({"label": label, "confidence": 0.9, "amount": 20.0, "quote": ""})
    return ScriptedModel(reply, model=name)


def truthful(data: dict) -> str:
    """Right on every ticket but the first of each day: about 95%."""
    right = "refund" if int(data["ticket_id"][-3:]) % 2 == 0 else "other"
    if data["ticket_id"].endswith("-000"):
        return "other"
    return right


def english_only(data: dict) -> str:
    """Right in English, always 'other' in German (so German refunds are missed)."""
    return truthful(data) if data["language"] == "en" else "other"


def run_day(store, spec: Integration, provider: ScriptedModel, day: int, start: float,
            languages: list[str], tag: str | None = None) -> list[str]:
    """Run a day of tickets through the Pipeline, date them to that day, record their truth."""
    pipeline = Pipeline(spec, store, provider=provider)
    ids = []
    batch = tickets(day, languages, tag)
    for i, raw in enumerate(batch):
        result = pipeline.process(raw)
        at = start + day * DAY + (i + 0.5) * DAY / len(batch)
        with store.write() as conn:
            conn.execute(update(events).where(events.c.id == result.event_id)
                         .values(created_at=at, updated_at=at))
            conn.execute(update(dead_letters).where(dead_letters.c.event_id == result.event_id)
                         .values(created_at=at))
        label = "refund" if i % 2 == 0 else "other"
        record_truth(store, result.event_id, {"label": label}, source="import", actor="seed",
                     integration=spec)
        ids.append(result.event_id)
    return ids


def baseline_week(store, spec: Integration, start: float) -> list[ProductionScore]:
    """Seven days of English tickets, mostly right, each scored by the daily production eval."""
    scores = []
    for day in range(7):
        run_day(store, spec, model(english_only), day, start, ["en"] * PER_DAY)
        scores.append(production_eval(store, spec, window_s=DAY, now=start + (day + 1) * DAY))
    return scores


def week_start() -> float:
    """Midnight UTC nine days ago: the baseline week and the window under test are all past."""
    now = time.time()
    return now - now % DAY - 9 * DAY
