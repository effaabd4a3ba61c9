"""``stripe``: update an object's metadata and refund a payment (form-encoded, ``Idempotency-Key``, ``Stripe-Version``).

Stripe dedupes on the idempotency key for 24 hours, so a retry with the same key
replays the first result instead of acting again; the API version is pinned per request.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from seamline.connectors._base import Connector, ConnectorOptions, Params, Reply
from seamline.connectors._errors import BadParams, VendorRejected, VendorUnavailable
from seamline.connectors._paths import fill

UPDATABLE = ("customers", "payment_intents", "charges", "subscriptions", "invoices",
             "products", "prices", "refunds")


class StripeOptions(ConnectorOptions):
    secret_key_env: str = "STRIPE_SECRET_KEY"
    api_version: str = "2024-06-20"
    object: str = Field("customers", description="Default object type when params name none.")


class UpdateMetadata(Params):
    id: str = Field(min_length=1)
    metadata: dict[str, str | int | float | None] = Field(min_length=1)
    object: str | None = None


class CreateRefund(Params):
    """https://docs.stripe.com/api/refunds/create: a PaymentIntent or a Charge, all or part."""

    payment_intent: str | None = Field(None, min_length=1)
    charge: str | None = Field(None, min_length=1)
    amount: int | None = Field(None, gt=0, description="In the smallest currency unit.")
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    metadata: dict[str, str | int | float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_payment(self) -> CreateRefund:
        if (self.payment_intent is None) == (self.charge is None):
            raise ValueError("a refund names exactly one of payment_intent and charge")
        return self


class StripeObject(Reply):
    id: str | None = None
    object: str | None = None
    metadata: dict[str, Any] | None = None


class StripeConnector(Connector):
    """Stripe API (secret key); the vendor dedupes on Idempotency-Key."""

    name = "stripe"
    api_version = "2024-06-20"
    idempotency = "vendor"
    operations = ("update_metadata", "create_refund")
    Options = StripeOptions
    credentials = ("secret_key_env",)
    default_base_url = "https://api.stripe.com"
    options: StripeOptions

    def __init__(self, options=None, **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        key = self.secret("secret_key_env")
        self._http = self.http({"Authorization": f"Bearer {key}",
                                "Stripe-Version": self.version})

    def vendor_message(self, body: Any) -> str:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            parts = [error.get(k) for k in ("type", "code", "message")]
            return " / ".join(str(x) for x in parts if isinstance(x, str))
        return ""

    def raise_for_status(self, response, operation: str) -> None:
        if response.status_code == 409:
            # idempotency_error: the key was used with other params; lock_timeout: retry.
            body = self.body(response)
            self.observe(f"{operation}.error", body if isinstance(body, dict) else None)
            said = self.vendor_message(body)
            if "lock_timeout" in said:
                raise VendorUnavailable(f"stripe answered 409 to {operation}: {said}.",
                                        connector=self.name, status=409, sent=False)
            raise VendorRejected(f"stripe answered 409 to {operation}: {said}.",
                                 connector=self.name, status=409)
        super().raise_for_status(response, operation)

    def update_metadata(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Set metadata keys on the object (a None value deletes one); returns ``{"id", "object"}``."""
        p = self.params(UpdateMetadata, params, "update_metadata")
        kind = p.object or self.options.object
        if kind not in UPDATABLE:
            raise BadParams(f"stripe.update_metadata updates {', '.join(UPDATABLE)}, "
                                 f"not {kind!r}.", connector=self.name)
        form = {f"metadata[{k}]": "" if v is None else str(v) for k, v in p.metadata.items()}
        path = fill("/v1/{kind}/{id}", {"kind": kind, "id": p.id}, connector=self.name)
        response = self._http.request("POST", path, data=form,
                                      headers={"Idempotency-Key": idempotency_key})
        reply = self.reply(response, StripeObject, "update_metadata", proof=("id", "object"))
        return {"id": reply.id, "object": reply.object,
                "replayed": response.headers.get("idempotent-replayed") == "true"}

    def create_refund(self, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Refund a payment (all, or ``amount``) once per key; Stripe replays a retry.

        Returns ``{"id", "status", "amount", "currency", "replayed"}``.
        """
        p = self.params(CreateRefund, params, "create_refund")
        form = {k: str(v) for k, v in p.model_dump(
            include={"payment_intent", "charge", "amount", "reason"}, exclude_none=True).items()}
        form |= {f"metadata[{k}]": str(v) for k, v in p.metadata.items()}
        response = self._http.request("POST", "/v1/refunds", data=form,
                                      headers={"Idempotency-Key": idempotency_key})
        reply = self.reply(response, StripeObject, "create_refund", proof=("id", "object"))
        found = reply.model_dump()
        return {"id": reply.id, "status": found.get("status"), "amount": found.get("amount"),
                "currency": found.get("currency"),
                "replayed": response.headers.get("idempotent-replayed") == "true"}
