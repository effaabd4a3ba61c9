"""``POST /v1/webhooks/{source}``: vendors' deliveries, authenticated by their signatures.

No API key here (vendors cannot send ours); the signature is the authentication. The
route reads the body under the size cap and hands it to the WebhookReceiver; every
refusal is logged with its source and reason, never the body nor a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from seamline.edges import WebhookReceiver, WebhookRefused
from seamline.integration import Integration
from seamline.queue import JobQueue
from seamline.runtime import Pipeline
from seamline.server._body import read_capped
from seamline.server._errors import ApiRefusal
from seamline.store import Store

log = logging.getLogger("seamline.webhooks")


def add_webhook_routes(app: FastAPI, integrations: Iterable[Integration], store: Store,
                       queue: JobQueue, pipelines: Mapping[str, Pipeline],
                       max_body_bytes: int) -> WebhookReceiver:
    """Mount the webhook route for every webhook source the integrations declare."""
    receiver = WebhookReceiver(integrations, store, queue, pipelines)

    @app.post("/v1/webhooks/{source}", summary="Receive a vendor's webhook delivery",
              description="Verified by the vendor's signature scheme, recorded once per vendor "
                          "event id, queued for the workers: 202 with the event id.")
    async def receive(source: str, request: Request) -> JSONResponse:
        try:
            if not receiver.has(source):
                # Names nothing: which vendors this server takes is not a stranger's business.
                raise ApiRefusal(404, "no such webhook source")
            body = await read_capped(request, receiver.body_limit(source, max_body_bytes))
            # The URL and method too: Twilio and HubSpot sign them.
            answer = await run_in_threadpool(receiver.receive, source, body,
                                             dict(request.headers), url=str(request.url),
                                             method=request.method)
        except WebhookRefused as exc:
            log.warning("webhook %s refused (%d): %s", source, exc.status, exc.sentence)
            extra = {"event_id": exc.event_id} if exc.event_id else {}
            raise ApiRefusal(exc.status, exc.sentence, **extra) from None
        except ApiRefusal as exc:
            log.warning("webhook %s refused (%d): %s", source[:100], exc.status, exc.sentence)
            raise
        if answer.status == 200 and answer.body.get("duplicate"):
            log.info("webhook %s: delivery %s is a duplicate of event %s", source,
                     answer.body["delivery_id"], answer.body["event_id"])
        return JSONResponse(answer.body, status_code=answer.status)

    return receiver
