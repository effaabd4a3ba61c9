"""Layer 3, inference: what each provider route may receive, as the audit names it.

A route declares its data policy (``data``: ``redacted_only`` or ``raw_allowed``,
``region``, ``dpa_reviewed``); ``seamline check`` refuses a raw field bound for a route
that may not have it, and every model call's audit entry names the policy of the route
that answered.
"""

from __future__ import annotations

from typing import Any

from seamline.integration import Integration, ModelRoute

# Providers that run in this process: nothing they read leaves it.
IN_PROCESS = ("local", "scripted")


def data_policy(route: ModelRoute) -> dict[str, Any]:
    """The policy in force for a call to ``route``, as the ``model_call`` entry records it."""
    return {"route": f"{route.provider}:{route.model}", "data": route.data,
            "region": route.region,
            "dpa_reviewed": route.dpa_reviewed.isoformat() if route.dpa_reviewed else None}


def receiving_routes(integration: Integration) -> list[tuple[str, ModelRoute]]:
    """Every route an event's data may be sent to, named by its part: the model, each
    fallback (to any depth), the judge's route, the over_soft route and its fallbacks."""
    out: list[tuple[str, ModelRoute]] = []

    def walk(what: str, route: ModelRoute) -> None:
        out.append((what, route))
        for n, fallback in enumerate(route.fallbacks, 1):
            walk(f"{what} fallback {n}", fallback)

    walk("model", integration.model)
    judge = integration.grounding.judge
    if judge is not None and judge.route is not None:
        walk("grounding.judge.route", judge.route)
    over = integration.model.budgets.over_soft
    if over is not None and not isinstance(over, str) and isinstance(over.route, ModelRoute):
        walk("budgets.over_soft.route", over.route)
    return out


def policy_of_model(integration: Integration, model: str) -> dict[str, Any]:
    """The policy of the route that answered as ``model`` (the model first, then the
    fallbacks, the judge and the over_soft route; a dated version of a route's name counts
    as that route), or the model route's when none is named so."""
    routes = [route for _, route in receiving_routes(integration)]
    for route in routes:
        if route.model == model:
            return data_policy(route)
    # A provider may answer with a dated version of the name asked for (…-20250929).
    named = [r for r in routes if r.model and model.startswith(r.model)]
    if named:
        return data_policy(max(named, key=lambda r: len(r.model)))
    return data_policy(integration.model)
