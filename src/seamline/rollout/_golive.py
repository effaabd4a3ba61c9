"""Layer 7, rollout: eval-first go-live. No flag goes above 0% until a person has signed off
the integration's golden set and the integration, as declared now, passes it.

The golden set is the spec. ``seamline eval signoff`` records who signed off which set
(table ``eval_signoffs``: its content hash, size, coverage and the score it must reach);
``seamline eval run`` records each golden run (``eval_runs``, kind ``golden``) with the
set's hash, the prompt version and the model it ran. Before ``start_rollout``, ``flip`` or a
plan's gated or canary stage puts a flag above 0%, :func:`go_live_problem` reads both: the
integration's latest sign-off, its golden file hashed again (an edit voids the sign-off),
and the newest run of that hash with the current prompt version and model, whose score must
reach the sign-off's bar with no PII in any prompt. Shadow (0% on the acting path) needs none.

This lives in the rollout layer, not in ``seamline.eval``: the eval imports the runtime,
which imports this layer, and the check only reads two tables and hashes a file.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from seamline.errors import ConfigError, SeamlineError
from seamline.integration import Integration, load_integration
from seamline.prompt import PromptTemplate
from seamline.rollout._flags import parse_state
from seamline.store import Store
from seamline.store.tables import eval_runs, eval_signoffs, integrations

GOLDEN = "golden"  # eval_runs.kind of a recorded golden run


@dataclass(frozen=True, slots=True)
class SignOff:
    """One recorded sign-off of a golden set, as stored."""

    id: int
    integration: str
    golden_path: str
    golden_hash: str
    golden_version: str
    examples: int
    hand_rated: int
    min_score: float
    coverage: float | None
    details: dict[str, Any]
    signed_by: str
    created_at: float


@dataclass(frozen=True, slots=True)
class GoldenRun:
    """One recorded ``eval run`` of a golden set: what ran, and how it scored."""

    id: int
    integration: str
    golden_hash: str
    golden_path: str
    prompt_version: str
    model: str
    score: float  # the headline, a fraction 0..1
    leaked: int  # examples whose prompt held PII (no_pii_leak == 0)
    substituted: bool  # a provider other than the route's (--provider) answered
    examples: int
    created_at: float


def golden_hash(path: Path | str) -> str:
    """The SHA-256 of the golden file's bytes: any edit, even a re-rating, changes it."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except FileNotFoundError:
        raise ConfigError(f"The golden set {path} does not exist.") from None


def prompt_version(integration: Integration) -> str:
    """The version the runtime stamps on every event (a hash of the templates and params)."""
    p = integration.prompt
    return PromptTemplate(p.user, p.system, p.params).version


def model_identity(integration: Integration) -> str:
    """``provider:model``; for a model fitted on-device from labelled examples, with a hash of
    that file too, since new examples make another model under the same name."""
    route = integration.model
    ident = f"{route.provider}:{route.model}"
    if route.examples is not None:
        path = Path(route.examples)
        if not path.is_absolute() and integration.source_path is not None:
            path = integration.source_path.parent / path
        if path.is_file():
            ident += "@" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return ident


def latest_signoff(store: Store, integration: str) -> SignOff | None:
    """The integration's newest sign-off (a new one supersedes the old)."""
    c = eval_signoffs.c
    with store.read() as conn:
        row = conn.execute(select(eval_signoffs).where(c.integration == integration)
                           .order_by(c.created_at.desc(), c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return SignOff(row.id, row.integration, row.golden_path, row.golden_hash, row.golden_version,
                   row.examples, row.hand_rated, row.min_score, row.coverage,
                   json.loads(row.details or "{}"), row.signed_by, row.created_at)


def golden_runs(store: Store, integration: str, *, limit: int = 200) -> list[GoldenRun]:
    """The integration's recorded golden runs, newest first."""
    c = eval_runs.c
    with store.read() as conn:
        rows = conn.execute(select(eval_runs).where(c.integration == integration, c.kind == GOLDEN)
                            .order_by(c.created_at.desc(), c.id.desc()).limit(limit)).all()
    out = []
    for r in rows:
        d = json.loads(r.details or "{}")
        out.append(GoldenRun(r.id, r.integration, str(d.get("golden_hash", "")),
                             str(d.get("golden_path", "")), str(d.get("prompt_version", "")),
                             str(d.get("model", "")), float(d.get("score_fraction", 0.0)),
                             int(d.get("leaked", 0)), bool(d.get("substituted", False)),
                             r.examples, r.created_at))
    return out


def _ref(integration: Integration) -> str:
    """How a command names the integration: its file when it has one."""
    if integration.source_path is not None:
        return shlex.quote(str(integration.source_path))
    return "MODULE:ATTR"


def _db(store: Store) -> str:
    """``--db`` naming this store in a suggested command (never a URL's password)."""
    if store.dialect == "sqlite" and ":memory:" not in store.url:
        return " --db " + shlex.quote(store.url.removeprefix("sqlite:///"))
    return ' --db "$SEAMLINE_DB"'


def _day(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def go_live_problem(store: Store, integration: Integration) -> str | None:
    """Why the integration may not go above 0% yet, as one sentence saying what to run; None
    when a sign-off stands and the current prompt version and model pass its golden set."""
    if not integration.rollout.require_signoff:
        return None
    name, ref, db = integration.name, _ref(integration), _db(store)
    signoff = latest_signoff(store, name)
    if signoff is None:
        return (f"{name} has no signed-off golden set, so its flag stays at 0% (shadow mode "
                f"is allowed): run `seamline eval signoff GOLDEN.jsonl --integration {ref} "
                f"--by YOUR_NAME --min-score 0.9{db}`, then `seamline eval run {ref} --golden "
                f"GOLDEN.jsonl{db}`.")
    path = shlex.quote(signoff.golden_path)
    rerun = f"`seamline eval run {ref} --golden {path}{db}`"
    again = (f"`seamline eval signoff {path} --integration {ref} --by YOUR_NAME "
             f"--min-score {signoff.min_score:g}{db}`")
    if not Path(signoff.golden_path).is_file():
        return (f"The golden set {signoff.golden_path} that {signoff.signed_by} signed off for "
                f"{name} is not on this machine, so Seamline cannot check it is unchanged: "
                f"run this where the file is, or sign off its new place with {again}.")
    now_hash = golden_hash(signoff.golden_path)
    if now_hash != signoff.golden_hash:
        return (f"The golden set {signoff.golden_path} changed since {signoff.signed_by} signed "
                f"it off on {_day(signoff.created_at)} (hash {signoff.golden_hash[:12]} → "
                f"{now_hash[:12]}), which voids the sign-off: have it signed off again with "
                f"{again}, then run {rerun}.")
    version, model = prompt_version(integration), model_identity(integration)
    runs = [r for r in golden_runs(store, name) if r.golden_hash == signoff.golden_hash
            and r.prompt_version == version and r.model == model]
    own = [r for r in runs if not r.substituted]
    if not own:
        why = (" (the recorded ones used a substituted provider, --provider)" if runs else "")
        return (f"No eval run of {name} on its signed-off golden set {signoff.golden_path} is "
                f"recorded for prompt version {version} and model {model}{why}: run {rerun}.")
    last = own[0]
    if last.leaked:
        return (f"The latest eval run of {name} on {signoff.golden_path} ({_day(last.created_at)}) "
                f"let PII reach the model's prompt on {last.leaked} example(s): fix the redaction "
                f"and run {rerun} again.")
    if last.score < signoff.min_score:
        return (f"The latest eval run of {name} on {signoff.golden_path} (prompt version "
                f"{version}, model {model}, {_day(last.created_at)}) scored {last.score:.1%}, "
                f"below the {signoff.min_score:.1%} the sign-off by {signoff.signed_by} "
                f"declares: improve the integration and run {rerun} again.")
    return None


def _declared(store: Store, name: str) -> Integration | None:
    """The integration's declaration, from the file it last ran from, when that is here."""
    with store.read() as conn:
        src = conn.execute(select(integrations.c.source)
                           .where(integrations.c.name == name)).scalar()
    if src and Path(src).is_file():
        try:
            return load_integration(src)
        except SeamlineError:
            return None
    return None


def owner_of(store: Store, flag: str) -> str | None:
    """The name of the integration this store knows whose AI-path flag ``flag`` is, if any."""
    from seamline.rollout._schedule import get_plan  # the plan says whose flag it is first

    plan = get_plan(store, flag)
    if plan is not None:
        return plan.integration
    with store.read() as conn:
        rows = conn.execute(select(integrations.c.name, integrations.c.source)).all()
    for name, _ in rows:
        if flag == f"{name}.ai":
            return str(name)
    for name, src in rows:  # a flag the integration names itself (rollout.flag)
        spec = _declared(store, name) if src else None
        if spec is not None and spec.flag_name == flag:
            return str(name)
    return None


def check_go_live(store: Store, integration: Integration | str | None, *, flag: str,
                  value: str | float) -> None:
    """Raise a ConfigError saying what to run when ``value`` puts ``flag`` above 0% before
    the integration may go live; nothing for 0% / off, or for a flag no integration owns.

    ``integration`` may be the declaration, its name, or None (then the flag's owner is
    looked up). A name whose declaration is not at hand cannot be checked, so it is refused.
    """
    state = parse_state(flag, value)
    if state.mode == "off" or (state.mode == "percent" and state.percent <= 0):
        return
    if integration is None or integration == "":
        integration = owner_of(store, flag)
        if integration is None:
            return  # a plain feature flag: no integration on this store reads it
    spec = integration if isinstance(integration, Integration) else _declared(store, integration)
    if spec is None:
        raise ConfigError(
            f"Seamline cannot check that {integration} may go live: its declaration is not at "
            "hand (it never ran on this store from a file here, or it was declared in Python); "
            f"name its file, e.g. `seamline rollout start path/to/integration.yaml`, or pass "
            f"the Integration itself from Python. Setting {flag} to 0% needs no check.")
    problem = go_live_problem(store, spec)
    if problem is not None:
        raise ConfigError(problem)
