"""The rollout's baseline: the function that answered before the model did.

It answers events the flag keeps off the AI path, and gives callers an answer (marked
as the baseline's) when the AI path fails or is too slow. Its answers are validated
against the output schema like the model's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from seamline.ingest import describe_validation
from seamline.integration import Integration, resolve
from seamline.runtime._types import Admission, Inference
from seamline.telemetry import layer_done


class Baseline:
    """The integration's baseline function, or none."""

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        base = integration.source_path.parent if integration.source_path else Path.cwd()
        ref = integration.rollout.baseline
        self.fn: Callable[[dict[str, Any]], Any] | None = (
            resolve(ref, base=base, what="baseline") if ref is not None else None)

    @property
    def available(self) -> bool:
        return self.fn is not None

    @property
    def on_failure(self) -> bool:
        """Whether a failed or late AI answer is replaced by the baseline's for the caller."""
        return self.fn is not None and self.integration.rollout.baseline_on_failure

    def answer(self, data: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
        """(its validated answer, "") or (None, why there is none)."""
        if self.fn is None:
            return None, "the AI path is off and the integration declares no baseline"
        try:
            out = self.fn(data)
            return self.integration.output_schema.model_validate(out).model_dump(mode="json"), ""
        except ValidationError as exc:
            return None, "the baseline's answer " + describe_validation(exc).removeprefix(
                "the event ")
        except Exception as exc:  # noqa: BLE001 - user code: its failure is recorded, not raised
            return None, f"the baseline failed: {type(exc).__name__}: {exc}"

    def run(self, a: Admission) -> Inference:
        """The baseline path's stand-in for layers 3 and 4."""
        t = time.perf_counter()
        output, error = self.answer(a.data)
        a.timings["outputs"] = layer_done("baseline", t)
        return Inference(output=output, error=error, stage="" if output is not None else "baseline")
