"""Every error the HTTP service answers is JSON ``{"error": "<sentence>"}``, never a traceback."""

from __future__ import annotations

import logging
import math
import sys
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from seamline.errors import StoreBusy

log = logging.getLogger("seamline.server")

# The store failing to answer (connection refused or dropped, SQLite locked past its busy
# timeout, a pool exhausted outside Store): the caller can retry, the server is not broken.
_STORE_UNAVAILABLE: tuple[type[Exception], ...] = (
    StoreBusy, sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def store_errors() -> tuple[type[Exception], ...]:
    """Those errors, and the drivers' own OperationalError for statements run on the DBAPI
    connection directly (SQLite's BEGIN IMMEDIATE, the store's fast statements). A driver
    counts once imported (a store on it is open), so none is imported here for nothing."""
    drivers = tuple(module.OperationalError for module in
                    map(sys.modules.get, ("sqlite3", "psycopg", "psycopg2"))
                    if module is not None and isinstance(getattr(module, "OperationalError", None),
                                                         type))
    return _STORE_UNAVAILABLE + drivers


def store_unavailable(exc: BaseException) -> tuple[str, dict[str, str]]:
    """The sentence and headers of a 503 for a store that did not answer (nothing private)."""
    wait = max(1, math.ceil(exc.retry_after)) if isinstance(exc, StoreBusy) else 1
    what = ("the store is busy: every connection is in use" if isinstance(exc, StoreBusy)
            else "the store could not be reached or is locked")
    return f"{what}; try again in {wait} s", {"Retry-After": str(wait)}


class ApiRefusal(Exception):
    """Raised inside a route to answer a 4xx (or 5xx) with a sentence and optional extra fields."""

    # Positional-only, so an extra field may be called anything (even "headers").
    def __init__(self, status: int, sentence: str, headers: dict[str, str] | None = None, /,
                 **extra: Any) -> None:
        super().__init__(sentence)
        self.status, self.sentence, self.headers, self.extra = status, sentence, headers, extra


def error_response(status: int, sentence: str, headers: dict[str, str] | None = None, /,
                   **extra: Any) -> JSONResponse:
    return JSONResponse({"error": sentence, **extra}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiRefusal)
    async def _refusal(_request: Request, exc: ApiRefusal) -> JSONResponse:
        return error_response(exc.status, exc.sentence, exc.headers, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            sentence = f"there is no route {request.method} {request.url.path}"
        elif exc.status_code == 405:
            sentence = f"{request.url.path} does not accept {request.method}"
        else:
            sentence = str(exc.detail)
        return error_response(exc.status_code, sentence, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
                 for e in exc.errors()]
        return error_response(422, "the request is invalid (" + "; ".join(parts) + ")")

    async def _store(request: Request, exc: Exception) -> JSONResponse:
        # Only the driver's class and first line: a statement's parameters may hold input.
        cause = getattr(exc, "orig", None) or exc
        log.warning("store unavailable on %s %s: %s: %s", request.method, request.url.path,
                    type(cause).__name__, str(cause).splitlines()[0][:200] if str(cause) else "")
        sentence, headers = store_unavailable(exc)
        return error_response(503, sentence, headers)

    for kind in store_errors():
        app.add_exception_handler(kind, _store)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal error")
