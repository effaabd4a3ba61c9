"""``eval sample``: real (redacted) production events drawn into a golden set for rating.

A golden set drawn from traffic stays close to what the integration really sees. Each
sampled line carries the model's answer as ``output`` and ``"rated": false`` until a
person confirms or corrects it; recorded ground truth comes in already rated. Rejected
approvals come in with the reviewer's comment: rated when a ground truth says what was
right, otherwise to be rated (a rejection says what was wrong, not what is right).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select

from seamline.actions import rejections_as_examples
from seamline.durations import seconds
from seamline.errors import ConfigError
from seamline.runtime import DUPLICATE, TERMINAL
from seamline.store import Store
from seamline.store.tables import audit_log, events, ground_truth


def parse_since(text: str, now: float | None = None) -> float:
    """``7d``, ``12h``, ``30m`` back from now, or an ISO date/time (UTC unless it says)."""
    if text.strip()[-1:].isalpha():  # 7d, 12h: a duration back from now
        try:
            return (now if now is not None else time.time()) - seconds(text)
        except ConfigError:
            pass
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"--since {text!r} must be a duration like 7d or 12h, or a date like "
                          "2026-11-01.") from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None


def _draw(rows: Sequence[Any], n: int, seed: int, strategy: Literal["stratified", "random"]) -> list[Any]:
    rng = random.Random(seed)
    if strategy == "random":
        return rng.sample(rows, min(n, len(rows)))
    # Stratified: take turns across states, so rare outcomes (dead letters, baselines) are
    # rated too instead of being drowned by the successes.
    groups: dict[str, list[Any]] = {}
    for r in rows:
        groups.setdefault(r.state, []).append(r)
    for g in groups.values():
        rng.shuffle(g)
    drawn: list[Any] = []
    while len(drawn) < n and any(groups.values()):
        for state in sorted(groups):
            if groups[state] and len(drawn) < n:
                drawn.append(groups[state].pop())
    return drawn


def sample_events(store: Store, integration: str, n: int, *, since: float | None = None,
                  seed: int = 0, strategy: Literal["stratified", "random"] = "stratified"
                  ) -> list[dict[str, Any]]:
    """Golden-set lines: ``n`` drawn events, then every ground truth and rejection joined."""
    if n < 0:
        raise ConfigError("--from-audit must be zero or more events.")
    cols = events.c
    q = (select(cols.id, cols.state, cols.input, cols.output, cols.fallback_output, cols.model,
                cols.prompt_version, cols.created_at)
         .where(cols.integration == integration, cols.state.in_([s for s in TERMINAL if s != DUPLICATE]),
                cols.input.is_not(None))
         .order_by(cols.id))
    if since is not None:
        q = q.where(cols.created_at >= since)
    gq = select(ground_truth).where(ground_truth.c.integration == integration)
    if since is not None:
        gq = gq.where(ground_truth.c.created_at >= since)
    with store.read() as conn:
        rows = conn.execute(q).all()
        truths = {t.event_id: t for t in conn.execute(gq).all()}
        truth_inputs = {r.id: r for r in conn.execute(
            select(cols.id, cols.input, cols.state, cols.model, cols.prompt_version)
            .where(cols.id.in_(list(truths)))).all()} if truths else {}
    lines: dict[str, dict[str, Any]] = {}
    for r in _draw(rows, n, seed, strategy):
        output = _loads(r.output)
        lines[r.id] = {"id": r.id, "input": _loads(r.input),
                       "output": output if output is not None else _loads(r.fallback_output),
                       "rated": False, "source": "audit", "state": r.state, "model": r.model,
                       "prompt_version": r.prompt_version}
    for rej in rejections_as_examples(store, integration):
        if since is not None and rej["created_at"] < since or rej["input"] is None:
            continue
        line = lines.setdefault(rej["event_id"], {"id": rej["event_id"], "input": rej["input"],
                                                   "output": rej["output"], "rated": False})
        line.update(source="rejection", rejected_output=rej["output"],
                    rejection={"action": rej["action"], "params": rej["params"],
                               "reviewer": rej["reviewer"], "comment": rej["comment"]})
    for edit in _edits(store, integration, since):  # a person's corrections, with their why
        found = lines.get(edit["event_id"])
        if found is not None:
            line = found
        else:
            with store.read() as conn:
                edited = conn.execute(select(cols.id, cols.input, cols.output)
                                      .where(cols.id == edit["event_id"])).first()
            if edited is None or edited.input is None:
                continue
            line = lines.setdefault(edited.id, {"id": edited.id, "input": _loads(edited.input),
                                                "output": _loads(edited.output), "rated": False,
                                                "source": "edit"})
        line.setdefault("edits", []).append(edit["edit"])
    for event_id, t in truths.items():
        ev = truth_inputs.get(event_id)
        if ev is None or ev.input is None:
            continue  # truth about an event this store no longer holds: nothing to replay
        line = lines.setdefault(event_id, {"id": event_id, "input": _loads(ev.input), "state": ev.state,
                                           "model": ev.model, "prompt_version": ev.prompt_version})
        joined = "rejection+ground_truth" if line.get("source") == "rejection" else "ground_truth"
        line.update(output=_loads(t.truth), rated=True, source=joined,
                    truth={"source": t.source, "actor": t.actor, "at": t.created_at})
    return list(lines.values())


def write_sample(lines: list[dict[str, Any]], out: Path, *, integration: str, version: str = "") -> Path:
    """A golden-set JSONL with a header naming where and when it was drawn."""
    out.parent.mkdir(parents=True, exist_ok=True)
    header = {"golden": {"version": version or time.strftime("%Y-%m-%d", time.gmtime()),
                         "integration": integration, "drawn_at": time.time()}}
    with out.open("w", encoding="utf-8") as fh:
        for item in [header, *lines]:
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    return out


def _edits(store: Store, integration: str, since: float | None) -> list[dict[str, Any]]:
    """Approvals a person edited first (the ``approval`` audit entries that say so): the
    action, its parameters before and after, who and why; the gated stage counts them."""
    q = (select(audit_log.c.event_id, audit_log.c.payload, audit_log.c.created_at)
         .where(audit_log.c.integration == integration, audit_log.c.kind == "approval")
         .order_by(audit_log.c.seq))
    if since is not None:
        q = q.where(audit_log.c.created_at >= since)
    out = []
    with store.read() as conn:
        for event_id, payload, _at in conn.execute(q):
            entry = _loads(payload)
            if isinstance(entry, dict) and entry.get("edited"):
                out.append({"event_id": event_id, "edit": {
                    "action": entry.get("action"), "params_before": entry.get("params_before"),
                    "params_after": entry.get("params_after"),
                    "reviewer": entry.get("reviewer"), "comment": entry.get("comment", "")}})
    return out
