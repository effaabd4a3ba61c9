"""An event's audit entries told as sentences, so its timeline reads top to bottom.

One function per entry kind the runtime writes; a kind not known here (a newer runtime,
a plug-in) still gets a sentence naming its kind and its short scalar fields. Every
sentence is plain text: the template escapes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_STATES = {"succeeded": "succeeded", "dead_lettered": "was put in the dead-letter queue",
           "awaiting_approval": "waits for a person to approve an action",
           "retrying": "will be retried", "over_budget": "was held: a spending cap was reached",
           "baseline": "was answered by the baseline", "rejected": "had its action rejected",
           "acting": "is running its actions", "processing": "is being processed",
           "duplicate": "was a duplicate",
           "waiting_credentials": "waits for a connector's credential: nothing was sent, and "
                                  "its actions run once the credential works again"}


def _s(p: dict[str, Any], key: str, default: str = "?") -> str:
    value = p.get(key)
    return default if value is None or value == "" else str(value)


def _usd(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return ""
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.6f}"


def _because(p: dict[str, Any], key: str = "reason") -> str:
    return f" because {p[key]}" if p.get(key) else ""


def _ingest(p: dict[str, Any]) -> str:
    redacted = p.get("pii_redacted") or []
    kinds = (", ".join(map(str, redacted)) if isinstance(redacted, list)
             else ", ".join(f"{k} ({v})" for k, v in redacted.items())
             if isinstance(redacted, dict) else str(redacted))
    who = f" from {p['submitted_by']}" if p.get("submitted_by") else ""
    tenant = f" for tenant {p['tenant']}" if p.get("tenant") else ""
    text = f"Received{who}{tenant} with idempotency key {_s(p, 'idempotency_key')}"
    text += f"; personal data redacted: {kinds}." if kinds else "; no personal data found."
    return text + (" The input was truncated to fit the model's window." if p.get("truncated")
                   else "")


def _prompt(p: dict[str, Any]) -> str:
    tokens = f" ({p['tokens']} tokens)" if p.get("tokens") is not None else ""
    return f"The prompt was rendered with version {_s(p, 'version')}{tokens}."


def _model_call(p: dict[str, Any]) -> str:
    attempt = p.get("attempt")
    nth = f" (attempt {attempt + 1})" if isinstance(attempt, int) else ""
    if p.get("error"):
        return f"The model call{nth} failed: {p['error']}."
    cost = _usd(p.get("cost_usd"))
    latency = p.get("latency_ms")
    took = f" in {latency:,.0f} ms" if isinstance(latency, (int, float)) else ""
    cached = " from the cache" if p.get("cached") else ""
    return (f"{_s(p, 'model', 'The model')} answered{cached}{took}{nth}: "
            f"{_s(p, 'input_tokens', '0')} tokens in, {_s(p, 'output_tokens', '0')} out"
            + (f", {cost}." if cost else "."))


def _grounding(p: dict[str, Any]) -> str:
    quotes = len(p.get("quotes") or [])
    failures = p.get("failures") or []
    if p.get("abstained"):
        head = "Grounding: the model abstained"
    elif p.get("passed"):
        head = "Grounding passed"
    else:
        head = "Grounding failed"
    text = f"{head}; {quotes} quote(s) found in the source"
    if failures:
        text += f"; {len(failures)} failure(s), the first: {failures[0]}"
    return text + "."


def _output(p: dict[str, Any]) -> str:
    path = "the baseline" if p.get("path") == "baseline" else "the model"
    if not p.get("valid", p.get("output") is not None):
        return f"No valid output from {path}" + (f": {p['error']}." if p.get("error") else ".")
    cost = _usd(p.get("cost_usd"))
    return f"A valid output was recorded from {path}" + (f", costing {cost}." if cost else ".")


def _planned(p: dict[str, Any]) -> str:
    actions = [a.get("action", "?") for a in p.get("actions") or [] if isinstance(a, dict)]
    dry = " (a dry run: nothing will run)" if p.get("dry_run") else ""
    if not actions:
        return f"No action was planned{dry}."
    return f"Planned {len(actions)} action(s): {', '.join(map(str, actions))}{dry}."


def _action(p: dict[str, Any]) -> str:
    status = _s(p, "status")
    if status == "waiting_credentials":  # nothing was sent: not an attempt, not a failure
        return (f"Action {_s(p, 'action')} was not sent: it waits for the credential "
                f"{_s(p, 'waiting_for')}" + (f" ({p['error']})" if p.get("error") else "")
                + ".")
    verb = {"done": "ran", "failed": "failed", "pending": "is pending",
            "awaiting_approval": "waits for approval", "rejected": "was rejected"}.get(
        status, f"is {status}")
    attempt = f" on attempt {p['attempt']}" if p.get("attempt") else ""
    text = f"Action {_s(p, 'action')} {verb}{attempt}"
    text += f": {p['error']}" if p.get("error") else ""
    return text + (f" ({p['resolution']})" if p.get("resolution") else "") + "."


def _attempt(p: dict[str, Any]) -> str:
    by = f" by {p['by']}" if p.get("by") else ""
    return (f"Action {_s(p, 'action')}: attempt {_s(p, 'attempt')} started{by}"
            + (f" ({p['resolution']})" if p.get("resolution") else "") + ".")


def _approval(p: dict[str, Any]) -> str:
    decision = str(p.get("decision", "?")).replace("_", " ")
    text = f"Action {_s(p, 'action')} {decision} by {_s(p, 'reviewer')}"
    if p.get("edited_params") or p.get("edited"):
        text += " after an edit"
    return text + (f": {p['comment']}" if p.get("comment") else "") + "."


def _state(p: dict[str, Any]) -> str:
    state = _s(p, "state")
    # The waiting state's reason only repeats what its sentence says.
    because = "" if state == "waiting_credentials" else _because(p)
    return f"The event {_STATES.get(state, f'is now {state}')}{because}."


def _resume(p: dict[str, Any]) -> str:
    if p.get("from_state") == "waiting_credentials" and p.get("credential"):
        return (f"Resumed: the credential {p['credential']} works again, so the actions that "
                "waited for it run now.")
    return f"Resumed from state {_s(p, 'from_state')}."


def _dead_letter(p: dict[str, Any]) -> str:
    return f"Dead-lettered at the {_s(p, 'stage')} stage{_because(p)}."


def _redrive(p: dict[str, Any]) -> str:
    return (f"Redriven by {_s(p, 'actor')} from the {_s(p, 'from_stage')} stage"
            + (f" (it had died because {p['reason']})" if p.get("reason") else "") + ".")


def _flag(p: dict[str, Any]) -> str:
    return f"Flag changed by {_s(p, 'actor')}{_because(p)}."


def _replay(p: dict[str, Any]) -> str:
    changed = p.get("changed_fields") or []
    head = (f"Replayed with prompt {_s(p, 'prompt_version')} and model {_s(p, 'model')} "
            "(nothing was acted on)")
    if p.get("error"):
        return f"{head}: no valid output, {p['error']}."
    return f"{head}: {len(changed)} field(s) changed" + (
        f" ({', '.join(map(str, changed))})." if changed else ".")


def _budget(p: dict[str, Any]) -> str:
    estimate = _usd(p.get("estimate_usd")) or "?"
    if p.get("decision") == "reserved":
        return f"{estimate} was reserved under the spending caps for the model call."
    cap = f" {p['cap']}" if p.get("cap") else ""
    limit = f" ({_usd(p.get('cap_usd'))})" if _usd(p.get("cap_usd")) else ""
    return (f"The spending cap{cap}{limit} {_s(p, 'decision')} a call estimated at "
            f"{estimate}.")


def _rollout(p: dict[str, Any]) -> str:
    state = f"{p.get('percent'):g}%" if p.get("mode") == "percent" and isinstance(
        p.get("percent"), (int, float)) else _s(p, "mode")
    path = "the baseline" if p.get("path") == "baseline" else "the AI path"
    return f"Flag {_s(p, 'flag')} is {state}: this event takes {path}."


def _duplicate(p: dict[str, Any]) -> str:
    return (f"A duplicate of event {_s(p, 'duplicate_of')} (idempotency key "
            f"{_s(p, 'idempotency_key')}); nothing was run again.")


def _retry(p: dict[str, Any]) -> str:
    return f"Will be retried at the {_s(p, 'stage')} stage{_because(p)}."


def _from_state(verb: str) -> Callable[[dict[str, Any]], str]:
    return lambda p: f"{verb} from state {_s(p, 'from_state')}."


def _backfill(p: dict[str, Any]) -> str:
    changed = p.get("changed") or []
    applied = "applied" if p.get("applied") else "not applied"
    return (f"Backfilled with prompt {_s(p, 'prompt_version')}: {len(changed)} field(s) "
            f"changed, {applied}.")


def _feedback(p: dict[str, Any]) -> str:
    who = f" by {p['actor']}" if p.get("actor") else ""
    return f"Ground truth recorded{who} from {_s(p, 'source')}."


def _in_doubt(p: dict[str, Any]) -> str:
    return (f"Action {_s(p, 'action')} is in doubt after {_s(p, 'attempts')} attempt(s)"
            f"{_because(p)}; it {_s(p, 'resolution', 'waits for a person')}.")


def _baseline(p: dict[str, Any]) -> str:
    return "The baseline answered" + (f" (the model had failed: {p['error']})."
                                      if p.get("error") else ".")


def _retrieval(p: dict[str, Any]) -> str:
    docs = p.get("documents") or p.get("hits") or []
    n = len(docs) if isinstance(docs, list) else docs
    return f"Retrieval found {n} document(s)."


_TELL: dict[str, Callable[[dict[str, Any]], str]] = {
    "ingest": _ingest, "prompt": _prompt, "model_call": _model_call, "grounding": _grounding,
    "output": _output, "actions_planned": _planned, "action": _action,
    "action_attempt": _attempt, "approval": _approval, "state": _state,
    "dead_letter": _dead_letter, "redrive": _redrive, "flag": _flag, "replay": _replay,
    "budget": _budget, "rollout": _rollout, "duplicate": _duplicate, "retry": _retry,
    "resume": _resume, "release": _from_state("Released"),
    "backfill": _backfill, "feedback": _feedback, "action_in_doubt": _in_doubt,
    "baseline": _baseline, "retrieval": _retrieval,
}


def sentence(kind: str, payload: Any) -> str:
    """One sentence (or two) saying what this audit entry records."""
    if not isinstance(payload, dict):
        return f"A {kind.replace('_', ' ')} entry."
    tell = _TELL.get(kind)
    if tell is not None:
        try:
            return tell(payload)
        except (TypeError, ValueError, AttributeError, KeyError):
            pass  # a payload of an unexpected shape: say what it holds instead
    facts = [f"{k.replace('_', ' ')} {v}" for k, v in payload.items()
             if isinstance(v, (str, int, float)) and not isinstance(v, bool) and len(str(v)) < 60]
    text = f"A {kind.replace('_', ' ')} entry"
    return (text + ": " + "; ".join(facts[:6]) + "." if facts else text + ".")[:300]
