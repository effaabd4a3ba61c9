"""``slack``: post a message with the Web API (chat.postMessage).

Slack has no idempotency key, so each send is recorded on our side and carries the key
in the message ``metadata``; after an interrupted attempt, conversations.history is
searched for that key before anything is sent again. A 200 with ``ok: false`` is a failure.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import Field

from seamline.connectors._base import Connector, ConnectorOptions, Params, Reply
from seamline.connectors._errors import (
    BadParams,
    ConnectorError,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
)

EVENT_TYPE = "seamline_action"
_AUTH_ERRORS = {"not_authed", "invalid_auth", "account_inactive", "token_revoked",
                "token_expired", "no_permission", "missing_scope", "not_allowed_token_type"}
_RETRY_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                 "request_timeout"}


class SlackOptions(ConnectorOptions):
    token_env: str = "SLACK_BOT_TOKEN"
    channel: str | None = Field(None, description="Default channel ID when params name none.")
    verify_margin_s: float = Field(300.0, ge=0, description="How far before an interrupted "
                                   "attempt conversations.history is searched.")


class PostMessage(Params):
    text: str = Field(min_length=1)
    channel: str | None = None
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] | None = None
    unfurl_links: bool | None = None


class SlackReply(Reply):
    ok: bool | None = None
    error: str | None = None
    channel: str | None = None
    ts: str | None = None


class SlackConnector(Connector):
    """Slack Web API; idempotency on our side, checked against the channel's history."""

    name = "slack"
    api_version = "web-api"  # Slack's Web API is unversioned; sent in the User-Agent
    idempotency = "ours"
    operations = ("post_message",)
    Options = SlackOptions
    credentials = ("token_env",)
    default_base_url = "https://slack.com/api"
    options: SlackOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        token = self.secret("token_env")
        self._http = self.http({"Authorization": f"Bearer {token}"})

    def post_message(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Post ``text`` to ``channel`` once per key; returns ``{"channel", "ts"}``."""
        p = self.params(PostMessage, params, "post_message")
        channel = p.channel or self.options.channel
        if not channel:
            raise BadParams("slack.post_message needs a channel, in its params or the "
                                 "connector option channel.", connector=self.name)
        body = {**p.model_dump(exclude_none=True), "channel": channel,
                "metadata": {"event_type": EVENT_TYPE,
                             "event_payload": {"idempotency_key": idempotency_key}}}

        def send() -> dict[str, Any]:
            response = self._http.request("POST", "/chat.postMessage", json=body)
            reply = self._result(response, "post_message", "chat.postMessage", ("ok", "ts"))
            return {"channel": reply.channel or channel, "ts": reply.ts}

        def verify(since: float) -> dict[str, Any] | None:
            return self._find(channel, idempotency_key, since - self.options.verify_margin_s)

        return self.once(idempotency_key, send, verify=verify, what="post_message")

    def _result(self, response: httpx.Response, operation: str, method: str,
                proof: tuple[str, ...]) -> SlackReply:
        """A Slack reply that proves success; ``ok: false`` (HTTP 200) raises by its error code."""
        self.raise_for_status(response, operation)
        body = self.body(response)
        if isinstance(body, dict) and body.get("ok") is False:
            self.observe(f"{operation}.error", body)
            code = body.get("error") if isinstance(body.get("error"), str) else "unknown_error"
            message = f"slack answered {method} with ok: false, error {code!r}."
            if code in _AUTH_ERRORS:
                raise VendorAuthFailed(message + " Check the token and its scopes.",
                                       connector=self.name, status=200)
            if code in _RETRY_ERRORS:
                raise VendorUnavailable(message, connector=self.name, status=200, sent=False)
            raise VendorRejected(message, connector=self.name, status=200)
        return self.reply(response, SlackReply, operation, proof=proof)

    def _find(self, channel: str, key: str, oldest: float) -> dict[str, Any] | None:
        """The message carrying ``key`` in its metadata, if Slack has it (None otherwise)."""
        cursor: str | None = None
        for _ in range(10):  # at most 10 pages of 200 messages
            query = {"channel": channel, "oldest": f"{max(oldest, 0):.6f}",
                     "include_all_metadata": "true", "limit": "200"}
            if cursor:
                query["cursor"] = cursor
            try:
                response = self._http.request("GET", "/conversations.history", params=query)
                body = self._result(response, "conversations_history", "conversations.history",
                                    ("ok",))
            except ConnectorError:
                return None  # cannot check: the ledger refuses rather than guess
            data = body.model_dump()
            for message in data.get("messages") or []:
                meta = message.get("metadata") if isinstance(message, dict) else None
                payload = (meta or {}).get("event_payload") or {}
                if (meta or {}).get("event_type") == EVENT_TYPE and \
                        payload.get("idempotency_key") == key:
                    return {"channel": channel, "ts": message.get("ts"), "recovered": True}
            cursor = ((data.get("response_metadata") or {}).get("next_cursor")) or None
            if not cursor:
                return None
        return None

