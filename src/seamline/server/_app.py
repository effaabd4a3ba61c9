"""The FastAPI application: invoke an integration, read an event, check health.

Routes are thin: the Invoker runs the pipeline, the store answers reads.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import select, text

from seamline.access import AccessControl, Role
from seamline.audit import story
from seamline.console import install_console
from seamline.errors import ConfigError
from seamline.inference import Provider
from seamline.integration import Integration
from seamline.queue import JobQueue, Worker
from seamline.runtime import Pipeline
from seamline.server._admission import InFlightLimits, checked_limits
from seamline.server._auth import configured_key_roles
from seamline.server._body import read_capped
from seamline.server._errors import ApiRefusal, install_error_handlers, store_errors
from seamline.server._feedback import add_feedback_routes
from seamline.server._invoke import Invoker, safe_reason, submitter
from seamline.server._metrics import add_metrics_route
from seamline.server._webhooks import add_webhook_routes
from seamline.store import Store
from seamline.store.tables import events, jobs

DEFAULT_MAX_BODY_BYTES = 256 * 1024
DEFAULT_LATENCY_BUDGET_S = 10.0
DEFAULT_MAX_WORKERS = 32
READY_TIMEOUT_S = 2.0
# Starlette runs sessions' lookups, sign-in throttling, webhooks and console pages on
# anyio's thread pool: 40 threads at most (anyio's default), fewer when the in-flight
# limits of those requests add up to less. Besides: readiness (2 threads), password checks
# (4), and a margin for pollers and the queue's lease heartbeat (4).
_ANYIO_THREADS = 40
_OTHER_STORE_THREADS = 2 + 4 + 4
# events.id is a String(40): anything else names no event, and some drivers refuse some
# text outright (PostgreSQL: NUL), which must be a 404, not a 500.
_EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}")


class InvokeAnswer(BaseModel):
    """What an invocation answers; ``source`` says whether the model or the baseline produced it."""

    source: str
    output: dict[str, Any] | None
    event_id: str
    state: str
    reason: str | None = None
    duplicate_of: str | None = None


class Accepted(BaseModel):
    """An event stored for the background workers; ``status_url`` tells what became of it."""

    event_id: str
    state: str
    status_url: str


class ErrorBody(BaseModel):
    error: str
    event_id: str | None = None


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (400, 401, 404, 413, 422, 429, 500, 502, 503)}


def create_app(integrations: dict[str, Integration] | list[Integration], store: Store, *,
               stranded_after_s: float = 300.0,
               api_keys: set[str] | dict[str, Role] | None = None,
               allow_anonymous: bool = False, secure_cookies: bool = True,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
               latency_budget_s: float | None = None,
               latency_budgets: dict[str, float] | None = None,
               providers: dict[str, Provider] | None = None,
               max_workers: int = DEFAULT_MAX_WORKERS, background_workers: int = 0,
               in_flight: Mapping[str, int] | None = None,
               trusted_proxies: Iterable[str] = (), docs: bool = False) -> FastAPI:
    """Build the service; each integration's Pipeline (and local model) is ready before it returns.

    ``latency_budget_s`` is how long a caller waits for the model (default 10 s), overridden
    per integration by ``latency_budgets``; ``providers`` replaces an integration's model (tests).
    ``background_workers`` > 0 also drains the queue that ``POST …/events`` fills, in this
    process (one machine); otherwise run ``seamline worker`` processes.

    Under load: at most ``max_workers`` threads run events, and the store's pool is grown
    so every thread that may touch it gets a connection without waiting; ``in_flight``
    overrides the per-kind limits of requests in flight (see ``_admission.default_limits``),
    past which a request is answered 503 with Retry-After at once. ``trusted_proxies``
    (addresses or CIDRs) are the only peers whose X-Forwarded-For names the client.
    ``docs`` serves Swagger UI at /docs from local assets (``pip install swagger-ui-bundle``).
    """
    specs = list(integrations.values()) if isinstance(integrations, dict) else list(integrations)
    if not specs:
        raise ConfigError("The server needs at least one integration to serve.")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"Two integrations share a name: {', '.join(sorted(names))}.")
    keys = configured_key_roles(api_keys, allow_anonymous=allow_anonymous)
    if max_body_bytes <= 0:
        raise ConfigError(f"The body size limit must be positive, not {max_body_bytes}.")
    default_budget = DEFAULT_LATENCY_BUDGET_S if latency_budget_s is None else latency_budget_s
    budgets = dict(latency_budgets or {})
    for what, seconds in [("server", default_budget), *budgets.items()]:
        if not seconds > 0:
            raise ConfigError(f"The latency budget of {what} must be a positive number of "
                              f"seconds, not {seconds!r}.")
    unknown = set(budgets) - set(names) | set(providers or {}) - set(names)
    if unknown:
        raise ConfigError(f"Latency budgets or providers name unknown integrations: "
                          f"{', '.join(sorted(unknown))}.")
    if max_workers < 1 or background_workers < 0:
        raise ConfigError(f"The server needs at least one event thread and no negative number "
                          f"of background workers, not {max_workers} and {background_workers}.")
    limits = checked_limits(max_workers, in_flight)
    # Every thread that may hold a connection at the same time gets one: none waits for the
    # pool in normal operation, and past that the wait is bounded (StoreBusy, a 503).
    threaded = sum(limits[k] for k in ("invoke", "webhooks", "login", "console", "reads"))
    store.fit_pool(max_workers + background_workers + min(_ANYIO_THREADS, threaded)
                   + _OTHER_STORE_THREADS)

    pool: dict[str, ThreadPoolExecutor | None] = {"executor": None}
    pool_lock = threading.Lock()
    # Readiness checks get threads of their own: a probe must answer when the executor is full.
    ready_pool = ThreadPoolExecutor(2, thread_name_prefix="seamline-ready")
    probing: set[asyncio.Future] = set()

    def executor() -> ThreadPoolExecutor:
        with pool_lock:
            running = pool["executor"]
            if running is None:
                running = ThreadPoolExecutor(max_workers, thread_name_prefix="seamline-event")
                pool["executor"] = running
            return running

    invokers = {
        s.name: Invoker(Pipeline(s, store, provider=(providers or {}).get(s.name)),
                        budgets.get(s.name, default_budget), executor)
        for s in specs
    }

    queue = JobQueue(store, next(iter(invokers.values())).pipeline.vault)
    running_worker: dict[str, Worker | None] = {"worker": None}  # /healthz reads its health

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # Events a previous server left mid-way (it crashed or was killed) are finished in
        # the background: nothing received is lost, and the outbox keeps actions single.
        for invoker in invokers.values():
            for event_id in invoker.pipeline.stranded(older_than_s=stranded_after_s):
                executor().submit(invoker.pipeline.resume, event_id)
        worker, draining = None, None
        if background_workers > 0:
            worker = Worker(store, specs, concurrency=background_workers,
                            pipelines={n: i.pipeline for n, i in invokers.items()})
            running_worker["worker"] = worker
            draining = threading.Thread(target=worker.run, name="seamline-queue", daemon=True)
            draining.start()
        yield
        if worker is not None and draining is not None:
            worker.stop()
            draining.join()
        # Events answered with the baseline are still running: let them reach their state.
        with pool_lock:
            running, pool["executor"] = pool["executor"], None
        if running is not None:
            running.shutdown(wait=True)

    # No /docs or /redoc by default: FastAPI's pages load their scripts from a CDN.
    app = FastAPI(title="Seamline", version="1", lifespan=lifespan, docs_url=None,
                  redoc_url=None, swagger_ui_oauth2_redirect_url=None,
                  description="Invoke Seamline integrations and read what became of each event.")
    install_error_handlers(app)
    if docs:
        _serve_docs(app)

    # One AccessControl for the service and the console: keys (with roles), users, sessions.
    access = AccessControl(store, api_keys=keys, allow_anonymous=allow_anonymous,
                           secure_cookies=secure_cookies, home="/console",
                           trusted_proxies=trusted_proxies)
    access.install(app)
    app.add_middleware(InFlightLimits, limits=limits)  # outermost: sheds before any work
    app.state.access = access  # the console installs its pages with it
    install_console(app, store, access)  # /console: pages for people, behind sign-in
    # Invoking or queueing runs the pipeline and may act downstream: a reviewer's (or an
    # admin key's) business; reading an event is a viewer's.
    auth = [Depends(access.api(Role.REVIEWER, anonymous_ok=True))]
    read_auth = [Depends(access.api(Role.VIEWER, anonymous_ok=True))]

    @app.get("/healthz", summary="Whether the service is up, and what it serves; 503 with a "
                                 "sentence when its in-process workers cannot write the store",
             responses={503: {"model": ErrorBody}})
    async def healthz() -> JSONResponse:
        worker = running_worker["worker"]
        problem = worker.problem if worker is not None else ""
        if problem:
            return JSONResponse({"ok": False, "error": problem, "integrations": sorted(invokers)},
                                status_code=503, headers={"Retry-After": "5"})
        return JSONResponse({"ok": True, "integrations": sorted(invokers)})

    @app.get("/readyz", summary="Whether the service can take work: the store and the queue "
                                "answer", responses={503: {"model": ErrorBody}})
    async def readyz() -> JSONResponse:
        if len(probing) >= 2:  # checks that outlived their probe: do not queue more behind
            checks = {"store": "the checks asked for before have not finished",
                      "queue": "not checked"}
        else:
            checking = asyncio.wrap_future(ready_pool.submit(_readiness, store))
            probing.add(checking)
            checking.add_done_callback(probing.discard)
            try:
                checks = await asyncio.wait_for(asyncio.shield(checking), READY_TIMEOUT_S)
            except TimeoutError:
                checks = {"store": f"no answer within {READY_TIMEOUT_S:g} s",
                          "queue": "not checked"}
        failed = [f"{name}: {said}" for name, said in checks.items() if said != "ok"]
        if failed:
            return JSONResponse({"ok": False, "error": "not ready (" + "; ".join(failed) + ")",
                                 "checks": checks}, status_code=503,
                                headers={"Retry-After": "1"})
        return JSONResponse({"ok": True, "checks": checks})

    async def invoke(name: str, request: Request) -> JSONResponse:
        invoker = invokers.get(name)
        if invoker is None:
            raise ApiRefusal(404, f"there is no integration named {name!r}; this server has "
                                  f"{', '.join(sorted(invokers))}")
        body = await read_capped(request, max_body_bytes)
        status, answer = await invoker.invoke(body, submitter(request))
        return JSONResponse(answer, status_code=status)

    schemas: dict[str, Any] = {}
    for spec in specs:
        schema = spec.input_schema.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))

        async def invoke_one(request: Request, _name: str = spec.name) -> JSONResponse:
            return await invoke(_name, request)

        app.add_api_route(
            f"/v1/integrations/{spec.name}/invoke", invoke_one, methods=["POST"], dependencies=auth,
            summary=f"Invoke {spec.name}", operation_id=f"invoke_{spec.name.replace('-', '_')}",
            description=(spec.checklist.workflow or "") + " Answers within the latency budget; "
                        "after a timeout or failure, with the baseline's answer, marked as such.",
            response_model=InvokeAnswer, responses=_ERRORS,
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": schema}}}})

        async def enqueue_one(request: Request, _name: str = spec.name) -> JSONResponse:
            body = await read_capped(request, max_body_bytes)
            status, answer = await invokers[_name].enqueue(body, queue, submitter(request))
            return JSONResponse(answer, status_code=status)

        app.add_api_route(
            f"/v1/integrations/{spec.name}/events", enqueue_one, methods=["POST"],
            dependencies=auth, status_code=202, summary=f"Queue an event for {spec.name}",
            operation_id=f"enqueue_{spec.name.replace('-', '_')}",
            description="Validates the event, stores it durably (encrypted) and answers 202 "
                        "with its id; workers process it. GET the status_url for its outcome.",
            response_model=Accepted, responses=_ERRORS,
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": schema}}}})

    @app.post("/v1/integrations/{name}/events", dependencies=auth, include_in_schema=False)
    async def enqueue_unknown(name: str, request: Request) -> JSONResponse:
        raise ApiRefusal(404, f"there is no integration named {name!r}; this server has "
                              f"{', '.join(sorted(invokers))}")

    @app.post("/v1/integrations/{name}/invoke", dependencies=auth, include_in_schema=False)
    async def invoke_unknown(name: str, request: Request) -> JSONResponse:
        return await invoke(name, request)

    add_webhook_routes(app, specs, store, queue, {n: i.pipeline for n, i in invokers.items()},
                       max_body_bytes)
    add_feedback_routes(app, store, access, specs)

    @app.get("/v1/events/{event_id}", dependencies=read_auth, responses=_ERRORS,
             summary="What became of one event")
    async def get_event(event_id: str) -> dict[str, Any]:
        if not _EVENT_ID.fullmatch(event_id):
            raise ApiRefusal(404, "there is no such event")
        found = await asyncio.get_running_loop().run_in_executor(executor(), _read_event, store,
                                                                 event_id)
        if found is None:
            raise ApiRefusal(404, f"there is no event {event_id!r}")
        return found

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description,
                              routes=app.routes)
            doc.setdefault("components", {}).setdefault("schemas", {}).update(schemas)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    add_metrics_route(app, store)
    app.state.invokers = invokers
    return app


def _read_event(store: Store, event_id: str) -> dict[str, Any] | None:
    with store.read() as conn:
        row = conn.execute(select(events).where(events.c.id == event_id)).first()
        job = conn.execute(select(jobs).where(jobs.c.event_id == event_id)
                           .order_by(jobs.c.id.desc()).limit(1)).first()
    if row is None:
        if job is None:
            return None
        # Queued, not yet picked up (or its first worker died before recording it).
        return {"event_id": event_id, "integration": job.integration,
                "state": "queued" if job.status == "queued" else job.status,
                "attempts": job.attempts, "last_error": safe_reason(job.last_error),
                "created_at": job.created_at, "updated_at": job.updated_at, "story": []}
    return {
        "event_id": row.id, "integration": row.integration, "state": row.state, "stage": row.stage,
        "reason": safe_reason(row.reason), "path": row.path, "duplicate_of": row.duplicate_of,
        "output": json.loads(row.output) if row.output is not None else None,
        "fallback_output": (json.loads(row.fallback_output)
                            if row.fallback_output is not None else None),
        "created_at": row.created_at, "updated_at": row.updated_at,
        "story": [entry["kind"] for entry in story(store, event_id)],
        **({"attempts": job.attempts, "last_error": safe_reason(job.last_error)} if job else {}),
    }


def _readiness(store: Store) -> dict[str, str]:
    """"ok", or what went wrong, for the store (a trivial query) and the queue (its table)."""
    try:
        with store.read() as conn:
            conn.execute(text("SELECT 1")).scalar_one()
    except store_errors() as exc:
        return {"store": f"it did not answer ({type(exc).__name__})",
                "queue": "not checked"}
    try:
        with store.read() as conn:
            conn.execute(select(jobs.c.id).limit(1)).all()
    except Exception as exc:  # noqa: BLE001 - whatever it is, the queue cannot be read
        return {"store": "ok", "queue": f"the jobs table cannot be read ({type(exc).__name__})"}
    return {"store": "ok", "queue": "ok"}


def _serve_docs(app: FastAPI) -> None:
    """Swagger UI at /docs, its scripts served from this process (never a CDN)."""
    try:  # optional: imported by name, so the type checker need not know the package
        bundle = importlib.import_module("swagger_ui_bundle")
    except ImportError:
        raise ConfigError("API docs (docs=True, --docs) need the Swagger UI assets on this "
                          "machine: pip install swagger-ui-bundle. Seamline never loads them "
                          "from a CDN; /openapi.json is served either way.") from None
    app.mount("/docs/assets", StaticFiles(directory=str(bundle.swagger_ui_path)),
              name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs_page() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} API",
                                   swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/assets/swagger-ui.css",
                                   swagger_favicon_url="/docs/assets/favicon-32x32.png")
