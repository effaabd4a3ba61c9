"""Reading a request body under a size cap, before the whole of it is in memory."""

from __future__ import annotations

from fastapi import Request

from seamline.server._errors import ApiRefusal


def _too_large(limit: int) -> ApiRefusal:
    return ApiRefusal(413, f"the request body is larger than the limit of {limit} bytes")


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, or a 413 as soon as Content-Length or the bytes streamed so far pass ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ApiRefusal(400, "the Content-Length header is not a number") from None
        if size > limit:
            raise _too_large(limit)
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)
