"""Layer 3, inference: turning the vendors' SDK exceptions into Seamline's classified errors.

Both official SDKs raise the same shapes (APIStatusError with a status and the HTTP
response, APITimeoutError, APIConnectionError, APIResponseValidationError), so one
function classifies either; the retry policy then reads only ``retryable``.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from types import ModuleType
from typing import Any, TypedDict

from seamline.errors import (
    AuthenticationFailed,
    ContextTooLong,
    MalformedResponse,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
)

_CONTEXT_HINTS = ("context length", "context window", "prompt is too long", "too many tokens",
                  "maximum context", "context_length_exceeded")


class _Fields(TypedDict, total=False):
    """The keyword arguments every :class:`ProviderError` takes."""

    provider: str
    model: str
    status: int | None
    retry_after: float | None


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # an HTTP date; a garbled one is no answer, and must not make classify raise
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


def _body_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
    return str(getattr(exc, "message", "") or exc)


def classify(exc: Exception, sdk: ModuleType, *, provider: str, model: str) -> ProviderError:
    """The Seamline error for an SDK exception; never raises itself."""
    kw: _Fields = {"provider": provider, "model": model}
    if isinstance(exc, sdk.APITimeoutError):
        return ProviderUnavailable(f"{provider} did not answer within the timeout", **kw)
    if isinstance(exc, sdk.APIConnectionError):
        return ProviderUnavailable(f"could not reach {provider}: {exc}", **kw)
    if isinstance(exc, sdk.APIResponseValidationError):
        return MalformedResponse(f"{provider} answered with a body its API does not allow", **kw)
    # Both SDKs' APIStatusError carries ``status_code: int`` and the HTTP ``response``.
    status: int | None = getattr(exc, "status_code", None)
    if status is None:
        if isinstance(exc, ValueError):  # an undecodable JSON body
            return MalformedResponse(f"{provider} answered with malformed JSON: {exc}", **kw)
        return ProviderUnavailable(f"{provider} failed: {type(exc).__name__}: {exc}", **kw)
    response = getattr(exc, "response", None)
    retry_after = retry_after_seconds(getattr(response, "headers", None))
    message = _body_message(exc)
    kw.update({"status": status, "retry_after": retry_after})
    text = f"{provider} answered {status}: {message}"
    if status == 429:
        return RateLimited(text, **kw)
    if status in (401, 403):
        return AuthenticationFailed(text, **kw)
    if status == 413 or any(h in message.lower() for h in _CONTEXT_HINTS):
        return ContextTooLong(text, **kw)
    if status in (408, 409) or status >= 500:  # 529 is Anthropic's "overloaded"
        return ProviderUnavailable(text, **kw)
    return RequestRejected(text, **kw)
