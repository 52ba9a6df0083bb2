"""Error classes with meaning, shared by every layer.

The controller decides what to do from the class, never from a message:

* ``PendingError``: the operation is under way (RequestInProgress); poll again
  after ``retry_after`` seconds without consuming retry budget.
* ``RetryableError``: transient (throttling, 5xx, network, issuer not ready):
  back off and retry until the max retry duration, then fail.
* ``PermanentError``: retrying cannot help (malformed CSR, invalid arguments,
  template not allowed, validity beyond the CA): fail at once.
* ``IssuerError``: the issuer itself is unusable (bad credentials, CA
  disabled): the issuer goes not Ready and its requests wait.
"""

from __future__ import annotations


class IssuerControllerError(Exception):
    """Base of every classified error. ``reason`` is a CamelCase condition reason."""

    reason: str = "Error"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason

    def __str__(self) -> str:
        return self.message


class PendingError(IssuerControllerError):
    """Work is in progress elsewhere; check again later."""

    reason = "Pending"

    def __init__(
        self, message: str, *, retry_after: float = 1.0, reason: str | None = None
    ) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = retry_after


class RetryableError(IssuerControllerError):
    """A transient failure worth retrying with backoff."""

    reason = "RetryableError"


class PermanentError(IssuerControllerError):
    """A failure that no retry can fix; the request fails at once."""

    reason = "PermanentError"


class IssuerError(IssuerControllerError):
    """The issuer (credentials, CA state) is unusable; it goes not Ready."""

    reason = "IssuerNotReady"
