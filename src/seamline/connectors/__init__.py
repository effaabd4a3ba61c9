"""The outbound edge: connectors that act in vendors' systems as actions (layer 5's reach).

``connector:NAME.operation`` as an action's handler runs one; every connector pins and
sends its API version, reads credentials from the environment, carries the idempotency
key to the vendor or enforces it here, and never takes a reply it cannot read for a success.
"""

from seamline.connectors._base import Connector, ConnectorOptions, Params, Reply
from seamline.connectors._errors import (
    BadParams,
    ConnectorError,
    OutcomeUnknown,
    UnexpectedReply,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
)
from seamline.connectors._generic import HttpConnector
from seamline.connectors._hubspot import HubSpotConnector
from seamline.connectors._ledger import SendLedger, undecided_sends
from seamline.connectors._registry import (
    ENTRY_POINT_GROUP,
    connector_handler,
    connector_problems,
    installed,
    is_connector_ref,
    parse_ref,
)
from seamline.connectors._slack import SlackConnector
from seamline.connectors._smtp import SmtpConnector, message_id
from seamline.connectors._stripe import StripeConnector
from seamline.connectors._transport import VendorHTTP, retry_after_seconds
from seamline.connectors._zendesk import ZendeskConnector

__all__ = [
    "ENTRY_POINT_GROUP",
    "BadParams",
    "Connector",
    "ConnectorError",
    "ConnectorOptions",
    "HttpConnector",
    "HubSpotConnector",
    "OutcomeUnknown",
    "Params",
    "Reply",
    "SendLedger",
    "SlackConnector",
    "SmtpConnector",
    "StripeConnector",
    "UnexpectedReply",
    "VendorAuthFailed",
    "VendorHTTP",
    "VendorRejected",
    "VendorUnavailable",
    "ZendeskConnector",
    "connector_handler",
    "connector_problems",
    "installed",
    "is_connector_ref",
    "message_id",
    "parse_ref",
    "retry_after_seconds",
    "undecided_sends",
]
