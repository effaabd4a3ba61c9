"""Running events through a provider's batch API: admitted one by one, sent as one batch.

A mixin of :class:`~seamline.runtime.Pipeline`, kept apart so the path of one event
(``_pipeline.py``) stays readable top to bottom.
"""

from __future__ import annotations

import time
from typing import Any

from seamline.errors import ConfigError, InferenceError
from seamline.inference import ModelReply, run_batch
from seamline.runtime._results import EventResult, _Inference


class BatchMixin:
    def process_batch(self, raws: list[Any], *, poll_interval: float = 30.0,
                      timeout: float = 24 * 3600.0, sleep=time.sleep) -> list[EventResult]:
        """Run events through the provider's batch API, at its discount, one result each.

        Events are admitted (validated, redacted, recorded, reserved) one by one; those on
        the AI path go out as one batch; each result then continues like a single call
        (parse, repairs as single calls, actions). An item the batch failed retryably is
        asked again as a single call; one it rejected is dead-lettered with the reason.
        """
        admitted: list[tuple[int, tuple]] = []
        results: list[EventResult | None] = []
        for raw in raws:
            got = self._admit(raw)
            if isinstance(got, EventResult):
                results.append(got)
            elif got[3] is None:  # the baseline path: nothing to batch
                results.append(self._answer(*got))
            else:
                admitted.append((len(results), got))
                results.append(None)
        if admitted:
            batcher = getattr(self.provider, "batch_provider", lambda: self.provider)()
            items = [(a[0], self._request(self._messages(a[3]), a[2], 0)) for _, a in admitted]
            try:
                outcomes = run_batch(batcher, items, poll_interval=poll_interval, timeout=timeout,
                                     sleep=sleep)
            except ConfigError:
                raise
            except InferenceError as exc:  # the batch as a whole failed: ask one by one
                outcomes = {event_id: exc for event_id, _ in items}
            for index, (event_id, ev, data, rendered, reservation, timings) in admitted:
                outcome = outcomes.get(event_id)
                if isinstance(outcome, ModelReply):
                    inf = self._infer(event_id, ev, data, rendered, timings, first=outcome)
                elif isinstance(outcome, InferenceError) and not outcome.retryable:
                    inf = _Inference(error=f"the model call failed: {type(outcome).__name__}: "
                                           f"{outcome}", stage="inference",
                                     calls=[{"attempt": 0, "batch": True,
                                             "error": f"{type(outcome).__name__}: {outcome}"}])
                else:
                    inf = self._infer(event_id, ev, data, rendered, timings)
                results[index] = self._decide(event_id, ev, data, inf, inf.output, "ai",
                                              reservation, timings)
        return [r for r in results if r is not None]
