"""Which connectors are installed, and how an action names one (``connector:NAME.operation``).

Built-in connectors are listed here; a package adds its own under the entry point group
``seamline.connectors`` (``name = "pkg.module:MyConnector"``), with no registration code.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any, TypeGuard

from pydantic import ValidationError

from seamline.connectors._base import Connector
from seamline.connectors._gcalendar import GoogleCalendarConnector
from seamline.connectors._generic import HttpConnector
from seamline.connectors._hubspot import HubSpotConnector
from seamline.connectors._intercom import IntercomConnector
from seamline.connectors._pipedrive import PipedriveConnector
from seamline.connectors._posthog import PostHogConnector
from seamline.connectors._postmark import PostmarkConnector
from seamline.connectors._resend import ResendConnector
from seamline.connectors._salesforce import SalesforceConnector
from seamline.connectors._sendgrid import SendGridConnector
from seamline.connectors._slack import SlackConnector
from seamline.connectors._smtp import SmtpConnector
from seamline.connectors._stripe import StripeConnector
from seamline.connectors._twilio import TwilioConnector
from seamline.connectors._zendesk import ZendeskConnector
from seamline.errors import ConfigError
from seamline.store import Store

log = logging.getLogger("seamline.connectors")

PREFIX = "connector:"
ENTRY_POINT_GROUP = "seamline.connectors"
BUILTIN: dict[str, type[Connector]] = {c.name: c for c in (
    HttpConnector, SlackConnector, HubSpotConnector, ZendeskConnector, StripeConnector,
    SmtpConnector,
    SalesforceConnector, PipedriveConnector, IntercomConnector,
    ResendConnector, PostmarkConnector, SendGridConnector, TwilioConnector,
    GoogleCalendarConnector, PostHogConnector)}


def installed() -> dict[str, type[Connector]]:
    """Every connector by name: the built-in ones, then those of installed packages."""
    found = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not hide the others
            log.warning("the connector %r of an installed package cannot be loaded from %s: "
                        "%s: %s", ep.name, ep.value, type(exc).__name__, exc)
            continue
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            log.warning("the entry point %r (%s) is not a Connector class; skipped",
                        ep.name, ep.value)
            continue
        found.setdefault(cls.name, cls)
    return found


def is_connector_ref(handler: object) -> TypeGuard[str]:
    return isinstance(handler, str) and handler.startswith(PREFIX)


def parse_ref(ref: str) -> tuple[type[Connector], str]:
    """``"connector:slack.post_message"`` -> (SlackConnector, "post_message"), or a ConfigError."""
    name, dot, operation = ref[len(PREFIX):].partition(".")
    known = installed()
    cls = known.get(name)
    if cls is None or not dot:
        raise ConfigError(f"The handler {ref!r} must name an installed connector and one of its "
                          f"operations, like 'connector:slack.post_message'; installed: "
                          f"{', '.join(sorted(known))}.")
    if operation not in cls.operations:
        raise ConfigError(f"The {name} connector has no operation {operation!r}; it has "
                          f"{', '.join(cls.operations)}.")
    return cls, operation


def connector_handler(ref: str, options: Mapping[str, Any] | None = None, *,
                      store: Store | None = None) -> Callable[..., dict]:
    """An action handler ``fn(params, *, idempotency_key)`` running one connector operation.

    Building it reads the credentials, so a missing one fails the action with a sentence.
    """
    cls, operation = parse_ref(ref)
    connector = cls(options, store=store)

    def handler(params: Mapping[str, Any], *, idempotency_key: str) -> dict:
        return connector.call(operation, params, idempotency_key=idempotency_key)

    handler.__qualname__ = f"{cls.name}.{operation}"
    handler.connector = connector  # type: ignore[attr-defined]
    return handler


def connector_problems(ref: str, options: Mapping[str, Any] | None = None) -> list[str]:
    """What ``seamline check`` should say about a connector action, as sentences (none: fine).

    Checks the connector and operation exist, the options are valid, and the environment
    variables the options name are set; it reads no value and makes no request.
    """
    try:
        cls, _ = parse_ref(ref)
    except ConfigError as exc:
        return [str(exc)]
    try:
        parsed = cls.Options.model_validate(dict(options or {}))
    except ValidationError as exc:
        return [f"The options of the {cls.name} connector are invalid: "
                + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
                + "."]
    return cls.option_problems(parsed) + [
        f"The {cls.name} connector reads a credential from the environment variable {var}, "
        "which is not set." for var in (getattr(parsed, o) for o in cls.credentials
                                        if parsed.auth != "oauth")  # OAuth: option_problems
        if var and not os.environ.get(var)]
