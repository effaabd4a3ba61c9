"""The emulator's fault plan: which requests fail, how, and how slowly every answer comes.

A plan is plain data (YAML/JSON-loadable, validated by Pydantic); its run-time state
(request counters and a seeded RNG) lives apart, so the same plan and seed replay the
same faults on the same sequence of requests.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from seamline.errors import ConfigError

FaultKind = Literal[
    "rate_limit",        # 429 with retry-after
    "server_error",      # 500
    "unavailable",       # 503
    "overloaded",        # Anthropic's 529 overloaded_error (OpenAI path: 503 "overloaded")
    "hang",              # answer only after `seconds` (past the client's timeout)
    "reset",             # close the connection without a response
    "malformed_json",    # 200 whose body is not JSON
    "truncated_json",    # 200 whose body is valid JSON cut in the middle
    "malformed_content", # 200, valid envelope, the model's text is broken JSON
    "max_tokens",        # the text is cut and the stop reason says max_tokens / length
]
ProviderName = Literal["anthropic", "openai"]


class FaultRule(BaseModel):
    """One fault and the requests it hits.

    Select with at most one of ``p`` (probability, drawn from the emulator's seeded RNG),
    ``first`` (the first N requests), ``nth`` (these 1-based request numbers) or
    ``every`` (every Nth request); with none the rule hits every request.
    Requests are counted from the moment the plan is set, per ``provider`` when given.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FaultKind
    p: float | None = Field(default=None, ge=0, le=1)
    first: int | None = Field(default=None, ge=0)
    nth: tuple[int, ...] | None = None
    every: int | None = Field(default=None, ge=1)
    provider: ProviderName | None = None
    retry_after: float = Field(default=1.0, ge=0)  # rate_limit: seconds sent in retry-after
    seconds: float = Field(default=30.0, ge=0)     # hang: how long before answering

    @model_validator(mode="after")
    def _one_selector(self) -> FaultRule:
        chosen = [n for n in ("p", "first", "nth", "every") if getattr(self, n) is not None]
        if len(chosen) > 1:
            raise ValueError(f"choose one selector, not {' and '.join(chosen)}")
        return self


class Latency(BaseModel):
    """Delay before every answer (s): fixed, uniform(low, high) or lognormal(median, sigma)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["fixed", "uniform", "lognormal"] = "fixed"
    seconds: float = Field(default=0.0, ge=0)
    low: float = Field(default=0.0, ge=0)
    high: float = Field(default=0.0, ge=0)
    median: float = Field(default=0.0, ge=0)
    sigma: float = Field(default=0.5, ge=0)

    @classmethod
    def fixed(cls, seconds: float) -> Latency:
        return cls(kind="fixed", seconds=seconds)

    @classmethod
    def uniform(cls, low: float, high: float) -> Latency:
        return cls(kind="uniform", low=low, high=max(low, high))

    @classmethod
    def lognormal(cls, median: float, sigma: float = 0.5) -> Latency:
        return cls(kind="lognormal", median=median, sigma=sigma)

    def draw(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.seconds
        if self.kind == "uniform":
            return rng.uniform(self.low, self.high)
        return 0.0 if self.median <= 0 else rng.lognormvariate(math.log(self.median), self.sigma)


class FaultPlan(BaseModel):
    """The faults of one run: the first matching rule wins; ``latency`` applies to every answer.

    As a file (``seamline emulate --faults drill.yaml``)::

        seed: 7
        latency: {kind: lognormal, median: 0.2, sigma: 0.5}
        rules:
          - {kind: rate_limit, retry_after: 2, p: 0.1}
          - {kind: overloaded, provider: anthropic, every: 10}
          - {kind: hang, seconds: 30, nth: [3]}
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[FaultRule, ...] = ()
    latency: Latency | None = None
    seed: int | None = None  # overrides the emulator's seed when set

    @classmethod
    def load(cls, path: str | Path) -> FaultPlan:
        """Read a plan from a ``.yaml``/``.yml`` or ``.json`` file."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
            return cls.model_validate(data or {})
        except ValidationError as exc:
            # Every problem at once, as sentences (pydantic's own text carries URLs).
            raise ConfigError(f"The fault plan {path} is not valid: "
                              f"{_problems(exc)}.") from None
        except (ValueError, yaml.YAMLError) as exc:
            raise ConfigError(f"The fault plan {path} is not valid "
                              f"{'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None


def _problems(exc: ValidationError) -> str:
    """``rules[0].kind: Input should be 'rate_limit', … ; seed: …`` with no URLs."""
    out = []
    for err in exc.errors(include_url=False):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        out.append(f"{where.lstrip('.') or 'the plan'}: {msg}")
    return "; ".join(out)


class FaultState:
    """The running side of a plan: counters and seeded RNGs; thread-safe."""

    def __init__(self, plan: FaultPlan, seed: int | None) -> None:
        self.plan = plan
        seed = plan.seed if plan.seed is not None else seed
        self._rng = random.Random(seed)
        self._latency_rng = random.Random(None if seed is None else f"latency-{seed}")
        self._counts: dict[str, int] = {}
        self._injected: dict[str, int] = {}  # fault kind (or "ok") -> requests it hit
        self._lock = threading.Lock()
        self.since = time.time()

    def injected(self) -> dict[str, int]:
        """Requests by what was done to them: each fault kind, and "ok" for none."""
        with self._lock:
            return dict(self._injected)

    def decide(self, provider: str) -> FaultRule | None:
        """Count this request and return the rule that hits it, if any."""
        with self._lock:
            hit = self._decide(provider)
            kind = hit.kind if hit is not None else "ok"
            self._injected[kind] = self._injected.get(kind, 0) + 1
            return hit

    def _decide(self, provider: str) -> FaultRule | None:
        """Under ``self._lock``: count the request, return the rule that hits it."""
        for key in ("*", provider):
            self._counts[key] = self._counts.get(key, 0) + 1
        hit: FaultRule | None = None
        for rule in self.plan.rules:
            # Draw for every probability rule on every request, hit or not, so one
            # rule's outcome never shifts another's: the sequence replays exactly.
            draw = self._rng.random() if rule.p is not None else None
            if rule.provider is not None and rule.provider != provider:
                continue
            n = self._counts[rule.provider or "*"]
            if hit is None and _selects(rule, n, draw):
                hit = rule
        return hit

    def delay(self) -> float:
        latency = self.plan.latency
        if latency is None:
            return 0.0
        with self._lock:
            return latency.draw(self._latency_rng)


def _selects(rule: FaultRule, n: int, draw: float | None) -> bool:
    if rule.p is not None:
        return draw is not None and draw < rule.p
    if rule.first is not None:
        return n <= rule.first
    if rule.nth is not None:
        return n in rule.nth
    if rule.every is not None:
        return n % rule.every == 0
    return True
