"""What the stages of one event's path hand each other: typed, immutable records.

Each stage takes one of these and returns the next one, or a typed failure
(:class:`Refusal`) that the path turns into a dead letter. Nothing else passes between
stages: a stage never reads another stage's attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seamline.actions import OutboxItem, PlannedAction, Trust
from seamline.inference import CostReservation
from seamline.ingest import IngestedEvent
from seamline.outputs import GroundingReport
from seamline.prompt import RenderedPrompt
from seamline.rollout import FlagState
from seamline.runtime._results import EventResult

Timings = dict[str, float]  # milliseconds per layer, filled as the event goes


@dataclass(frozen=True, slots=True)
class Received:
    """An event as it arrived, before anything was checked.

    ``rerun``: its row already exists (a dead letter from ingest, redriven) and is
    rewritten in place, so the event keeps its id and its story.
    """

    event_id: str
    raw: Any
    submitted_by: str = ""  # "via:name", for the audit trail
    rerun: bool = False


@dataclass(frozen=True, slots=True)
class Refusal:
    """A stage before the model refused the event: it is dead-lettered at ``stage``."""

    stage: str
    reason: str
    # Ingest ran out of its CPU budget before it had looked at all of the text: none of it
    # may be kept in the clear, so it is sealed whole in the vault (redrive opens it).
    unscanned: bool = False


@dataclass(frozen=True, slots=True)
class Ingested:
    """Layer 1's result, and the rollout flag's decision for this event."""

    ev: IngestedEvent
    flag: FlagState
    use_ai: bool
    shadow: bool = False  # rollout.mode shadow: the model answers too, and acts nowhere


@dataclass(frozen=True, slots=True)
class Retrieved:
    """The input with the documents an answer may cite, and what the audit records of it."""

    data: dict[str, Any]
    found: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Prompted:
    """Layer 2's result: the prompt as it will be sent, and the input it was rendered from
    (shorter than the input when the context window made it cut)."""

    rendered: RenderedPrompt
    data: dict[str, Any]
    tokens: int
    truncated: bool = False  # a text field was cut, with a visible marker, to fit


@dataclass(frozen=True, slots=True)
class Admission:
    """A recorded event with its estimate reserved: everything answering it needs.

    ``prompt`` is None on the baseline path (the flag kept the event off the model).
    """

    event_id: str
    ev: IngestedEvent
    data: dict[str, Any]
    prompt: RenderedPrompt | None
    reservation: CostReservation | None
    timings: Timings = field(default_factory=dict)
    shadow: bool = False  # the model runs watched: the baseline answers and acts

    @property
    def path(self) -> str:
        if self.shadow:
            return "shadow"
        return "ai" if self.prompt is not None else "baseline"


@dataclass(frozen=True, slots=True)
class Inference:
    """What layers 3 and 4 made of an event (the model's calls, or the baseline's answer).

    ``output`` is None on failure; then ``stage`` and ``error`` say where and why, and
    ``retryable`` / ``over_budget`` say whether waiting can help.
    """

    output: dict[str, Any] | None = None
    error: str = ""
    stage: str = ""
    cost_usd: float = 0.0
    calls: tuple[dict[str, Any], ...] = ()
    model: str = ""
    retryable: bool = False  # transient: the provider down or rate limited
    over_budget: bool = False  # a repair (or check) call was refused by a cost cap
    reservations: tuple[CostReservation, ...] = ()  # the extra calls' estimates
    grounding: GroundingReport | None = None
    # On the shadow path: the model's answer and the actions it would have run (the
    # ``shadow`` audit entry), beside the baseline's answer that acts.
    shadow: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """Layer 5 planned: the actions the output asks for, each with its approval reason."""

    actions: tuple[PlannedAction, ...] = ()
    trust: Trust | None = None  # what Seamline found about the output, for the audit

    @property
    def awaiting(self) -> int:
        return sum(1 for p in self.actions if p.approval_reason)

    @property
    def pending(self) -> int:
        return len(self.actions) - self.awaiting


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where an event settles after its output is known: a state, and why."""

    state: str
    stage: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome as written (the second commit), and what acting on it needs."""

    admission: Admission
    inference: Inference
    outcome: Outcome
    fallback: dict[str, Any] | None = None
    items: tuple[OutboxItem, ...] = ()
    awaiting: int = 0

    def settled(self, outcome: Outcome) -> Decision:
        return Decision(self.admission, self.inference, outcome, self.fallback, self.items,
                        self.awaiting)

    def result(self) -> EventResult:
        a, o = self.admission, self.outcome
        return EventResult(a.event_id, o.state, o.reason, o.stage, a.path, self.inference.output,
                           self.fallback, None, self.inference.cost_usd, a.timings, self.awaiting)
