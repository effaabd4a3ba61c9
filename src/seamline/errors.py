"""Every error Seamline raises, in one hierarchy.

The class name says which layer failed; ``retryable`` says whether trying the
same thing again can help. Callers catch by meaning, not by library.
"""

from __future__ import annotations


class SeamlineError(Exception):
    """Base of every error Seamline raises on purpose."""

    retryable: bool = False


class ConfigError(SeamlineError):
    """An integration declaration, file or option is missing or inconsistent."""


class IngestError(SeamlineError):
    """An event was refused at the door (schema, size, duplicate)."""


class InputInvalid(IngestError):
    """The event does not match the integration's input schema."""


class IngestBudgetExceeded(InputInvalid):
    """Redacting the event took more CPU than its budget; its text was not fully scanned,
    so none of it may be kept (store a note, never the raw or partly redacted text)."""


class InputTooLarge(IngestError):
    """The event does not fit the context window and the policy is to dead-letter."""


class PromptError(SeamlineError):
    """A template failed to render (undefined variable, sandbox violation)."""


class InferenceError(SeamlineError):
    """A model call failed."""


class ProviderError(InferenceError):
    """A provider answered with an error (or not at all); says whether retrying can help.

    ``status`` is the HTTP status when there was one; ``retry_after`` the seconds the
    provider asked us to wait (Retry-After / retry-after-ms), when it said so.
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 provider: str = "", model: str = "") -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after
        self.provider, self.model = provider, model


class ProviderUnavailable(ProviderError):
    """The provider could not be reached, timed out, or answered 5xx / 529 overloaded."""

    retryable = True


class RateLimited(ProviderUnavailable):
    """The provider answered 429; ``retry_after`` says how long it wants us to wait."""


class MalformedResponse(ProviderUnavailable):
    """The provider's HTTP body was not the JSON its API promises (truncated, garbled)."""


class RequestRejected(ProviderError):
    """The provider refused the request itself (400, 404, 422); the same request will fail again."""


class AuthenticationFailed(RequestRejected):
    """401 or 403: the key is missing, wrong, or lacks permission."""


class ContextTooLong(RequestRejected):
    """The prompt does not fit the model's context window."""


class ContentRefused(RequestRejected):
    """The model or the provider's safety system refused to answer."""


class CircuitOpen(ProviderUnavailable):
    """The circuit breaker for this provider and model is open; the call was not sent."""


class CannotFill(InferenceError):
    """A model that states its evidence found none for these required output fields.

    The on-device model raises it instead of inventing a value: the event is
    dead-lettered with the sentence ("the on-device model cannot fill refund_amount_usd
    from this input"), or a later model in the route's fallback chain answers instead.
    ``evidence`` is what the model did find, for the audit trail.
    """

    def __init__(self, fields: tuple[str, ...], *, why: dict[str, str] | None = None,
                 evidence: dict | None = None, model: str = "on-device model") -> None:
        names = list(fields)
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        reasons = [(n, (why or {}).get(n, "")) for n in names]
        detail = "; ".join(w if len(names) == 1 else f"{n}: {w}" for n, w in reasons if w)
        super().__init__(f"the {model} cannot fill {listed} from this input"
                         + (f" ({detail})" if detail else ""))
        self.fields, self.evidence = tuple(fields), dict(evidence or {})


class OutputError(SeamlineError):
    """A model reply could not be turned into a valid output."""


class NoJSONFound(OutputError):
    """The reply holds no JSON object."""


class AmbiguousJSON(OutputError):
    """The reply holds more than one JSON object, and guessing is not allowed."""


class PartialJSON(OutputError):
    """The reply holds a JSON object that was cut off or is malformed."""


class OutputInvalid(OutputError):
    """The JSON does not match the output schema."""


class AuditError(SeamlineError):
    """The audit trail was written wrongly or failed verification."""


class NotFound(SeamlineError):
    """A named event, approval or dead letter does not exist."""


class StoreBusy(SeamlineError):
    """Every connection to the store stayed in use for the whole bounded wait.

    Raised by ``Store.read()`` and ``Store.write()`` when the connection pool gave none
    within its ``pool_timeout`` (a few seconds), instead of waiting without end; nothing
    was read or written. ``retry_after`` is the seconds after which trying again can help.
    """

    retryable = True

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
