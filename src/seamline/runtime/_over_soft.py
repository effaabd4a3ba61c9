"""The stage that answers events past a soft cap on the cheaper route (``budgets.over_soft``).

It is the inference stage over a copy of the integration whose model is the over_soft
route: its calls are priced, estimated, repaired and grounded as that route's, against the
same counters. The baseline needs no stage of its own: such an event is admitted on the
baseline path (``Receive``).
"""

from __future__ import annotations

from typing import Any

from seamline.inference import Provider, build_gateway
from seamline.integration import Integration
from seamline.runtime._grounding_calls import Grounding
from seamline.runtime._infer import Infer
from seamline.runtime._spend import Spend
from seamline.store import Store


def over_soft_infer(integration: Integration, store: Store, provider: Provider | None,
                    spend: Spend, output_schema: dict[str, Any],
                    judge_provider: Provider | None) -> Infer | None:
    """The over_soft route's inference stage, or None when there is no such route.

    ``provider``: the one the pipeline was given (a scripted model, the emulator) answers
    this route's calls too, told them apart by ``request.model``; otherwise the route gets
    a gateway of its own, with every policy it declares.
    """
    route = spend.ledger.over_soft
    if route is None:
        return None
    degraded = integration.model_copy(update={"model": route})
    gateway = provider or build_gateway(degraded, store)
    warm = getattr(gateway, "warm", None)
    if provider is None and callable(warm):
        warm()
    cheap = spend.for_route(route)
    grounding = (Grounding(degraded, gateway, cheap, output_schema, judge_provider)
                 if integration.grounding.active else None)
    return Infer(degraded, gateway, cheap, output_schema, grounding)
