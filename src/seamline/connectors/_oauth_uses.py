"""Which OAuth credentials an integration's actions use, whichever way they name a vendor.

An action reaches an OAuth connector either directly (``handler: connector:hubspot.…``
with ``auth: oauth`` in its ``connector:`` options) or through a vendor-neutral kind
(``handler: kind:crm.upsert_contact``, the vendor and its options chosen under
``vendors:``). ``seamline connectors auth``, ``connectors refresh`` and the worker's
renewal all need the same answer — the credential's name, its settings and the connector
that holds it — so it is worked out here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from seamline.connectors._kind_actions import chosen_vendor, is_kind_ref, split_options
from seamline.connectors._oauth import OAuthSettings
from seamline.connectors._registry import installed, is_connector_ref, parse_ref
from seamline.errors import ConfigError

if TYPE_CHECKING:
    from seamline.integration import ActionSpec, Integration


@dataclass(frozen=True, slots=True)
class OAuthUse:
    """One action's use of an OAuth credential."""

    credential: str  # the name its tokens are kept under (oauth.credential, or the connector's)
    connector: str
    settings: OAuthSettings
    integration: str
    action: str


def oauth_uses(integration: Integration) -> list[OAuthUse]:
    """Every OAuth credential the integration's actions use, in action order; a ConfigError
    with a sentence for an action whose connector options do not validate."""
    found: list[OAuthUse] = []
    for action in integration.actions:
        resolved = _connector_options(action, integration)
        if resolved is None:
            continue
        connector, options = resolved
        if options.get("auth") != "oauth":
            continue
        cls = installed().get(connector)
        if cls is None:
            continue  # an unknown connector is `seamline check`'s sentence, not ours
        try:
            settings = cls.Options.model_validate(options).oauth
        except ValidationError as exc:
            raise ConfigError(f"The connector options of action {action.name!r} of "
                              f"{integration.name} are invalid: "
                              + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                          for e in exc.errors()[:5]) + ".") from None
        if settings is not None:
            found.append(OAuthUse(settings.name_for(connector), connector, settings,
                                  integration.name, action.name))
    return found


def _connector_options(action: ActionSpec, integration: Integration,
                       ) -> tuple[str, dict[str, Any]] | None:
    """(connector name, its options) of a connector or kind action; None for any other,
    and for one whose connector or vendor cannot be resolved (`seamline check` says why)."""
    try:
        if is_connector_ref(action.handler):
            cls, _ = parse_ref(action.handler)
            return cls.name, dict(action.connector)
        if is_kind_ref(action.handler):
            kind, vendor, block = chosen_vendor(action, integration)
            options, _ = split_options(kind.family, vendor, block)
            return vendor, options
    except ConfigError:
        return None
    return None


__all__ = ["OAuthUse", "oauth_uses"]
