"""Every error the HTTP service answers is JSON ``{"error": "<sentence>"}``, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("seamline.server")


class ApiRefusal(Exception):
    """Raised inside a route to answer a 4xx (or 5xx) with a sentence and optional extra fields."""

    def __init__(self, status: int, sentence: str, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(sentence)
        self.status, self.sentence, self.headers, self.extra = status, sentence, headers, extra


def error_response(status: int, sentence: str, headers: dict[str, str] | None = None,
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

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal error")
