"""The outbound edge: connectors that act in vendors' systems as actions (layer 5's reach).

``connector:NAME.operation`` as an action's handler runs one; every connector pins and
sends its API version, reads credentials from the environment, carries the idempotency
key to the vendor or enforces it here, and never takes a reply it cannot read for a success.
``kind:FAMILY.VERB`` runs a vendor-neutral action (``crm.upsert_contact``) on the vendor the
integration's ``vendors:`` block chooses, through that vendor's connector.
"""

from seamline.connectors._base import Connector, ConnectorOptions, Params, Reply
from seamline.connectors._egress import HostPolicy, HostRefused
from seamline.connectors._errors import (
    BadParams,
    ConnectorError,
    OutcomeUnknown,
    UnexpectedReply,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
)
from seamline.connectors._gcalendar import GoogleCalendarConnector, event_id
from seamline.connectors._generic import HttpConnector
from seamline.connectors._hubspot import HubSpotConnector
from seamline.connectors._intercom import IntercomConnector
from seamline.connectors._kind_actions import (
    is_kind_ref,
    kind_adapter,
    kind_handler,
    kind_problems,
    kind_vendors,
    kinds,
    parse_kind,
    vendors_problems,
)
from seamline.connectors._kinds import Adapter, Kind, KindParams, KindReply, VendorSettings
from seamline.connectors._ledger import SendLedger, undecided_sends
from seamline.connectors._oauth import (
    CredentialsNeeded,
    OAuthCredential,
    OAuthSettings,
    credential_report,
)
from seamline.connectors._oauth_flow import (
    AuthorizationFailed,
    Authorized,
    finish_authorization,
    listen_for_redirect,
    start_authorization,
)
from seamline.connectors._oauth_renew import Renewal, renew
from seamline.connectors._oauth_uses import OAuthUse, oauth_uses
from seamline.connectors._pipedrive import PipedriveConnector
from seamline.connectors._posthog import PostHogConnector, event_uuid
from seamline.connectors._postmark import PostmarkConnector
from seamline.connectors._registry import (
    ENTRY_POINT_GROUP,
    connector_handler,
    connector_problems,
    installed,
    is_connector_ref,
    parse_ref,
)
from seamline.connectors._resend import ResendConnector
from seamline.connectors._salesforce import SalesforceConnector
from seamline.connectors._sendgrid import SendGridConnector
from seamline.connectors._slack import SlackConnector
from seamline.connectors._smtp import SmtpConnector, message_id
from seamline.connectors._stripe import StripeConnector
from seamline.connectors._transport import VendorHTTP, retry_after_seconds
from seamline.connectors._twilio import TwilioConnector
from seamline.connectors._zendesk import ZendeskConnector

__all__ = [
    "ENTRY_POINT_GROUP",
    "Adapter",
    "AuthorizationFailed",
    "Authorized",
    "BadParams",
    "Connector",
    "ConnectorError",
    "ConnectorOptions",
    "CredentialsNeeded",
    "GoogleCalendarConnector",
    "HostPolicy",
    "HostRefused",
    "HttpConnector",
    "HubSpotConnector",
    "IntercomConnector",
    "Kind",
    "KindParams",
    "KindReply",
    "OAuthCredential",
    "OAuthSettings",
    "OAuthUse",
    "OutcomeUnknown",
    "Params",
    "PipedriveConnector",
    "PostHogConnector",
    "PostmarkConnector",
    "Renewal",
    "Reply",
    "ResendConnector",
    "SalesforceConnector",
    "SendGridConnector",
    "SendLedger",
    "SlackConnector",
    "SmtpConnector",
    "StripeConnector",
    "TwilioConnector",
    "UnexpectedReply",
    "VendorAuthFailed",
    "VendorHTTP",
    "VendorRejected",
    "VendorSettings",
    "VendorUnavailable",
    "ZendeskConnector",
    "connector_handler",
    "connector_problems",
    "credential_report",
    "event_id",
    "event_uuid",
    "finish_authorization",
    "installed",
    "is_connector_ref",
    "is_kind_ref",
    "kind_adapter",
    "kind_handler",
    "kind_problems",
    "kind_vendors",
    "kinds",
    "listen_for_redirect",
    "message_id",
    "oauth_uses",
    "parse_kind",
    "parse_ref",
    "renew",
    "retry_after_seconds",
    "start_authorization",
    "undecided_sends",
    "vendors_problems",
]
