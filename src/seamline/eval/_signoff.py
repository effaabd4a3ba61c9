"""``eval signoff``: a person signs off a golden set as the spec, before prompt work, and the
golden runs that the rollout's go-live check (``seamline.rollout.go_live_problem``) reads.

A sign-off records the set's content hash (any edit voids it), its size, how many lines a
person rated (``"rated": true``, the mark ``eval sample`` leaves for a person to set; at
least :data:`MIN_HAND_RATED`), the score a golden run must reach, and its **coverage of the
input distribution**, defined as follows.

The strata are the integration's categorical fields: every ``Literal`` field of the output
schema (intent, urgency…), of the input schema, and any field named with ``fields``
(``language``…). For each field, when the store holds at least :data:`MIN_PRODUCTION`
recent events with a value for it (terminal events of the last ``window_s`` seconds, their
answer or the baseline's for output fields), its coverage is the **share of those events
whose value appears in at least one scored golden example**; otherwise (before go-live) it is
the share of the field's declared values that appear in the golden set. The set's coverage
is the weakest field's: a set with every intent but no French e-mail covers French traffic
not at all, and an average would hide that.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from sqlalchemy import select

from seamline.audit import AuditEntry, append
from seamline.errors import ConfigError
from seamline.eval._golden import categorical_fields
from seamline.eval._run import EvalReport, GoldenSet, read_golden
from seamline.integration import Integration
from seamline.rollout import (
    GOLDEN,
    SignOff,
    golden_hash,
    latest_signoff,
    model_identity,
    prompt_version,
)
from seamline.runtime import DUPLICATE, TERMINAL, read_jsonl
from seamline.store import Store
from seamline.store.tables import eval_runs, eval_signoffs, events

Side = Literal["input", "output"]
MIN_HAND_RATED = 20
MIN_PRODUCTION = 20  # fewer recent events with a value than this: the schema is the basis
DEFAULT_WINDOW_S = 30 * 86400.0


@dataclass
class FieldCoverage:
    """How well the golden set covers one field's values."""

    name: str
    side: Side
    share: float  # 0..1
    basis: str  # "production" | "schema"
    counted: int  # production events with a value, or the declared values
    missing: list[dict[str, Any]] = field(default_factory=list)  # {value, share}, largest first


@dataclass
class Coverage:
    fields: list[FieldCoverage]

    @property
    def share(self) -> float | None:
        """The weakest field's coverage; None when nothing is categorical."""
        return min((f.share for f in self.fields), default=None)

    def as_dict(self) -> dict[str, Any]:
        return {"share": self.share, "fields": [asdict(f) for f in self.fields]}


def hand_rated(path: Path) -> int:
    """Lines marked ``"rated": true``: a person confirmed or corrected their output."""
    count = 0
    for _, line in read_jsonl(path):
        try:
            item = json.loads(line)
        except ValueError:
            continue  # read_golden names the bad line
        count += isinstance(item, dict) and item.get("rated") is True
    return count


def _literal_values(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    return tuple(v for a in get_args(annotation) if get_origin(a) is Literal for v in get_args(a))


def _strata(integration: Integration, extra: tuple[str, ...]) -> list[tuple[str, Side, tuple]]:
    out: list[tuple[str, Side, tuple]] = []
    sides: tuple[tuple[Side, Any], ...] = (("output", integration.output_schema),
                                           ("input", integration.input_schema))
    for side, schema in sides:
        for name in categorical_fields(schema):
            out.append((name, side, _literal_values(schema.model_fields[name].annotation)))
    known = {n for n, _, _ in out}
    for name in extra:
        if name in known:
            continue
        if name in integration.output_schema.model_fields:
            out.append((name, "output", ()))
        elif name in integration.input_schema.model_fields:
            out.append((name, "input", ()))
        else:
            raise ConfigError(f"--field {name}: neither the input nor the output schema of "
                              f"{integration.name} has a field {name!r}.")
    return out


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None


def _production(store: Store, name: str, since: float) -> list[tuple[Any, Any]]:
    """(input, answer) of the integration's recent terminal events."""
    c = events.c
    q = (select(c.input, c.output, c.fallback_output)
         .where(c.integration == name, c.created_at >= since, c.input.is_not(None),
                c.state.in_([s for s in TERMINAL if s != DUPLICATE])))
    with store.read() as conn:
        rows = conn.execute(q).all()
    return [(_loads(r.input), _loads(r.output) if r.output else _loads(r.fallback_output))
            for r in rows]


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def coverage(store: Store | None, integration: Integration, gset: GoldenSet, *,
             fields: tuple[str, ...] = (), window_s: float = DEFAULT_WINDOW_S,
             now: float | None = None) -> Coverage:
    """The golden set's coverage of each categorical field (module docstring)."""
    now = time.time() if now is None else now
    traffic = _production(store, integration.name, now - window_s) if store is not None else []
    out = []
    for name, side, declared in _strata(integration, fields):
        index = 1 if side == "output" else 0
        golden = {_key(v) for e in gset.examples
                  if isinstance(part := (e["output"] if side == "output" else e["input"]), dict)
                  and (v := part.get(name)) is not None}
        seen = Counter(_key(v) for pair in traffic if isinstance(pair[index], dict)
                       and (v := pair[index].get(name)) is not None)
        total = sum(seen.values())
        if total >= MIN_PRODUCTION:
            covered = sum(n for v, n in seen.items() if v in golden)
            missing = [{"value": json.loads(v), "share": n / total}
                       for v, n in seen.most_common() if v not in golden]
            out.append(FieldCoverage(name, side, covered / total, "production", total, missing))
        elif declared:
            keys = [_key(v) for v in declared]
            missing = [{"value": v, "share": 1 / len(keys)} for v, k in zip(declared, keys)
                       if k not in golden]
            out.append(FieldCoverage(name, side, 1 - len(missing) / len(keys), "schema",
                                     len(keys), missing))
        # A free-text field with too little traffic has no distribution to cover yet.
    return Coverage(out)


def _bar(gset: GoldenSet, min_score: float | None) -> float:
    if min_score is None:
        header = _header(gset.path)
        min_score = header.get("min_score") if isinstance(header.get("min_score"), int | float) else None
    if min_score is None:
        raise ConfigError("Declare the score the golden set must reach: --min-score 0.9, or "
                          '"min_score" in its header line {"golden": {...}}.')
    if not 0 < float(min_score) <= 1:
        raise ConfigError(f"--min-score is a fraction above 0 and at most 1 (0.9), not {min_score}.")
    return float(min_score)


def _header(path: Path) -> dict[str, Any]:
    for _, line in read_jsonl(path):
        try:
            item = json.loads(line)
        except ValueError:
            return {}
        return item["golden"] if isinstance(item, dict) and isinstance(item.get("golden"), dict) else {}
    return {}


def sign_off(store: Store, integration: Integration, golden: Path, *, by: str,
             min_score: float | None = None, fields: tuple[str, ...] = (),
             window_s: float = DEFAULT_WINDOW_S, min_coverage: float | None = None,
             now: float | None = None) -> tuple[SignOff, Coverage]:
    """Record that ``by`` signed off ``golden`` as the spec of ``integration``; audited.

    Refused (a ConfigError) with fewer than :data:`MIN_HAND_RATED` hand-rated lines, without
    a bar, or below ``min_coverage``.
    """
    by = by.strip()
    if not by:
        raise ConfigError("--by must name the person signing off the golden set.")
    path = Path(golden).resolve()
    gset = read_golden(path)
    rated = hand_rated(path)
    if rated < MIN_HAND_RATED:
        raise ConfigError(f"The golden set {golden} has {rated} hand-rated example(s); a sign-off "
                          f"needs at least {MIN_HAND_RATED}: have a person check each line's "
                          'output and set "rated": true on it.')
    bar = _bar(gset, min_score)
    cov = coverage(store, integration, gset, fields=fields, window_s=window_s, now=now)
    if min_coverage is not None and cov.share is not None and cov.share < min_coverage:
        weakest = min(cov.fields, key=lambda f: f.share)
        raise ConfigError(f"The golden set covers {cov.share:.0%} of {weakest.name} "
                          f"({weakest.basis}), below --min-coverage {min_coverage:.0%}; add "
                          "examples of " + ", ".join(str(m["value"]) for m in weakest.missing[:5])
                          + ".")
    now = time.time() if now is None else now
    digest = golden_hash(path)
    values = {"integration": integration.name, "golden_path": str(path), "golden_hash": digest,
              "golden_version": gset.version, "examples": len(gset.examples), "hand_rated": rated,
              "min_score": bar, "coverage": cov.share,
              "details": json.dumps({"coverage": cov.as_dict(), "unrated": gset.unrated,
                                     "window_s": window_s}, sort_keys=True),
              "signed_by": by, "created_at": now}
    with store.write() as conn:
        conn.execute(eval_signoffs.insert().values(**values))
        append(conn, [AuditEntry("-", integration.name, "eval_signoff", {
            "golden_path": str(path), "golden_hash": digest, "version": gset.version,
            "examples": len(gset.examples), "hand_rated": rated, "min_score": bar,
            "coverage": cov.share, "signed_by": by})], now=now)
    found = latest_signoff(store, integration.name)
    assert found is not None
    return found, cov


def record_golden_run(store: Store, integration: Integration, report: EvalReport, golden: Path,
                      *, substituted: bool = False, now: float | None = None) -> int:
    """Keep one ``eval run`` in ``eval_runs`` (kind golden) for the go-live check: the set's
    hash, the prompt version and model that ran, the headline and any PII leak."""
    now = time.time() if now is None else now
    path = Path(golden).resolve()
    leaked = sum(1 for e in report.examples if e.scores.get("no_pii_leak") == 0.0)
    details = {"golden_hash": golden_hash(path), "golden_path": str(path),
               "version": report.version, "prompt_version": prompt_version(integration),
               "model": model_identity(integration), "score_fraction": report.score,
               "leaked": leaked, "substituted": substituted, "variant": report.variant}
    with store.write() as conn:
        key = conn.execute(eval_runs.insert().values(
            integration=integration.name, kind=GOLDEN, window_start=now, window_end=now,
            examples=len(report.examples), score=round(report.score * 100, 2),
            details=json.dumps(details, sort_keys=True), created_at=now)).inserted_primary_key
    if key is None:  # never for a one-row INSERT, whose key SQLAlchemy always reports
        raise RuntimeError("The golden run was inserted without a primary key.")
    return int(key[0])


def signed_bar(store: Store, integration: Integration, golden: Path) -> tuple[float | None, str]:
    """For the CI gate: the bar the integration's sign-off declares when ``golden`` is the
    signed-off set, and the sentence that fails the gate when that set was edited since."""
    signoff = latest_signoff(store, integration.name)
    path = Path(golden).resolve()
    if signoff is None or signoff.golden_path != str(path):
        return None, ""
    if golden_hash(path) != signoff.golden_hash:
        return signoff.min_score, (
            f"The golden set {golden} changed since {signoff.signed_by} signed it off, which "
            f"voids the sign-off: have it signed off again (`seamline eval signoff {golden} "
            f"--integration INTEGRATION --by NAME`).")
    return signoff.min_score, ""
