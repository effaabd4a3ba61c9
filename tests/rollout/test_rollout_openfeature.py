"""OpenFeature both ways: a team's flag service drives the pipeline's flag, and other
services read Seamline's flags through a standard OpenFeature client."""

from __future__ import annotations

import pytest
from conftest import make_integration, verdict
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider

from seamline.rollout import Flags, OpenFeatureFlags, SeamlineProvider, bucket, start_rollout
from seamline.runtime import Pipeline

# The canary's mechanics, not eval-first go-live (tests/eval/test_signoff.py tests that).
pytestmark = pytest.mark.usefixtures("go_live_waived")


@pytest.fixture
def team():
    """The team's flag service, as an OpenFeature client over the SDK's InMemoryProvider."""
    def use(flags: dict[str, InMemoryFlag], domain: str = "team"):
        api.set_provider(InMemoryProvider(flags), domain)
        return api.get_client(domain)
    yield use
    api.clear_providers()


def paths(pipeline: Pipeline, n: int, start: int = 0) -> list[str]:
    return [pipeline.process({"ticket_id": f"T{i}", "customer": f"c{i}", "body": "refund"}).path
            for i in range(start, start + n)]


# ---------------------------------------------------------------- the team's service drives

def test_an_on_off_string_flag_from_the_team_service_drives_the_pipeline(store, team):
    client = team({"refunds.ai": InMemoryFlag("off", {"on": "on", "off": "off"})})
    pipeline = Pipeline(make_integration(), store, provider=verdict(),
                        flags=OpenFeatureFlags(client))
    assert paths(pipeline, 5) == ["baseline"] * 5
    client = team({"refunds.ai": InMemoryFlag("on", {"on": "on", "off": "off"})})
    pipeline.flags = OpenFeatureFlags(client)
    assert paths(pipeline, 5, 100) == ["ai"] * 5


def test_a_number_is_a_percentage_bucketed_by_seamline_so_it_stays_sticky(store, team):
    client = team({"refunds.ai": InMemoryFlag("canary", {"canary": 30})})
    state = OpenFeatureFlags(client).get("refunds.ai")
    assert (state.mode, state.percent) == ("percent", 30.0)
    keys = [f"c{i}" for i in range(200)]
    assert [state.admits(k) for k in keys] == [bucket("refunds.ai", k) < 30 for k in keys]


def test_a_boolean_flag_delegates_each_decision_with_the_sticky_key(store, team):
    """The team's service runs its own targeting; Seamline hands it the sticky key."""
    asked: list[str | None] = []

    def vip_only(flag, ctx: EvaluationContext) -> FlagResolutionDetails[bool]:
        asked.append(ctx.targeting_key)
        on = ctx.targeting_key in {"c1", "c3"}
        return FlagResolutionDetails(value=on, variant="on" if on else "off",
                                     reason=Reason.TARGETING_MATCH)

    client = team({"refunds.ai": InMemoryFlag("off", {"on": True, "off": False},
                                              context_evaluator=vip_only)})
    pipeline = Pipeline(make_integration(), store, provider=verdict(),
                        flags=OpenFeatureFlags(client))
    assert paths(pipeline, 5) == ["baseline", "ai", "baseline", "ai", "baseline"]
    assert {"c0", "c1", "c2", "c3", "c4"} <= set(asked)


def test_a_missing_or_unusable_flag_falls_back_to_the_integration_default(store, team, caplog):
    client = team({"refunds.ai": InMemoryFlag("x", {"x": "sometimes"})})
    flags = OpenFeatureFlags(client)
    assert flags.get("other.ai", "off").mode == "off"
    state = flags.get("refunds.ai", 40)
    assert (state.mode, state.percent) == ("percent", 40.0)
    assert "unusable" in caplog.text


# ------------------------------------------------------------- Seamline's flags as a provider

def test_seamline_flags_read_through_an_openfeature_client(store, team):
    Flags(store).set("refunds.ai", "on", reason="launch")
    start_rollout(store, "billing", flag="billing.ai", steps=[25, 100])
    api.set_provider(SeamlineProvider(store, ttl=0), "seamline")
    client = api.get_client("seamline")

    assert client.get_boolean_value("refunds.ai", False) is True
    assert client.get_string_value("refunds.ai", "") == "on"
    assert client.get_float_value("billing.ai", 0.0) == 25.0
    assert client.get_integer_value("billing.ai", 0) == 25
    assert client.get_object_value("billing.ai", {}) == {"mode": "percent", "percent": 25.0}
    keys = [f"c{i}" for i in range(100)]
    decided = [client.get_boolean_value("billing.ai", False, EvaluationContext(targeting_key=k))
               for k in keys]
    assert decided == [bucket("billing.ai", k) < 25 for k in keys]  # the pipeline's decision


def test_the_provider_says_why_it_could_not_decide(store):
    start_rollout(store, "billing", flag="billing.ai", steps=[25, 100])
    api.set_provider(SeamlineProvider(store, ttl=0), "seamline")
    client = api.get_client("seamline")
    missing = client.get_boolean_details("nope.ai", True)
    assert missing.value is True and missing.error_code == ErrorCode.FLAG_NOT_FOUND
    keyless = client.get_boolean_details("billing.ai", False)
    assert keyless.error_code == ErrorCode.TARGETING_KEY_MISSING
    assert "targeting_key" in (keyless.error_message or "")
    api.clear_providers()


def test_a_flip_in_seamline_is_seen_by_the_provider_at_once_with_no_ttl(store):
    provider = SeamlineProvider(store, ttl=0)
    Flags(store).set("refunds.ai", "on", reason="go")
    assert provider.resolve_boolean_details("refunds.ai", False).value is True
    Flags(store).set("refunds.ai", "off", reason="incident")
    assert provider.resolve_boolean_details("refunds.ai", True).value is False
