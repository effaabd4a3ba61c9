"""The one HTTP seam every outbound connector goes through.

Timeouts on every call, and 429/503 retried after the wait the vendor asks for
(Retry-After) or a capped, fully jittered exponential backoff, within a bounded budget:
beyond it the caller gets a retryable :class:`VendorUnavailable` and the outbox retries later.

Every path is checked before anything is sent: it must be relative to the base URL and
stay under it. httpx would use an absolute URL as it is, ignoring the base URL, and drop
the host of ``//evil.example/x``; a path built from model output must never get that far.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from typing import Any, NoReturn
from urllib.parse import unquote

import httpx

from seamline.backoff import Backoff
from seamline.connectors._errors import BadParams, VendorUnavailable

RETRY_STATUSES = frozenset({429, 503})
MAX_BACKOFF_S = 30.0  # the longest wait without a Retry-After


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: a number or an HTTP date; None if absent or garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class VendorHTTP:
    """An httpx client for one vendor: base URL, fixed headers, timeouts, bounded backoff.

    ``sleep`` and ``transport`` are seams for tests (a real local server is preferred).
    Secrets travel in ``headers`` or ``auth`` and are never logged nor put in errors.
    """

    def __init__(self, connector: str, base_url: str, *, headers: Mapping[str, str] | None = None,
                 auth: httpx.Auth | tuple[str, str] | None = None, timeout_s: float = 10.0,
                 retry_budget_s: float = 30.0, max_retries: int = 4, backoff_s: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.connector = connector
        self.retry_budget_s, self.max_retries, self.backoff_s = retry_budget_s, max_retries, backoff_s
        self._sleep = sleep
        self.client = httpx.Client(base_url=base_url.rstrip("/"), headers=dict(headers or {}),
                                   auth=auth, timeout=httpx.Timeout(timeout_s),
                                   transport=transport, follow_redirects=False)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send once, or again after a 429/503 while the budget allows; returns any other reply.

        ``path`` is refused (:class:`BadParams`, nothing sent) unless :meth:`check_path`
        accepts it.
        """
        self.check_path(method, path)
        waited, backoff = 0.0, Backoff(self.backoff_s, MAX_BACKOFF_S)
        for attempt in range(self.max_retries + 1):
            response = self._send(method, path, **kwargs)
            if response.status_code not in RETRY_STATUSES:
                return response
            asked = retry_after_seconds(response.headers.get("retry-after"))
            wait = asked if asked is not None else backoff.delay(attempt)
            if attempt >= self.max_retries or waited + wait > self.retry_budget_s:
                said = f"asked us to wait {asked:g} s" if asked is not None else "gave no Retry-After"
                raise VendorUnavailable(
                    f"{self.connector} answered {response.status_code} to {method} {path} "
                    f"{attempt + 1} time(s) and {said}, beyond this connector's retry budget "
                    f"({self.retry_budget_s:g} s, {self.max_retries} retries); the action will be "
                    "retried later.", connector=self.connector, status=response.status_code,
                    sent=False, retry_after=asked)
            waited += wait
            self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def check_path(self, method: str, path: str) -> None:
        """BadParams unless ``path`` is a relative path that keeps the base URL's origin and path.

        It must start with a single ``/``, hold no backslash, fragment, whitespace or
        control character, and no ``.`` or ``..`` segment (percent-encoded or not); the URL
        it makes with the base URL must keep its scheme, host, port and base path.
        """
        if not isinstance(path, str):
            self._refuse(method, path, "it is not text")
        if not path.startswith("/") or path.startswith("//"):
            self._refuse(method, path, "it is not a path starting with a single /")
        if any(c in path for c in "\\#") or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in path):
            self._refuse(method, path, "it holds a backslash, a #, a space or a control character")
        for part in path.partition("?")[0].split("/"):
            if _decoded(part) in {".", ".."}:
                self._refuse(method, path, "it has a . or .. segment")
        base = self.client.base_url
        try:
            url = self.client.build_request(method, path).url
        except httpx.InvalidURL:
            self._refuse(method, path, "it does not make a valid URL")
        if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port) or \
                not (url.raw_path.partition(b"?")[0] + b"/").startswith(base.raw_path):
            self._refuse(method, path, f"it would leave the base URL {base}")

    def _refuse(self, method: str, path: object, why: str) -> NoReturn:
        shown = repr(path) if len(repr(path)) <= 200 else repr(path)[:200] + "…"
        raise BadParams(f"{self.connector} refused to send {method} {shown}: {why}.",
                        connector=self.connector, sent=False)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.client.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # The request never left: sending again cannot act twice.
            raise VendorUnavailable(f"{self.connector} could not be reached at "
                                    f"{self.client.base_url}: {type(exc).__name__}.",
                                    connector=self.connector, sent=False) from exc
        except httpx.TransportError as exc:
            # The request may have arrived and been acted on: the outcome is unknown.
            raise VendorUnavailable(f"{self.connector} did not answer {method} {path} "
                                    f"({type(exc).__name__}); it may or may not have acted.",
                                    connector=self.connector, sent=None) from exc

    def close(self) -> None:
        self.client.close()


def _decoded(part: str) -> str:
    """``part`` percent-decoded until it no longer changes (``%252e`` is ``.`` twice removed)."""
    for _ in range(5):
        once = unquote(part)
        if once == part:
            break
        part = once
    return part
