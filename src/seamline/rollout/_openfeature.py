"""Layer 7, rollout: OpenFeature both ways, so a team's own flag service and Seamline agree.

``OpenFeatureFlags(client)`` reads Seamline's flags from any OpenFeature client (the
team's provider) and is passed to ``Pipeline(flags=...)``; ``SeamlineProvider(store)`` is
an OpenFeature provider over Seamline's flags, for other services to read them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from openfeature.client import OpenFeatureClient
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata
from sqlalchemy import select

from seamline.errors import ConfigError
from seamline.rollout._flags import FlagState, parse_state
from seamline.store import Store
from seamline.store.tables import flags

log = logging.getLogger("seamline.rollout.openfeature")


@dataclass(frozen=True, slots=True)
class DelegatedFlagState(FlagState):
    """A boolean flag of the team's service: it decides per sticky key (its own percentages).

    The sticky key goes to the provider as the evaluation context's ``targeting_key``.
    """

    client: Any = field(default=None, compare=False, repr=False)
    default: bool = True

    def admits(self, key: str) -> bool:
        return bool(self.client.get_boolean_value(self.name, self.default,
                                                  EvaluationContext(targeting_key=key)))


class OpenFeatureFlags:
    """Seamline's flag source read from an OpenFeature client; same ``get`` as :class:`Flags`.

    The team's flag value can be a string (``on``, ``off``, ``25%``), a number (a
    percentage, bucketed by Seamline so it stays sticky) or a boolean (decided per event by
    their service, with the sticky key as targeting key, so their own percentage rollouts
    and targeting rules apply). ``kind`` names the type when it is known, saving the probe
    of one type after another. A missing flag, a provider error or an unreadable value
    gives the integration's default, with a warning.
    """

    _KINDS = ("string", "boolean", "float", "integer")  # bool is an int to Python: first

    def __init__(self, client: OpenFeatureClient, *, kind: str = "auto") -> None:
        if kind != "auto" and kind not in self._KINDS:
            raise ConfigError(f"An OpenFeature flag kind is auto or one of "
                              f"{', '.join(self._KINDS)}, not {kind!r}.")
        self.client, self.kind = client, kind

    def get(self, name: str, default: str | float = "on") -> FlagState:
        fallback = parse_state(name, default)
        on_by_default = fallback.mode != "off"
        for kind in self._KINDS if self.kind == "auto" else (self.kind,):
            empty = {"string": "", "float": 0.0, "integer": 0, "boolean": on_by_default}[kind]
            details = getattr(self.client, f"get_{kind}_details")(name, empty)
            if kind == "boolean" and details.error_code in (None, ErrorCode.TARGETING_KEY_MISSING):
                # The provider decides per key: asked without one, it may say so; that is fine.
                return DelegatedFlagState(name, "delegated", 100.0 if details.value else 0.0,
                                          client=self.client, default=on_by_default)
            if details.error_code is None:
                try:
                    return parse_state(name, details.value)
                except ConfigError as exc:
                    log.warning("the flag %s from the provider is unusable: %s Using the default "
                                "%s.", name, exc, default)
                    return fallback
            if details.error_code == ErrorCode.FLAG_NOT_FOUND:
                return fallback
            if details.error_code != ErrorCode.TYPE_MISMATCH:
                log.warning("the flag provider could not resolve %s (%s: %s); using the default "
                            "%s", name, details.error_code, details.error_message, default)
                return fallback
        return fallback


class SeamlineProvider(AbstractProvider):
    """Seamline's flags as an OpenFeature provider (read-only; flips go through Seamline).

    Boolean: whether the context's ``targeting_key`` takes the AI path (the same sticky
    bucket the pipeline uses); float/integer: the percentage; string: ``on``, ``off`` or
    ``25``; object: ``{"mode", "percent"}``.
    """

    def __init__(self, store: Store, *, ttl: float = 1.0) -> None:
        super().__init__()
        self.store, self.ttl = store, ttl
        self._cache: dict[str, tuple[float, FlagState | None]] = {}

    def get_metadata(self) -> Metadata:
        return Metadata(name="seamline")

    def _state(self, key: str) -> FlagState | None:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        with self.store.read() as conn:
            row = conn.execute(select(flags.c.mode, flags.c.percent)
                               .where(flags.c.name == key)).first()
        state = FlagState(key, row.mode, row.percent) if row else None
        self._cache[key] = (now, state)
        return state

    @staticmethod
    def _missing(key: str, default: Any) -> FlagResolutionDetails[Any]:
        return FlagResolutionDetails(value=default, reason=Reason.ERROR,
                                     error_code=ErrorCode.FLAG_NOT_FOUND,
                                     error_message=f"Seamline has no flag named {key!r}.")

    def resolve_boolean_details(self, flag_key: str, default_value: bool,
                                evaluation_context: EvaluationContext | None = None,
                                ) -> FlagResolutionDetails[bool]:
        state = self._state(flag_key)
        if state is None:
            return self._missing(flag_key, default_value)
        if state.mode in ("on", "off"):
            return FlagResolutionDetails(value=state.mode == "on", reason=Reason.STATIC,
                                         variant=state.mode)
        key = evaluation_context.targeting_key if evaluation_context else None
        if not key:
            return FlagResolutionDetails(
                value=default_value, reason=Reason.ERROR,
                error_code=ErrorCode.TARGETING_KEY_MISSING,
                error_message=f"The flag {flag_key!r} is at {state.percent:g}%: the decision "
                              "needs the sticky key as the context's targeting_key.")
        admitted = state.admits(key)
        return FlagResolutionDetails(value=admitted, reason=Reason.SPLIT,
                                     variant="ai" if admitted else "baseline")

    def resolve_float_details(self, flag_key: str, default_value: float,
                              evaluation_context: EvaluationContext | None = None,
                              ) -> FlagResolutionDetails[float]:
        state = self._state(flag_key)
        if state is None:
            return self._missing(flag_key, default_value)
        return FlagResolutionDetails(value=float(state.percent), reason=Reason.STATIC,
                                     variant=state.mode)

    def resolve_integer_details(self, flag_key: str, default_value: int,
                                evaluation_context: EvaluationContext | None = None,
                                ) -> FlagResolutionDetails[int]:
        state = self._state(flag_key)
        if state is None:
            return self._missing(flag_key, default_value)
        return FlagResolutionDetails(value=round(state.percent), reason=Reason.STATIC,
                                     variant=state.mode)

    def resolve_string_details(self, flag_key: str, default_value: str,
                               evaluation_context: EvaluationContext | None = None,
                               ) -> FlagResolutionDetails[str]:
        state = self._state(flag_key)
        if state is None:
            return self._missing(flag_key, default_value)
        value = state.mode if state.mode in ("on", "off") else f"{state.percent:g}"
        return FlagResolutionDetails(value=value, reason=Reason.STATIC, variant=state.mode)

    def resolve_object_details(self, flag_key: str, default_value: Any,
                               evaluation_context: EvaluationContext | None = None,
                               ) -> FlagResolutionDetails[Any]:
        state = self._state(flag_key)
        if state is None:
            return self._missing(flag_key, default_value)
        return FlagResolutionDetails(value={"mode": state.mode, "percent": state.percent},
                                     reason=Reason.STATIC, variant=state.mode)
