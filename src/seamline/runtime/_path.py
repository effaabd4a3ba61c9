"""The path of one event, top to bottom: which stage runs next, and what each typed
failure leads to.

``admit`` runs layers 1-2 and the first commit (received); ``answer`` runs layers 3-5
and the other two (decided, acted). ``Pipeline.process`` is one after the other; the
server calls them apart because its latency budget bounds only the answer. Resume,
redrive, batch, backfill and replay enter the same stages (see their modules).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from seamline.runtime._act import Act
from seamline.runtime._baseline import Baseline
from seamline.runtime._decide import Decide, PlanActions
from seamline.runtime._infer import Infer
from seamline.runtime._ingest import Ingest
from seamline.runtime._prompting import Prompt
from seamline.runtime._receive import Receive
from seamline.runtime._records import EventLog
from seamline.runtime._results import (
    ACTING,
    AWAITING_APPROVAL,
    BASELINE,
    DEAD_LETTERED,
    OVER_BUDGET,
    RETRYING,
    SUCCEEDED,
    EventResult,
)
from seamline.runtime._retrieval import Retrieve
from seamline.runtime._shadow import Shadow
from seamline.runtime._spend import Spend
from seamline.runtime._types import (
    Admission,
    Inference,
    Outcome,
    Plan,
    Prompted,
    Received,
    Refusal,
)
from seamline.telemetry import layer_done


@dataclass(frozen=True, slots=True)
class Stages:
    """One integration's stages, and the collaborators they share, built once per pipeline."""

    ingest: Ingest
    retrieve: Retrieve | None
    prompt: Prompt
    receive: Receive
    infer: Infer
    baseline: Baseline
    plan: PlanActions
    shadow: Shadow
    decide: Decide
    act: Act
    log: EventLog
    spend: Spend
    dry_run: bool = False


def admit(s: Stages, received: Received) -> Admission | EventResult:
    """Layers 1-2 and the first commit: an :class:`Admission` to answer, or the event's
    end (dead-lettered with a reason, a duplicate, over a cost cap)."""
    t = time.perf_counter()
    ingested = s.ingest.run(received.raw)                   # 1: validate, redact, the flag
    if isinstance(ingested, Refusal):
        return s.log.refuse(received, ingested)
    timings = {"ingest": layer_done("ingest", t)}
    data, found = ingested.ev.data, None
    prompted: Prompted | None = None
    if ingested.use_ai and s.retrieve is not None:          # documents an answer may cite
        t = time.perf_counter()
        retrieved = s.retrieve.run(data)
        if isinstance(retrieved, Refusal):
            return s.log.refuse(received, retrieved, ingested.ev)
        data, found = retrieved.data, retrieved.found
        timings["retrieval"] = layer_done("retrieval", t)
    t = time.perf_counter()
    if ingested.use_ai:                                     # 2: render, fit the window
        rendered = s.prompt.run(data)
        if isinstance(rendered, Refusal):
            return s.log.refuse(received, rendered, ingested.ev)
        prompted = rendered
    timings["prompt"] = layer_done("prompt", t)
    return s.receive.run(received, ingested, prompted, found, timings)   # commit 1


def answer(s: Stages, a: Admission, defer: frozenset[str] = frozenset(),
           inference: Inference | None = None) -> EventResult:
    """Layers 3-5 and the other two commits: from a recorded event to its terminal state
    (or ``retrying`` / ``acting`` when a stage in ``defer`` failed transiently).

    ``inference``: the model's part already done (a batch reply, a failed batch item).
    """
    if inference is None and a.shadow:                      # 3-5 watched: the baseline acts
        inference = s.shadow.run(a)
    elif inference is None:                                 # 3-4: model, parse, ground, repair
        inference = s.infer.run(a) if a.prompt is not None else s.baseline.run(a)
    plan = Plan()
    if inference.output is not None:                        # 5: what the output asks to do
        planned = s.plan.run(a, inference)
        if isinstance(planned, Refusal):
            inference = replace(inference, output=None, error=planned.reason, stage="actions")
        else:
            plan = planned
    outcome = outcome_of(a, inference, plan, defer, dry_run=s.dry_run)
    fallback = None
    if outcome.state == DEAD_LETTERED and a.path == "ai" and s.baseline.on_failure:
        # The caller still gets an answer; no action runs on it, since redriving the
        # dead letter later will act on the real output.
        fallback, _ = s.baseline.answer(a.data)
    decision = s.decide.run(a, inference, plan, outcome, fallback)        # commit 2
    if outcome.state == ACTING:
        decision = s.act.run(decision, defer="actions" in defer)         # commit 3
    return s.log.observed(decision.result(), inference.calls)


def outcome_of(a: Admission, inference: Inference, plan: Plan, defer: frozenset[str], *,
               dry_run: bool = False) -> Outcome:
    """Where an event goes once its output (or its failure) is known."""
    if inference.output is None:
        if inference.retryable and inference.stage in defer:
            return Outcome(RETRYING, inference.stage, inference.error)   # the queue tries later
        if inference.over_budget:
            return Outcome(OVER_BUDGET, inference.stage, inference.error)  # waits for a release
        return Outcome(DEAD_LETTERED, inference.stage, inference.error)
    if plan.pending and not dry_run:
        return Outcome(ACTING)
    if plan.awaiting and not dry_run:
        return Outcome(AWAITING_APPROVAL)                                 # a person decides
    return Outcome(SUCCEEDED if a.path == "ai" else BASELINE)
