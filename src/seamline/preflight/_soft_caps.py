"""``seamline check``: soft caps and the alerts at shares of the hard caps, in sentences.

A soft cap needs somewhere to send the events past it (``budgets.over_soft``) that
exists and is cheaper to reach than refusing; it must sit below the hard cap it softens,
or it would never bite before that one refuses.
"""

from __future__ import annotations

from typing import Literal

from seamline.errors import ConfigError
from seamline.inference import over_soft_route, route_price
from seamline.integration import Integration

Finding = tuple[Literal["error", "warning"], str, str]


def soft_cap_problems(integration: Integration) -> list[Finding]:
    """Errors about soft caps without a place to go, above their hard cap, or without the
    input field they count by; and about an over_soft route that is not there."""
    out: list[Finding] = []

    def err(sentence: str) -> None:
        out.append(("error", "budgets", sentence))

    b = integration.model.budgets
    soft = b.soft_daily_usd
    fields = integration.input_schema.model_fields
    if integration.user_key and integration.user_key not in fields:
        err(f"The user key {integration.user_key!r} is not a field of the input schema.")
    if soft is not None and soft.per_user is not None and not integration.user_key:
        err("A per-user soft cap is set (budgets.soft_daily_usd.per_user) but no user_key "
            "names the end user's field; set user_key to that input field.")
    if soft is not None and soft.per_tenant is not None and not integration.tenant_key:
        err("A per-tenant soft cap is set (budgets.soft_daily_usd.per_tenant) but no "
            "tenant_key names the tenant field; set tenant_key to that input field.")
    # The hard cap a soft one softens: the tenant's daily cap, else the integration's.
    hard_name, hard = next(((n, v) for n, v in (("per_tenant_daily_usd", b.per_tenant_daily_usd),
                                                ("daily_usd", b.daily_usd)) if v is not None),
                           ("", None))
    for label, value in (("per_user", soft.per_user if soft else None),
                         ("per_tenant", soft.per_tenant if soft else None)):
        if value is not None and hard is not None and value > hard:
            err(f"The soft cap budgets.soft_daily_usd.{label} (${value:g}) is above the hard "
                f"cap budgets.{hard_name} (${hard:g}): the hard cap would refuse first, so "
                f"the soft cap never degrades anything; lower it below ${hard:g}.")
    if soft is not None and (soft.per_user is not None or soft.per_tenant is not None) \
            and b.over_soft is None:
        err("Soft caps are set but budgets.over_soft says nowhere to send the events past "
            "them: add over_soft: baseline, or over_soft: {route: <a fallback's model or a "
            "whole route>}.")
    if b.over_soft is not None and soft is None:
        out.append(("warning", "budgets", ("budgets.over_soft is set but no soft cap "
                                           "(budgets.soft_daily_usd) sends any event there.")))
    if b.over_soft == "baseline" and integration.rollout.baseline is None:
        err("budgets.over_soft is baseline, but the integration declares no baseline "
            "(rollout.baseline): events past a soft cap would have nothing to answer them.")
    try:
        route = over_soft_route(integration)
    except ConfigError as exc:
        err(str(exc))
        return out
    if route is not None:
        if route.model == integration.model.model and route.provider == integration.model.provider:
            err(f"budgets.over_soft names the model's own route ({route.provider}:"
                f"{route.model}): name a cheaper one, or over_soft: baseline.")
        try:
            cheap, dear = route_price(route), route_price(integration.model)
            if cheap.input > dear.input or cheap.output > dear.output:
                out.append(("warning", "budgets", (
                    f"The over_soft route {route.model} costs more per token than the model "
                    f"{integration.model.model}: degrading to it spends more, not less.")))
        except ConfigError as exc:
            err(str(exc))
    return out
