"""``POST /v1/feedback``: ground truth for an event, from a reviewer or a service key.

A thin layer over ``seamline.eval._feedback.record_truth``: 404 for an unknown event,
422 for truth that does not fit the output schema (nothing is recorded then), 200 with
what was recorded. The actor in the audit trail is the signed-in user or the key's label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from seamline.access import AccessControl, Role, User
from seamline.errors import InputInvalid, NotFound
from seamline.eval import TruthRefused, record_truth
from seamline.ingest import check_value
from seamline.integration import Integration
from seamline.server._errors import ApiRefusal
from seamline.store import Store
from seamline.store.tables import events


class FeedbackBody(BaseModel):
    """The expected output of one event, or some of its fields (only those are scored)."""

    event_id: str = Field(min_length=1)
    truth: dict[str, Any]


class FeedbackAnswer(BaseModel):
    event_id: str
    integration: str
    truth: dict[str, Any]
    source: str
    actor: str
    created_at: float


class _Error(BaseModel):
    error: str


def add_feedback_routes(app: FastAPI, store: Store, access: AccessControl,
                        integrations: Mapping[str, Integration] | Iterable[Integration]) -> None:
    """Mount ``POST /v1/feedback``; the served integrations give the output schemas to check."""
    specs = (dict(integrations) if isinstance(integrations, Mapping)
             else {s.name: s for s in integrations})
    def record(body: FeedbackBody, actor: str) -> dict[str, Any]:
        with store.read() as conn:
            name = conn.execute(select(events.c.integration)
                                .where(events.c.id == body.event_id)).scalar()
        recorded = record_truth(store, body.event_id, body.truth, source="api", actor=actor,
                                integration=specs.get(name or ""))
        return recorded.as_dict()

    @app.post("/v1/feedback", summary="Record the ground truth of an event",
              response_model=FeedbackAnswer,
              responses={s: {"model": _Error} for s in (401, 403, 404, 422)},
              description="The expected output (or some of its fields) of an event, for "
                          "accuracy over time and the production eval. The latest word wins.")
    async def feedback(body: FeedbackBody,
                       user: User = Depends(access.api(Role.REVIEWER, anonymous_ok=True)),  # noqa: B008
                       ) -> dict[str, Any]:
        try:
            # The decoder's rules (no NUL, no lone surrogate, bounded depth and numbers):
            # PostgreSQL refuses a NUL in text, which must be a 422, not a 500.
            check_value({"event_id": body.event_id, "truth": body.truth})
        except InputInvalid as exc:
            raise ApiRefusal(422, str(exc)) from None
        try:
            return await run_in_threadpool(record, body, user.username)
        except NotFound as exc:
            raise ApiRefusal(404, str(exc)) from None
        except TruthRefused as exc:
            raise ApiRefusal(422, str(exc)) from None
