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


class InputTooLarge(IngestError):
    """The event does not fit the context window and the policy is to dead-letter."""


class PromptError(SeamlineError):
    """A template failed to render (undefined variable, sandbox violation)."""


class InferenceError(SeamlineError):
    """A model call failed."""


class ProviderUnavailable(InferenceError):
    """The provider could not be reached or answered with a server error."""

    retryable = True


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
