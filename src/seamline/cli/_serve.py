"""``seamline serve``: the integrations behind an HTTP API (FastAPI on uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from seamline.cli._common import DbOption, console, fail, store_for
from seamline.cli._run import show_problems
from seamline.integration import load_integration
from seamline.preflight import check
from seamline.server import DEFAULT_LATENCY_BUDGET_S, DEFAULT_MAX_BODY_BYTES, create_app


def serve_cmd(
    integration: Annotated[list[str], typer.Argument(
        help="integration.yaml/.toml, or module:attr; one or more")],
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    db: DbOption = None,
    latency_budget: Annotated[float, typer.Option(
        help="Seconds a caller waits for the model before getting the baseline's answer")
    ] = DEFAULT_LATENCY_BUDGET_S,
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body accepted")
                              ] = DEFAULT_MAX_BODY_BYTES,
    allow_anonymous: Annotated[bool, typer.Option(
        help="Serve without API keys (otherwise SEAMLINE_API_KEYS must hold at least one)")] = False,
    workers: Annotated[int, typer.Option(
        help="Background workers in this process for POST …/events (0: run 'seamline worker')")
    ] = 2,
    poll: Annotated[bool, typer.Option(
        help="Also run the integrations' poll sources in this process (one server only)")
    ] = False,
    insecure_cookies: Annotated[bool, typer.Option(
        help="Session cookies without Secure, for a console on plain http other than "
             "localhost (development only: serve it behind TLS in production)")] = False,
    trusted_proxy: Annotated[list[str] | None, typer.Option(
        help="Address or CIDR of a reverse proxy whose X-Forwarded-For names the client "
             "(repeatable); from any other peer the header is ignored")] = None,
    docs: Annotated[bool, typer.Option(
        help="Serve Swagger UI at /docs from local assets (needs swagger-ui-bundle)")] = False,
    max_workers: Annotated[int, typer.Option(
        min=1, max=1024, help="Threads answering requests that touch the store; the store's "
                              "connection pool is sized to match (PostgreSQL: mind its "
                              "max_connections across processes)")] = 32,
):
    """Serve integrations over HTTP: POST /v1/integrations/{name}/invoke and …/events,
    GET /v1/events/{id}, webhooks, /metrics, and the reviewers' console at /console.

    Prints the console's address; /healthz answers while the process lives, /readyz only
    while the store and the queue answer too."""
    import uvicorn

    specs = [load_integration(target) for target in integration]
    for spec in specs:
        if any(p.level == "error" for p in check(spec)):
            show_problems(spec)
            fail(f"{spec.name} cannot go live until the problems above are fixed.", 2)
    store = store_for(db)
    try:
        app = create_app(specs, store, allow_anonymous=allow_anonymous,
                         max_body_bytes=max_body_bytes, latency_budget_s=latency_budget,
                         background_workers=workers, secure_cookies=not insecure_cookies,
                         trusted_proxies=trusted_proxy or (), docs=docs,
                         max_workers=max_workers)
        console.print(f"Serving {', '.join(s.name for s in specs)} on http://{host}:{port} "
                      f"(OpenAPI at /openapi.json{', Swagger UI at /docs' if docs else ''}); "
                      f"the reviewers' console is at http://{host}:{port}/console.")
        pollers = _start_pollers(specs, store) if poll else []
        try:
            # uvicorn would take X-Forwarded-For from 127.0.0.1 on its own; the app decides,
            # from --trusted-proxy only.
            uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)
        finally:
            for poller in pollers:
                poller.stop()
    finally:
        store.close()


def _start_pollers(specs, store) -> list:
    """One poller thread per integration with poll sources (see ``seamline poll``)."""
    import threading

    from seamline.edges import Poller

    pollers = [Poller(s, store) for s in specs if any(src.kind == "poll" for src in s.sources)]
    for poller in pollers:
        threading.Thread(target=poller.run, name="seamline-poll", daemon=True).start()
    return pollers
