"""The contract every outbound connector keeps, written once.

A connector is one small class: a ``name``, a pinned ``api_version`` it sends, the
credentials it reads from environment variables named in its options, and
operations ``op(params, *, idempotency_key) -> dict`` that the outbox calls as actions.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, TypeVar, overload

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from seamline.alerts import Alert, raise_alert
from seamline.connectors._errors import (
    BadParams,
    UnexpectedReply,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
)
from seamline.connectors._ledger import SendLedger, Verify
from seamline.connectors._oauth import OAuthCredential, OAuthSettings
from seamline.connectors._transport import VendorHTTP
from seamline.contracts import ContractBook, FieldPolicy
from seamline.errors import ConfigError
from seamline.scrub import register
from seamline.store import Store

log = logging.getLogger("seamline.connectors")

M = TypeVar("M", bound=BaseModel)
Idempotency = Literal["vendor", "ours"]


class ConnectorOptions(BaseModel):
    """Options every connector takes (from the action's ``connector:`` mapping); typos are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = None
    timeout_s: float = Field(10.0, gt=0)
    retry_budget_s: float = Field(30.0, ge=0, description="Longest total wait for 429/503 retries.")
    max_retries: int = Field(4, ge=0, le=10)
    # ``auth: oauth``: the bearer token comes from an OAuth 2.0 credential (``oauth:``
    # settings; see docs/connectors.md, *OAuth*) instead of a token in the environment.
    auth: Literal["token", "oauth"] = "token"
    oauth: OAuthSettings | None = None

    @model_validator(mode="after")
    def _oauth_settings_given(self) -> ConnectorOptions:
        if self.auth == "oauth" and self.oauth is None:
            raise ValueError("auth: oauth needs an oauth: mapping (authorize_url, token_url, "
                             "client_id_env, …)")
        return self


class Reply(BaseModel):
    """Base of reply models: every field optional until proven required, unknown fields kept."""

    model_config = ConfigDict(extra="allow")


class Params(BaseModel):
    """Base of an operation's params: what the action hands over, checked before sending."""

    model_config = ConfigDict(extra="forbid")


class Connector:
    """One vendor API, reached as actions (subclass it; see docs/connectors.md).

    Class attributes a subclass sets:

    - ``name``: how actions name it (``connector:NAME.operation``);
    - ``api_version``: the vendor API version it was written and tested against, pinned
      and sent with every request (header, path or User-Agent, whatever the vendor reads);
    - ``idempotency``: ``"vendor"`` when the vendor dedupes on a key we send, ``"ours"``
      when :meth:`once` enforces it in the ``connector_sends`` table;
    - ``operations``: the methods callable as actions, each
      ``op(self, params: dict, *, idempotency_key: str) -> dict``;
    - ``Options``: a :class:`ConnectorOptions` subclass; ``credentials`` names its fields
      that hold environment variable *names* (the values are read with :meth:`secret`).
    """

    name: ClassVar[str]
    api_version: ClassVar[str]
    idempotency: ClassVar[Idempotency]
    operations: ClassVar[tuple[str, ...]]
    Options: ClassVar[type[ConnectorOptions]] = ConnectorOptions
    credentials: ClassVar[tuple[str, ...]] = ()
    default_base_url: ClassVar[str] = ""
    supports_oauth: ClassVar[bool] = False  # sends a bearer token that ``auth: oauth`` can give

    def __init__(self, options: Mapping[str, Any] | None = None, *, store: Store | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None) -> None:
        try:
            self.options = self.Options.model_validate(dict(options or {}))
        except ValidationError as exc:
            raise ConfigError(f"The options of the {self.name} connector are invalid: "
                              f"{_sentences(exc)}.") from None
        self.store = store
        self._contracts = ContractBook(store) if store is not None else None
        self._ledger = SendLedger(store, self.name) if store is not None else None
        self._sleep, self._transport = sleep, transport
        self.oauth = self._oauth_credential()

    def _oauth_credential(self) -> OAuthCredential | None:
        """The OAuth credential when the options say ``auth: oauth`` (no request made yet)."""
        if self.options.auth != "oauth" or self.options.oauth is None:
            return None
        if not self.supports_oauth:
            raise ConfigError(f"The {self.name} connector does not take auth: oauth; remove it "
                              "or use a connector that sends a bearer token.")
        if self.store is None:
            raise ConfigError(f"The {self.name} connector keeps its OAuth tokens in the store "
                              "and needs one; build it with store=… (the outbox does).")
        return OAuthCredential(self.store, self.options.oauth, connector=self.name,
                               sleep=self._sleep)

    # -- credentials -------------------------------------------------------------------

    @overload
    def secret(self, option: str, *, required: Literal[True] = True) -> str: ...

    @overload
    def secret(self, option: str, *, required: bool) -> str | None: ...

    def secret(self, option: str, *, required: bool = True) -> str | None:
        """The value of the environment variable named by option ``option`` (never logged)."""
        var = getattr(self.options, option)
        if not var:
            if required:
                raise ConfigError(f"The {self.name} connector needs the option {option} "
                                  "naming the environment variable that holds its credential.")
            return None
        register([var])  # its value is a secret whatever the variable is called: scrubbed
        value = os.environ.get(var)
        if not value and required:
            raise ConfigError(f"The {self.name} connector reads its credential from the "
                              f"environment variable {var}, which is not set; set it, or name "
                              f"another variable with the option {option}.")
        return value or None

    @classmethod
    def env_vars(cls) -> list[str]:
        """The environment variables this connector reads by default (for ``connectors list``)."""
        fields = cls.Options.model_fields
        return [str(fields[o].default) for o in cls.credentials if fields[o].default]

    @classmethod
    def option_problems(cls, options: ConnectorOptions) -> list[str]:
        """What ``seamline check`` should say about valid options beyond credentials: here,
        an ``auth: oauth`` connector's client id/secret variables that are not set."""
        if options.auth != "oauth" or options.oauth is None:
            return []
        if not cls.supports_oauth:
            return [f"The {cls.name} connector does not take auth: oauth."]
        return [f"The {cls.name} connector's OAuth client reads the environment variable {var}, "
                "which is not set." for var in (options.oauth.client_id_env,
                                                options.oauth.client_secret_env)
                if var and not os.environ.get(var)]

    # -- sending -----------------------------------------------------------------------

    def http(self, headers: Mapping[str, str], *, auth: Any = None,
             default_base_url: str | None = None, base_url: str | None = None) -> VendorHTTP:
        """The vendor's HTTP client: base URL (option first), pinned version in the User-Agent.

        ``base_url`` overrides the option: the host a token endpoint named (Salesforce)."""
        base = base_url or self.options.base_url or default_base_url or self.default_base_url
        if not base:
            raise ConfigError(f"The {self.name} connector needs the option base_url.")
        ua = {"User-Agent": f"seamline-connector/{self.name} (api {self.version})"}
        if auth is None and self.oauth is not None:  # a fresh bearer token on every request
            auth = self.oauth.auth()
        return VendorHTTP(self.name, base, headers={**ua, **headers}, auth=auth,
                          timeout_s=self.options.timeout_s,
                          retry_budget_s=self.options.retry_budget_s,
                          max_retries=self.options.max_retries, sleep=self._sleep,
                          transport=self._transport)

    def once(self, key: str, send: Callable[[], dict[str, Any]], *, verify: Verify | None = None,
             what: str = "send") -> dict[str, Any]:
        """Our-side idempotency: at most one effect per key (needs the store)."""
        if self._ledger is None:
            raise ConfigError(f"The {self.name} connector enforces idempotency on our side and "
                              "needs a store; build it with store=… (the outbox does).")
        return self._ledger.once(key, send, verify=verify, what=what)

    def params(self, model: type[M], params: Mapping[str, Any], operation: str) -> M:
        try:
            return model.model_validate(dict(params))
        except ValidationError as exc:
            raise BadParams(f"The params of {self.name}.{operation} are invalid: "
                            f"{_sentences(exc)}.", connector=self.name) from None

    # -- replies -----------------------------------------------------------------------

    def body(self, response: httpx.Response) -> Any:
        """The JSON body, None when empty, ``NOT_JSON`` when it is not JSON (never raises)."""
        if not response.content:
            return None
        try:
            return json.loads(response.content)
        except ValueError:
            return NOT_JSON

    def vendor_message(self, body: Any) -> str:
        """The vendor's own words from an error body; subclasses know where they are."""
        if isinstance(body, dict):
            for key in ("message", "error_description", "error", "description"):
                if isinstance(body.get(key), str):
                    return body[key]
        return ""

    def raise_for_status(self, response: httpx.Response, operation: str) -> None:
        """Turn a non-2xx reply into the error that says what to do; record its shape."""
        status = response.status_code
        if 200 <= status < 300:
            return
        body = self.body(response)
        self.observe(f"{operation}.error", body if body is not NOT_JSON else None)
        said = self.vendor_message(body if body is not NOT_JSON else None)
        message = (f"{self.name} answered {status} to {operation}"
                   + (f": {said}" if said else "") + ".")
        if status in (401, 403):
            raise VendorAuthFailed(message + " Check the credential and its permissions.",
                                   connector=self.name, status=status)
        if status == 409 or status >= 500:
            # 5xx may have acted; 409 is a conflict that usually clears.
            raise VendorUnavailable(message, connector=self.name, status=status,
                                    sent=False if status in (409, 503) else None)
        raise VendorRejected(message, connector=self.name, status=status)

    def observe(self, operation: str, payload: Any, required: tuple[str, ...] = ()) -> None:
        """Record the reply's shape under ``NAME.operation`` and the pinned API version."""
        if self._contracts is None:
            return
        try:
            self._contracts.observe("outbound", f"{self.name}.{operation}", self.version,
                                    payload if payload is not NOT_JSON else None,
                                    FieldPolicy(required=required))
        except Exception:  # recording a shape must not turn a done action into a failed one
            log.exception("recording the reply shape of %s.%s failed", self.name, operation)

    def reply(self, response: httpx.Response, model: type[M], operation: str, *,
              proof: tuple[str, ...]) -> M:
        """Parse a 2xx reply defensively: its shape is observed, and it must hold ``proof``.

        ``proof`` are the dotted fields whose presence proves the vendor acted; without
        them (or without JSON at all) the reply is an :class:`UnexpectedReply`, never a
        success.
        """
        self.raise_for_status(response, operation)
        body = self.body(response)
        self.observe(operation, body, proof)
        missing = [p for p in proof if _lookup(body, p) is None]
        problem = ("its body is not JSON" if body is NOT_JSON else
                   "its body is empty" if body is None else
                   "its body is not a JSON object" if not isinstance(body, dict) else
                   f"it lacks {', '.join(missing)}, which would prove it acted" if missing else "")
        parsed: M | None = None
        if not problem:
            try:
                parsed = model.model_validate(body)
            except ValidationError as exc:
                problem = f"its fields have unexpected types ({_sentences(exc)})"
        if parsed is None:
            error = UnexpectedReply(
                f"{self.name} answered {operation} with HTTP {response.status_code} but {problem}; "
                f"the reply's shape was recorded as drift of contract {self.name}.{operation} "
                f"(API {self.version}) and the action is not counted as done.",
                connector=self.name, status=response.status_code)
            # Loud, whether or not the contract had learned the shape yet: a person looks.
            raise_alert(self._contracts.store if self._contracts else None, Alert(
                "unexpected_reply", str(error), "critical",
                {"connector": self.name, "operation": operation, "version": self.version}))
            raise error
        return parsed

    @property
    def version(self) -> str:
        """The API version in force: the pinned one unless options pin another."""
        return str(getattr(self.options, "api_version", None) or self.api_version)

    def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> dict:
        """Run one operation as an action (the outbox's entry point)."""
        if operation not in self.operations:
            raise ConfigError(f"The {self.name} connector has no operation {operation!r}; it has "
                              f"{', '.join(self.operations)}.")
        return getattr(self, operation)(dict(params), idempotency_key=idempotency_key)


class _NotJSON:
    def __repr__(self) -> str:
        return "NOT_JSON"


NOT_JSON: Any = _NotJSON()


def _lookup(body: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def _sentences(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}"
                     for e in exc.errors()[:5])
