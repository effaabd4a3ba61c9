"""Errors of the outbound connectors, by what the caller can do about them.

Every error says whether the vendor may have acted (``sent``): ``False`` when it
certainly did not (refused, rate limited, unreachable), ``None`` when nobody knows
(a timeout after the request left, a 2xx whose body does not prove success). The
send ledger uses that to decide whether a retry may send again.
"""

from __future__ import annotations

from seamline.errors import SeamlineError


class ConnectorError(SeamlineError):
    """A connector failed to act; ``connector`` names it, ``status`` is the HTTP status if any.

    ``retryable`` tells the outbox whether trying again may help: only an unavailable vendor
    (and an unexpected reply, which a vendor's hiccup can cause) is worth another attempt.
    """

    retryable = False

    def __init__(self, message: str, *, connector: str = "", status: int | None = None,
                 sent: bool | None = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.connector, self.status, self.sent, self.retry_after = connector, status, sent, retry_after


class VendorUnavailable(ConnectorError):
    """The vendor could not be reached, timed out, answered 5xx, or kept answering 429."""

    retryable = True


class VendorRejected(ConnectorError):
    """The vendor refused the request itself (400, 404, 409, 422, Slack ``ok: false``)."""


class VendorAuthFailed(VendorRejected):
    """401 or 403: the credential is wrong, revoked, or lacks a permission."""


class BadParams(ConnectorError):
    """The action's params do not hold what the connector's operation needs."""


class UnexpectedReply(ConnectorError):
    """A reply whose shape does not prove success (missing field, not JSON): never a silent success.

    Its shape is recorded as drift (and alert hooks run); the action fails and, after
    its retries, is dead-lettered for a person to look at.
    """

    retryable = True

    def __init__(self, message: str, **kwargs) -> None:
        kwargs.setdefault("sent", None)
        super().__init__(message, **kwargs)


class OutcomeUnknown(ConnectorError):
    """An earlier attempt with this key may have acted and the vendor cannot confirm it.

    Sending again could act twice, so the connector refuses; a person decides.
    """

    def __init__(self, message: str, **kwargs) -> None:
        kwargs.setdefault("sent", None)
        super().__init__(message, **kwargs)
