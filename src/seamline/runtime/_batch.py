"""Running events through a provider's batch API: admitted one by one, sent as one batch.

Each event takes the path of a single event; only its first model call is the batch's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from seamline.errors import ConfigError, InferenceError
from seamline.inference import ModelReply, Provider, run_batch
from seamline.runtime._infer import messages_of
from seamline.runtime._path import Stages, admit, answer
from seamline.runtime._results import EventResult, new_event_id
from seamline.runtime._types import Admission, Inference, Received


def process_batch(s: Stages, provider: Provider, raws: list[Any], *, poll_interval: float = 30.0,
                  timeout: float = 24 * 3600.0,
                  sleep: Callable[[float], None] = time.sleep) -> list[EventResult]:
    """Run events through the provider's batch API, at its discount, one result each.

    Events are admitted (validated, redacted, recorded, reserved) one by one; those on
    the AI path go out as one batch; each result then continues like a single call
    (parse, repairs as single calls, actions). An item the batch failed retryably is
    asked again as a single call; one it rejected is dead-lettered with the reason.
    """
    results: list[EventResult | Admission] = []
    for raw in raws:
        got = admit(s, Received(new_event_id(), raw))
        if isinstance(got, Admission) and (got.prompt is None or (
                got.reservation is not None and got.reservation.over_soft is not None)):
            got = answer(s, got)  # the baseline path, or past a soft cap: not the batch's model
        results.append(got)
    waiting = [(i, r) for i, r in enumerate(results) if isinstance(r, Admission)]
    batched = [a for _, a in waiting]
    if batched:
        batcher = getattr(provider, "batch_provider", lambda: provider)()
        items = [(a.event_id, s.infer.request(messages_of(a.prompt), a.data, 0))
                 for a in batched if a.prompt is not None]
        outcomes: dict[str, Any]
        try:
            outcomes = run_batch(batcher, items, poll_interval=poll_interval, timeout=timeout,
                                 sleep=sleep)
        except ConfigError:
            raise
        except InferenceError as exc:  # the batch as a whole failed: ask one by one
            outcomes = {event_id: exc for event_id, _ in items}
        for index, a in waiting:
            outcome = outcomes.get(a.event_id)
            inference: Inference | None
            if isinstance(outcome, ModelReply):
                inference = s.infer.run(a, first=outcome)
            elif isinstance(outcome, InferenceError) and not outcome.retryable:
                error = f"{type(outcome).__name__}: {outcome}"
                inference = Inference(error=f"the model call failed: {error}", stage="inference",
                                      calls=({"attempt": 0, "batch": True, "error": error},))
            else:
                inference = None  # asked again as a single call
            results[index] = answer(s, a, inference=inference)
    return [r for r in results if isinstance(r, EventResult)]
