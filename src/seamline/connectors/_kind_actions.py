"""Vendor-neutral actions run and checked: ``handler: kind:FAMILY.VERB`` and ``vendors:``.

:func:`kind_handler` builds what the outbox calls for such an action: it validates the
neutral params against the kind's schema, lets the chosen vendor's adapter translate them
into one connector operation, runs it with the action's own idempotency key, and gives
the kind's one reply shape. The handler carries the vendor's connector as ``.connector``,
so the outbox treats an action in doubt exactly as it would the connector action (vendor
dedupe: sent again; our send ledger: asked).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeGuard

from pydantic import ValidationError

from seamline.connectors._errors import BadParams
from seamline.connectors._kinds import Adapter, Family, Kind, VendorSettings
from seamline.connectors._kinds_calendar import CALENDAR
from seamline.connectors._kinds_crm import CRM
from seamline.connectors._kinds_messaging import EMAIL, SMS
from seamline.connectors._kinds_payments import PAYMENTS
from seamline.connectors._kinds_support import TICKET
from seamline.connectors._registry import connector_problems, installed
from seamline.errors import ConfigError
from seamline.store import Store

if TYPE_CHECKING:
    from seamline.integration import ActionSpec, Integration

KIND_PREFIX = "kind:"
FAMILIES: dict[str, Family] = {f.name: f for f in (CRM, EMAIL, SMS, CALENDAR, TICKET, PAYMENTS)}
KINDS: dict[str, Kind] = {k.name: k for f in FAMILIES.values() for k in f.kinds}
ADAPTERS: dict[tuple[str, str], Adapter] = {
    (a.kind, a.vendor): a for f in FAMILIES.values() for a in f.adapters}


def is_kind_ref(handler: object) -> TypeGuard[str]:
    return isinstance(handler, str) and handler.startswith(KIND_PREFIX)


def kinds() -> dict[str, Kind]:
    """Every vendor-neutral kind by name (``crm.upsert_contact`` …)."""
    return dict(KINDS)


def kind_vendors(kind: str) -> tuple[str, ...]:
    """The vendors that implement ``kind``, in the order their adapters are listed."""
    return tuple(v for (k, v) in ADAPTERS if k == kind)


def kind_adapter(kind: str, vendor: str) -> Adapter:
    """How ``vendor`` does ``kind``, or a ConfigError naming the vendors that do it."""
    adapter = ADAPTERS.get((kind, vendor))
    if adapter is None:
        raise ConfigError(f"{vendor} does not implement {kind}; the vendors that do: "
                          f"{', '.join(kind_vendors(kind))}.")
    return adapter


def parse_kind(ref: str) -> Kind:
    """``"kind:crm.upsert_contact"`` -> its Kind, or a ConfigError listing the kinds."""
    kind = KINDS.get(ref.removeprefix(KIND_PREFIX))
    if kind is None:
        raise ConfigError(f"The handler {ref!r} names no vendor-neutral kind; the kinds are "
                          f"{', '.join(sorted(KINDS))}.")
    return kind


def chosen_vendor(action: ActionSpec, integration: Integration) -> tuple[Kind, str, dict[str, Any]]:
    """(kind, vendor, the vendor's options block) for a kind action, or a ConfigError."""
    kind = parse_kind(str(action.handler))
    choice = integration.vendors.get(kind.family)
    vendor = action.vendor or (choice.use if choice is not None else None)
    if not vendor:
        raise ConfigError(
            f"Action {action.name!r} does {kind.name}, but no vendor is chosen for "
            f"{kind.family}: add vendors: {{{kind.family}: VENDOR}} (one of "
            f"{', '.join(kind_vendors(kind.name))}).")
    return kind, vendor, choice.options_of(vendor) if choice is not None else {}


def split_options(family: str, vendor: str,
                  block: Mapping[str, Any]) -> tuple[dict[str, Any], VendorSettings]:
    """A vendor's block as (the connector's options, the family adapter's settings).

    The settings model names its keys; every other key is a connector option, which the
    connector validates (a typo in either is an error, never ignored).
    """
    model = FAMILIES[family].settings.get(vendor, VendorSettings)
    ours = {k: v for k, v in block.items() if k in model.model_fields}
    try:
        settings = model.model_validate(ours)
    except ValidationError as exc:
        raise ConfigError(f"The {family} settings of {vendor} are invalid: "
                          + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                      for e in exc.errors()[:5]) + ".") from None
    return {k: v for k, v in block.items() if k not in model.model_fields}, settings


def kind_handler(action: ActionSpec, integration: Integration, *,
                 store: Store | None = None) -> Callable[..., dict]:
    """The action handler ``fn(params, *, idempotency_key)`` of a vendor-neutral action.

    Building it reads the vendor's credentials, so a missing one fails the action with a
    sentence, as for a connector action.
    """
    kind, vendor, block = chosen_vendor(action, integration)
    adapter = kind_adapter(kind.name, vendor)
    cls = installed().get(vendor)
    if cls is None:
        raise ConfigError(f"The vendor {vendor!r} of {kind.name} is not an installed connector.")
    options, settings = split_options(kind.family, vendor, block)
    missing = [s for s in adapter.requires if getattr(settings, s, None) in (None, "")]
    if missing:
        raise ConfigError(f"{vendor} does {kind.name} only with the setting(s) "
                          f"{', '.join(missing)} under vendors.{kind.family}.{vendor}.")
    connector = cls(options, store=store)

    def handler(params: Mapping[str, Any], *, idempotency_key: str) -> dict:
        try:
            neutral = kind.params.model_validate(dict(params))
        except ValidationError as exc:
            raise BadParams(f"The params of {kind.name} are invalid: " + "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
                for e in exc.errors()[:5]) + ".", connector=vendor) from None
        adapter.refuse_unsupported(neutral)
        operation, vendor_params = adapter.translate(neutral, settings)
        reply = connector.call(operation, vendor_params, idempotency_key=idempotency_key)
        return kind.reply(kind=kind.name, vendor=vendor, recovered=bool(reply.get("recovered")),
                          vendor_reply=dict(reply), **adapter.reply(reply)).model_dump()

    handler.__qualname__ = f"{kind.name}@{vendor}"
    handler.connector = connector  # type: ignore[attr-defined]
    handler.kind = kind.name  # type: ignore[attr-defined]
    handler.vendor = vendor  # type: ignore[attr-defined]
    return handler


def kind_problems(action: ActionSpec, integration: Integration) -> list[str]:
    """What ``seamline check`` should say about a kind action, as sentences (none: fine).

    The kind exists, a vendor is chosen and implements it, the params are fields of the
    kind's schema (every required one given, none the vendor cannot carry), the vendor's
    options and settings are valid and its credentials' variables set. Types of the
    params against the integration's schemas are the preflight's to check.
    """
    try:
        kind, vendor, block = chosen_vendor(action, integration)
        adapter = kind_adapter(kind.name, vendor)
        options, settings = split_options(kind.family, vendor, block)
    except ConfigError as exc:
        return [str(exc)]
    out: list[str] = []
    if action.connector:
        out.append(f"Action {action.name!r} is vendor-neutral; put its options under "
                   f"vendors.{kind.family}.{vendor}, not connector, so a switch is one line.")
    fields = kind.params.model_fields
    for name in action.params:
        if name not in fields:
            out.append(f"Action {action.name!r} passes {name!r}, which {kind.name} does not "
                       f"take; it takes {', '.join(fields)}.")
        elif name in adapter.unsupported:
            out.append(f"Action {action.name!r} passes {name!r}, which {vendor} cannot carry "
                       f"for {kind.name}: {adapter.unsupported[name]}.")
    for name, info in fields.items():
        if info.is_required() and name not in action.params:
            out.append(f"Action {action.name!r} does not pass {name!r}, which {kind.name} "
                       "requires.")
    out += [f"{vendor} does {kind.name} only with the setting {s} under "
            f"vendors.{kind.family}.{vendor}." for s in adapter.requires
            if getattr(settings, s, None) in (None, "")]
    return out + connector_problems(f"connector:{vendor}.{adapter.operations[0]}", options)


def vendors_problems(integration: Integration) -> list[str]:
    """What is wrong with the ``vendors:`` block itself: unknown families, vendors in
    ``use`` that implement none of the family's kinds, options for such vendors."""
    out: list[str] = []
    for family, choice in integration.vendors.items():
        known = FAMILIES.get(family)
        if known is None:
            out.append(f"vendors names the family {family!r}, which has no kinds; the "
                       f"families are {', '.join(FAMILIES)}.")
            continue
        doers = sorted({a.vendor for a in known.adapters})
        for vendor in (choice.use, *choice.options):
            if vendor not in doers:
                out.append(f"vendors.{family} names {vendor!r}, which implements no {family} "
                           f"kind; the vendors that do: {', '.join(doers)}.")
    return out


__all__ = ["ADAPTERS", "FAMILIES", "KINDS", "KIND_PREFIX", "chosen_vendor", "is_kind_ref",
           "kind_adapter", "kind_handler", "kind_problems", "kind_vendors", "kinds",
           "parse_kind", "split_options", "vendors_problems"]
