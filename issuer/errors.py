"""Error classes with meaning, and every reason the controller writes, in one place.

The controller decides what to do from the class, never from a message:

* ``PendingError``: the operation is under way (RequestInProgress); poll again
  after ``retry_after`` seconds without consuming retry budget.
* ``RetryableError``: transient (throttling, 5xx, network): back off and retry;
  only these count against the max retry duration, and throttling never does.
* ``PermanentError``: retrying cannot help (malformed CSR, invalid arguments,
  template not allowed, validity beyond the CA): fail at once.
* ``IssuerError``: the issuer itself is unusable (bad credentials, CA
  disabled): the issuer goes not Ready and its requests wait for it.

``Reason`` holds every reason string an error, condition or Event carries;
``StrEnum`` members compare equal to their strings, so they serialise as is.
"""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    """Reasons of errors, conditions and Events (CamelCase, API-server valid)."""

    # cert-manager's Ready reasons of a CertificateRequest
    PENDING = "Pending"
    FAILED = "Failed"
    ISSUED = "Issued"
    DENIED = "Denied"
    # error classes (defaults of the classes below)
    ERROR = "Error"
    RETRYABLE = "RetryableError"
    PERMANENT = "PermanentError"
    ISSUER_NOT_READY = "IssuerNotReady"
    # AWS errors, as classified
    THROTTLED = "Throttled"
    QUOTA = "QuotaExceeded"
    AWS_UNAVAILABLE = "AWSUnavailable"
    NETWORK = "NetworkError"
    UNKNOWN_AWS = "UnknownAWSError"
    MALFORMED_CSR = "MalformedCSR"
    INVALID_REQUEST = "InvalidRequest"
    CREDENTIALS = "CredentialsError"
    ACCESS_DENIED = "AccessDenied"
    CA_NOT_FOUND = "CANotFound"
    CA_NOT_ACTIVE = "CANotActive"
    CERTIFICATE_NOT_FOUND = "CertificateNotFound"
    # issuer conditions
    VERIFIED = "Verified"
    INVALID_SPEC = "InvalidSpec"
    CA_UNREACHABLE = "CAUnreachable"
    ISSUER_ERROR = "IssuerError"
    NOT_CHECKED = "NotChecked"
    AMBIENT_DISABLED = "AmbientCredentialsDisabled"
    NO_CREDENTIALS = "NoCredentials"
    KUBERNETES_ERROR = "KubernetesError"
    # the request's own data
    INVALID_ARN = "InvalidArn"
    UNSUPPORTED_KEY = "UnsupportedKey"
    CSR_TOO_LARGE = "CSRTooLarge"
    INVALID_DURATION = "InvalidDuration"
    INVALID_NAME = "InvalidName"
    INVALID_CHAIN = "InvalidCertificateChain"
    CERTIFICATE_MISMATCH = "CertificateMismatch"
    UNSUPPORTED_KIND = "UnsupportedIssuerKind"
    # request Events
    WAITING_FOR_ISSUER = "WaitingForIssuer"
    RETRIES_EXHAUSTED = "RetriesExhausted"
    IGNORED_ARN = "IgnoredCertificateARN"
    REISSUED = "Reissued"
    WRITE_REFUSED = "WriteRefused"


class IssuerControllerError(Exception):
    """Base of every classified error. ``reason`` is a CamelCase condition reason."""

    reason: str = Reason.ERROR

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason

    def __str__(self) -> str:
        return self.message


class PendingError(IssuerControllerError):
    """Work is in progress elsewhere; check again later."""

    reason = Reason.PENDING

    def __init__(
        self, message: str, *, retry_after: float = 1.0, reason: str | None = None
    ) -> None:
        super().__init__(message, reason=reason)
        self.retry_after = retry_after


class RetryableError(IssuerControllerError):
    """A transient failure worth retrying with backoff."""

    reason = Reason.RETRYABLE


class PermanentError(IssuerControllerError):
    """A failure that no retry can fix; the request fails at once."""

    reason = Reason.PERMANENT


class IssuerError(IssuerControllerError):
    """The issuer (credentials, CA state) is unusable; it goes not Ready."""

    reason = Reason.ISSUER_NOT_READY
