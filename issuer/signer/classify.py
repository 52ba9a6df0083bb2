"""Classification of AWS (PCA and STS) errors into the controller's error classes.

The controller acts on the class, so this table is where "retry or fail" is
decided:

* ``RequestInProgressException``: PendingError (poll again, no retry budget).
* throttling, 5xx, timeouts, network errors: RetryableError.
* the request itself is wrong (malformed CSR, invalid arguments, validation):
  PermanentError, the request fails at once.
* credentials, permissions, the CA missing or not ACTIVE: IssuerError, the
  issuer goes not Ready and its requests wait.

Unknown codes, 4xx included, are *retryable*: a platform engineer would rather
see an unrecognised error (a new throttling code, a transient service quirk)
retried with backoff, visible in events, until the max retry duration ends it,
than a request failed for ever on the first unknown answer. The cost is
bounded by that duration. Reasons are fixed CamelCase categories; the AWS
code is in the message.
"""

from __future__ import annotations

from botocore import exceptions as boto_exc

from issuer.errors import (
    IssuerControllerError,
    IssuerError,
    PendingError,
    PermanentError,
    Reason,
    RetryableError,
)

PENDING_RETRY_SECONDS = 1.0


_THROTTLING = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
_UNAVAILABLE = frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "InternalServiceError",
        "InternalServiceErrorException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ConcurrentModificationException",
        "IDPCommunicationError",
        "RequestTimeTooSkewed",
    }
)
_MALFORMED_CSR = frozenset({"MalformedCSRException"})
_INVALID_REQUEST = frozenset(
    {
        "InvalidArgsException",
        "ValidationException",
        "InvalidParameterException",
        "InvalidParameterValue",
        "InvalidParameterCombination",
        "InvalidRequestException",
        "MalformedCertificateException",
        "InvalidPolicyException",
    }
)
_CREDENTIALS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidIdentityToken",
        "IDPRejectedClaim",
        "MissingAuthenticationToken",
        "IncompleteSignature",
        "InvalidAccessKeyId",
        "AuthFailure",
    }
)
_ACCESS_DENIED = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnauthorizedOperation",
        "OptInRequired",
        "RegionDisabledException",
    }
)
_CA_NOT_FOUND = frozenset({"ResourceNotFoundException", "InvalidArnException"})
_CA_NOT_ACTIVE = frozenset({"InvalidStateException"})


def _said(code: str, message: str) -> str:
    text = message.strip() or "(no message)"
    return f"{text} [{code}]" if code else text


def classify_aws_error(
    code: str, message: str, http_status: int | None, *, operation: str = ""
) -> IssuerControllerError:
    """The error class for an AWS error ``code`` with its service ``message`` and HTTP status.

    ResourceNotFound answering GetCertificate names the certificate, not the
    issuer's CA: the request's certificate ARN is wrong or its CA is gone,
    which says nothing about the issuer's health.
    """
    said = _said(code, message)
    if operation == "GetCertificate" and code == "ResourceNotFoundException":
        return PermanentError(
            f"AWS PCA does not know the certificate: {said}",
            reason=Reason.CERTIFICATE_NOT_FOUND,
        )
    if code == "RequestInProgressException":
        return PendingError(
            f"AWS PCA is still issuing the certificate: {said}",
            retry_after=PENDING_RETRY_SECONDS,
        )
    if code in _THROTTLING:
        return RetryableError(f"AWS is throttling requests: {said}", reason=Reason.THROTTLED)
    if code == "LimitExceededException":
        return RetryableError(f"an AWS Private CA quota is exceeded: {said}", reason=Reason.QUOTA)
    if code in _UNAVAILABLE:
        return RetryableError(f"AWS had a transient failure: {said}", reason=Reason.AWS_UNAVAILABLE)
    if code in _MALFORMED_CSR:
        return PermanentError(f"AWS PCA refused the CSR: {said}", reason=Reason.MALFORMED_CSR)
    if code in _INVALID_REQUEST:
        return PermanentError(
            f"AWS PCA rejected the request as invalid: {said}", reason=Reason.INVALID_REQUEST
        )
    if code in _CREDENTIALS:
        return IssuerError(
            f"AWS did not accept the issuer's credentials: {said}", reason=Reason.CREDENTIALS
        )
    if code in _ACCESS_DENIED:
        return IssuerError(
            f"the issuer's AWS identity is not allowed to do this: {said}",
            reason=Reason.ACCESS_DENIED,
        )
    if code in _CA_NOT_FOUND:
        return IssuerError(
            f"AWS PCA cannot find the certificate authority or certificate: {said}",
            reason=Reason.CA_NOT_FOUND,
        )
    if code in _CA_NOT_ACTIVE:
        return IssuerError(
            f"the certificate authority is not ACTIVE: {said}", reason=Reason.CA_NOT_ACTIVE
        )
    if http_status is not None and http_status >= 500:
        return RetryableError(
            f"AWS had a server error (HTTP {http_status}): {said}", reason=Reason.AWS_UNAVAILABLE
        )
    status = f" (HTTP {http_status})" if http_status is not None else ""
    return RetryableError(
        f"AWS returned an unrecognised error{status}, retrying: {said}", reason=Reason.UNKNOWN_AWS
    )


_NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    boto_exc.EndpointConnectionError,
    boto_exc.ConnectTimeoutError,
    boto_exc.ReadTimeoutError,
    boto_exc.ConnectionClosedError,
    boto_exc.HTTPClientError,
    boto_exc.ConnectionError,
    TimeoutError,
    ConnectionError,
)
_CREDENTIAL_ERRORS: tuple[type[BaseException], ...] = (
    boto_exc.NoCredentialsError,
    boto_exc.PartialCredentialsError,
    boto_exc.CredentialRetrievalError,
    boto_exc.NoRegionError,
)


def classify_exception(exc: BaseException, *, operation: str = "") -> IssuerControllerError:
    """The error class for an exception raised by boto3/botocore (or already classified)
    while calling ``operation``."""
    if isinstance(exc, IssuerControllerError):
        return exc
    if isinstance(exc, boto_exc.ClientError):
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        status = meta.get("HTTPStatusCode")
        return classify_aws_error(
            str(error.get("Code", "")),
            str(error.get("Message", "")),
            status if isinstance(status, int) else None,
            operation=operation,
        )
    if isinstance(exc, _CREDENTIAL_ERRORS):
        return IssuerError(
            f"no usable AWS credentials for the issuer: {exc}", reason=Reason.CREDENTIALS
        )
    if isinstance(exc, _NETWORK_ERRORS):
        return RetryableError(f"cannot reach AWS: {exc}", reason=Reason.NETWORK)
    if isinstance(exc, boto_exc.ParamValidationError):
        return PermanentError(
            f"the request to AWS PCA has invalid parameters: {exc}", reason=Reason.INVALID_REQUEST
        )
    return RetryableError(
        f"unexpected error talking to AWS ({type(exc).__name__}): {exc}", reason=Reason.UNKNOWN_AWS
    )
