"""Layer 3, inference: batch mode, for background work that can wait for the providers' discount.

A batch is submitted once, polled until the provider says it has ended, then collected:
one :class:`ModelReply` or classified :class:`ProviderError` per custom id. The providers
(``AnthropicModel``, ``OpenAIModel``) speak their own batch APIs; this module only drives them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import httpx

from seamline.errors import ConfigError, ProviderError, ProviderUnavailable
from seamline.inference._sdk_errors import classify
from seamline.inference._types import ModelReply, ModelRequest

BatchResults = dict[str, "ModelReply | ProviderError"]


@runtime_checkable
class BatchProvider(Protocol):
    """A provider that can also send many requests as one batch, answered later."""

    name: str

    def submit_batch(self, items: list[tuple[str, ModelRequest]]) -> str: ...

    def batch_status(self, batch_id: str) -> str: ...  # "in_progress" | "ended"

    def batch_results(self, batch_id: str) -> BatchResults: ...


def item_error(sdk: ModuleType, status: int, body: Any, *, provider: str,
               model: str) -> ProviderError:
    """The classified error of one failed batch item, exactly as a single call's would be.

    The item's status and error body are dressed as the SDK's own ``APIStatusError``
    so the one classifier decides (a 429 is RateLimited, a 400 RequestRejected …).
    """
    err = body.get("error", body) if isinstance(body, dict) else {}
    message = (err.get("message") if isinstance(err, dict) else None) or f"status {status}"
    response = httpx.Response(status, request=httpx.Request("POST", "https://batch.invalid/"))
    return classify(sdk.APIStatusError(message, response=response, body=body), sdk,
                    provider=provider, model=model)


def run_batch(provider: Any, items: Sequence[tuple[str, ModelRequest]], *,
              poll_interval: float = 30.0, timeout: float = 24 * 3600.0,
              sleep: Callable[[float], None] = time.sleep) -> BatchResults:
    """Submit ``items`` (custom id, request) as one batch, wait for it, and collect the results.

    Every custom id gets a result: a reply, or the classified error of that item (an item
    the provider returned nothing for is ProviderUnavailable, worth resubmitting).
    ``timeout`` counts the time spent waiting between polls; when it runs out,
    :class:`ProviderUnavailable` names the batch so it can be collected later with
    ``provider.batch_results(batch_id)``.
    """
    if not isinstance(provider, BatchProvider):
        raise ConfigError(f"The provider {getattr(provider, 'name', type(provider).__name__)!r} "
                          "has no batch mode; use anthropic or openai for batched work.")
    ids = [custom_id for custom_id, _ in items]
    if len(set(ids)) != len(ids):
        raise ConfigError("Each item of a batch needs its own custom id; some are repeated.")
    if not items:
        return {}
    batch_id = provider.submit_batch(list(items))
    waited = 0.0
    while provider.batch_status(batch_id) != "ended":
        if waited >= timeout:
            raise ProviderUnavailable(
                f"{provider.name} batch {batch_id} had not ended after {timeout:g} s; collect it "
                "later with batch_results", provider=provider.name)
        step = min(poll_interval, max(timeout - waited, 0.0)) or poll_interval
        sleep(step)
        waited += step
    results = provider.batch_results(batch_id)
    missing = {custom_id: ProviderUnavailable(
        f"{provider.name} batch {batch_id} returned no result for {custom_id!r}",
        provider=provider.name) for custom_id in ids if custom_id not in results}
    return {custom_id: results[custom_id] if custom_id in results else missing[custom_id]
            for custom_id in ids}
