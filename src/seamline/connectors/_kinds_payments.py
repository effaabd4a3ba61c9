"""The ``payments`` family: ``payments.refund`` on Stripe.

Amounts are integers in the currency's smallest unit (cents, yen), as payment APIs take
them, so no rounding happens between the model's output and the vendor. Stripe dedupes on
the action's idempotency key, so a retry replays the first refund instead of a second.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from seamline.connectors._kinds import (
    Adapter,
    Family,
    Kind,
    KindParams,
    KindReply,
    VendorSettings,
    drop_none,
    text_id,
)


class Refund(KindParams):
    """Give back all or part of one payment."""

    payment_id: str = Field(min_length=1, description="The vendor's id of the payment.")
    amount_minor: int | None = Field(None, gt=0, description="How much, in the currency's "
                                     "smallest unit (cents); none: all that is left.")
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = Field(
        None, description="Why the payment is given back.")
    metadata: dict[str, str] = Field(default_factory=dict, description="Kept with the refund.")


class RefundReply(KindReply):
    status: str | None = Field(None, description="pending, succeeded, failed…")
    amount_minor: int | None = Field(None, description="What was refunded, smallest unit.")
    currency: str | None = Field(None, description="ISO 4217, lower case as Stripe writes it.")


def _stripe(p: Refund, s: VendorSettings) -> tuple[str, dict[str, Any]]:
    # Stripe names a payment by a PaymentIntent (pi_…) or, for older integrations, a Charge.
    target = "charge" if p.payment_id.startswith(("ch_", "py_")) else "payment_intent"
    return "create_refund", drop_none({target: p.payment_id, "amount": p.amount_minor,
                                       "reason": p.reason, "metadata": p.metadata or None})


def _refunded(reply: dict[str, Any]) -> dict[str, Any]:
    return {"id": text_id(reply.get("id")), "created": not reply.get("replayed"),
            "status": reply.get("status"), "amount_minor": reply.get("amount"),
            "currency": reply.get("currency")}


REFUND = Kind("payments.refund", "Refund all or part of a payment.", Refund, RefundReply)

PAYMENTS = Family("payments", (REFUND,), (
    Adapter("payments.refund", "stripe", ("create_refund",), _stripe, _refunded,
            note="payment_id pi_… is a PaymentIntent, ch_… a Charge; Idempotency-Key dedupes."),
))

__all__ = ["PAYMENTS", "Refund", "RefundReply"]
