"""``Pipeline``: one integration's stages built once, and every way into them.

The path itself reads top to bottom in ``_path.py``; this class builds its stages from
the integration (the gateway around the provider, the vault, the flags, the caps) and
offers the public entry points every shape calls: ``process`` (and its two halves
``admit`` / ``answer``), ``process_batch``, ``resume``, ``release``, ``redrive``,
``give_up``, ``finish_actions``.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import update

from seamline.actions import ActionRunner
from seamline.audit import start_checkpoints
from seamline.inference import Provider, build_gateway, text_fields
from seamline.ingest import TokenCounter, Vault, default_counter
from seamline.integration import Integration
from seamline.prompt import PromptTemplate
from seamline.rollout import Flags, Gates, StageModes
from seamline.runtime import _batch, _path, _redrive, _resume
from seamline.runtime._act import Act
from seamline.runtime._baseline import Baseline
from seamline.runtime._decide import Decide, PlanActions
from seamline.runtime._grounding_calls import Grounding
from seamline.runtime._infer import Infer
from seamline.runtime._ingest import Ingest
from seamline.runtime._over_soft import over_soft_infer
from seamline.runtime._prompting import Prompt
from seamline.runtime._receive import Receive
from seamline.runtime._records import EventLog
from seamline.runtime._results import EventResult, new_event_id
from seamline.runtime._retrieval import Retrieve, Retriever
from seamline.runtime._shadow import Shadow
from seamline.runtime._spend import Spend
from seamline.runtime._types import Admission, Received, Refusal
from seamline.store import Store, insert_ignore
from seamline.store.tables import integrations
from seamline.telemetry import start_event


class Pipeline:
    """Runs events of one integration through every layer against one store.

    ``provider`` replaces the route's providers (tests, the emulator); otherwise the
    route's providers are wrapped in every policy the route declares (retries, breakers,
    rate limits, fallbacks, cache). ``dry_run``: nothing is acted on (evals, replays).
    """

    def __init__(self, integration: Integration, store: Store, *, provider: Provider | None = None,
                 vault: Vault | None = None, flags: Flags | None = None,
                 counter: TokenCounter | None = None, dry_run: bool = False) -> None:
        self.integration, self.store, self.dry_run = integration, store, dry_run
        self.provider: Provider = provider or build_gateway(integration, store)
        warm = getattr(self.provider, "warm", None)
        if callable(warm):
            warm()  # train an on-device model now, not inside the first event
        self.vault = vault or Vault(store)
        self.flags = flags or Flags(store)
        if not dry_run:  # evals run on throwaway stores: their chains are nobody's record
            start_checkpoints(store)  # signs the audit chain's head when a key is configured
        counter = counter or default_counter()
        p = integration.prompt
        template = PromptTemplate(p.user, p.system, p.params)
        log = EventLog(integration, store, self.vault, template)
        spend = Spend(integration, store, counter)
        prompt = Prompt(integration, template, counter, text_fields(integration))
        judge = integration.grounding.judge
        judge_provider = (build_gateway(integration.model_copy(update={"model": judge.route}),
                                        store) if judge is not None and judge.route else None)
        grounding = (Grounding(integration, self.provider, spend, prompt.output_schema,
                               judge_provider) if integration.grounding.active else None)
        self.retriever = Retriever(integration, store.url) if integration.retrieval else None
        infer = Infer(integration, self.provider, spend, prompt.output_schema, grounding)
        infer.over_soft = over_soft_infer(integration, store, provider, spend,
                                          prompt.output_schema, judge_provider)
        baseline = Baseline(integration)
        modes = StageModes(integration, store)
        plan = PlanActions(integration, Gates(integration, self.flags), modes)
        self.stages = _path.Stages(
            ingest=Ingest(integration, self.flags, modes),
            retrieve=Retrieve(self.retriever) if self.retriever is not None else None,
            prompt=prompt,
            receive=Receive(integration, store, self.vault, log, spend),
            infer=infer,
            baseline=baseline,
            plan=plan,
            shadow=Shadow(integration, infer, plan, baseline),
            decide=Decide(integration, store, log, spend, dry_run=dry_run),
            act=Act(ActionRunner(store, integration, self.vault), log),
            log=log, spend=spend, dry_run=dry_run)
        self._register()

    @property
    def baseline(self) -> Baseline:
        """The rollout's baseline (``answer(data)``, ``available``, ``on_failure``)."""
        return self.stages.baseline

    def _register(self) -> None:
        src = str(self.integration.source_path or "")
        with self.store.write() as conn:
            if conn.execute(update(integrations).where(integrations.c.name == self.integration.name)
                            .values(source=src, updated_at=time.time())).rowcount == 0:
                insert_ignore(conn, integrations, {"name": self.integration.name, "source": src,
                                                   "updated_at": time.time()})

    # ---- the path of one event -------------------------------------------------------------

    def process(self, raw: Any, event_id: str | None = None, *,
                defer: frozenset[str] = frozenset(), submitted_by: str = "") -> EventResult:
        """Run one event (a dict, or a JSON text) to exactly one terminal state.

        ``event_id`` is given by the job queue: if that event was already recorded (a worker
        died with it), it is continued, not run again. ``defer`` names the stages whose
        transient failures end in ``retrying`` (the queue tries again later) rather than in
        the dead-letter queue. ``submitted_by`` ("via:name") is who sent the event; the
        audit trail's ingest (or dead-letter) entry names them.
        """
        trace = start_event(self.integration.name)
        result = None
        try:
            run = trace.bind(self._process) if trace is not None else self._process
            result = run(raw, event_id, defer, submitted_by)
            return result
        finally:
            if trace is not None:
                trace.finish(result)

    def _process(self, raw: Any, event_id: str | None, defer: frozenset[str],
                 submitted_by: str) -> EventResult:
        if event_id is not None and self.stages.log.state_of(event_id) is not None:
            return self.resume(event_id, defer=defer)
        admitted = self.admit(raw, event_id, submitted_by=submitted_by)
        if isinstance(admitted, EventResult):
            return admitted
        return self.answer(admitted, defer=defer)

    def admit(self, raw: Any, event_id: str | None = None, *,
              submitted_by: str = "") -> Admission | EventResult:
        """Validate, redact, render, dedupe, record and reserve (the first commit): what
        answering needs, or the event's end when it stops here (dead-lettered with a reason,
        a duplicate, over a cost cap)."""
        admitted = _path.admit(self.stages, Received(event_id or new_event_id(), raw,
                                                     submitted_by))
        self.stages.spend.announce()  # a refusal or a soft cap just committed may alert
        return admitted

    def answer(self, admission: Admission, *, defer: frozenset[str] = frozenset()) -> EventResult:
        """From an admitted event to its outcome: the model (or the baseline), then act."""
        return _path.answer(self.stages, admission, defer)

    def refuse(self, raw: Any, reason: str, stage: str = "ingest", *,
               submitted_by: str = "") -> EventResult:
        """Dead-letter something that cannot even be read as an event (a bad JSON line)."""
        return self.stages.log.refuse(Received(new_event_id(), raw, submitted_by),
                                      Refusal(stage, reason))

    # ---- other ways in -----------------------------------------------------------------------

    def process_batch(self, raws: list[Any], *, poll_interval: float = 30.0,
                      timeout: float = 24 * 3600.0, sleep=time.sleep) -> list[EventResult]:
        """Run events through the provider's batch API, at its discount, one result each
        (see ``seamline.runtime._batch``)."""
        return _batch.process_batch(self.stages, self.provider, raws, poll_interval=poll_interval,
                                    timeout=timeout, sleep=sleep)

    def resume(self, event_id: str, *, defer: frozenset[str] = frozenset()) -> EventResult:
        """Finish an event a crashed process left mid-way, without acting twice."""
        return _resume.resume(self.stages, event_id, defer=defer)

    def release(self, event_id: str) -> EventResult:
        """Try an event waiting in the escalation queue (over budget) again, under today's caps."""
        return _resume.release(self.stages, event_id)

    def stranded(self, older_than_s: float = 300.0) -> list[str]:
        """Events of this integration left mid-way by a process that stopped (oldest first)."""
        return _resume.stranded(self.store, self.integration.name, older_than_s)

    def redrive(self, event_id: str, *, defer: frozenset[str] = frozenset(),
                actor: str = "") -> EventResult:
        """Run a dead-lettered event again with the integration as it is now."""
        return _redrive.redrive(self.stages, event_id, defer=defer, actor=actor)

    def give_up(self, event_id: str, raw: Any, reason: str, stage: str = "queue") -> EventResult:
        """Dead-letter an event the queue could not finish (its job kept dying)."""
        return _redrive.give_up(self.stages, event_id, raw, reason, stage)

    def finish_actions(self, event_id: str, path: str, *,
                       defer: bool = False) -> tuple[str, str, str]:
        """Run an event's pending actions (after an approval, say) and settle its state:
        (state, stage, reason)."""
        o = self.stages.act.finish(event_id, path, defer=defer)
        return o.state, o.stage, o.reason

