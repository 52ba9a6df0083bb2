"""AWS error classification: every code, HTTP fallbacks, botocore exceptions."""

from __future__ import annotations

from typing import Any, cast

import pytest
from botocore import exceptions as boto_exc

from issuer.errors import (
    IssuerControllerError,
    IssuerError,
    PendingError,
    PermanentError,
    RetryableError,
)
from issuer.signer.classify import classify_aws_error, classify_exception

CODES: list[tuple[str, type[IssuerControllerError], str]] = [
    ("RequestInProgressException", PendingError, "Pending"),
    ("ThrottlingException", RetryableError, "Throttled"),
    ("Throttling", RetryableError, "Throttled"),
    ("TooManyRequestsException", RetryableError, "Throttled"),
    ("RequestLimitExceeded", RetryableError, "Throttled"),
    ("SlowDown", RetryableError, "Throttled"),
    ("PriorRequestNotComplete", RetryableError, "Throttled"),
    ("LimitExceededException", RetryableError, "QuotaExceeded"),
    ("ServiceUnavailable", RetryableError, "AWSUnavailable"),
    ("ServiceUnavailableException", RetryableError, "AWSUnavailable"),
    ("InternalFailure", RetryableError, "AWSUnavailable"),
    ("InternalError", RetryableError, "AWSUnavailable"),
    ("InternalServerError", RetryableError, "AWSUnavailable"),
    ("RequestTimeout", RetryableError, "AWSUnavailable"),
    ("RequestTimeoutException", RetryableError, "AWSUnavailable"),
    ("ConcurrentModificationException", RetryableError, "AWSUnavailable"),
    ("IDPCommunicationError", RetryableError, "AWSUnavailable"),
    ("MalformedCSRException", PermanentError, "MalformedCSR"),
    ("InvalidArgsException", PermanentError, "InvalidRequest"),
    ("ValidationException", PermanentError, "InvalidRequest"),
    ("InvalidParameterException", PermanentError, "InvalidRequest"),
    ("InvalidRequestException", PermanentError, "InvalidRequest"),
    ("MalformedCertificateException", PermanentError, "InvalidRequest"),
    ("InvalidPolicyException", PermanentError, "InvalidRequest"),
    ("InvalidStateException", IssuerError, "CANotActive"),
    ("AccessDeniedException", IssuerError, "AccessDenied"),
    ("AccessDenied", IssuerError, "AccessDenied"),
    ("UnrecognizedClientException", IssuerError, "CredentialsError"),
    ("InvalidClientTokenId", IssuerError, "CredentialsError"),
    ("InvalidSignatureException", IssuerError, "CredentialsError"),
    ("SignatureDoesNotMatch", IssuerError, "CredentialsError"),
    ("ExpiredTokenException", IssuerError, "CredentialsError"),
    ("ExpiredToken", IssuerError, "CredentialsError"),
    ("InvalidIdentityToken", IssuerError, "CredentialsError"),
    ("IDPRejectedClaim", IssuerError, "CredentialsError"),
    ("MissingAuthenticationToken", IssuerError, "CredentialsError"),
    ("ResourceNotFoundException", IssuerError, "CANotFound"),
    ("InvalidArnException", IssuerError, "CANotFound"),
]


@pytest.mark.parametrize(("code", "cls", "reason"), CODES, ids=[c[0] for c in CODES])
def test_every_code(code: str, cls: type[IssuerControllerError], reason: str) -> None:
    err = classify_aws_error(code, "the service says why", 400)
    assert type(err) is cls
    assert err.reason == reason
    assert "the service says why" in err.message
    assert code in err.message


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("SomethingNew", 500, RetryableError),
        ("SomethingNew", 503, RetryableError),
        ("SomethingNew", 400, RetryableError),  # unknown 4xx: retried, bounded by max retry
        ("SomethingNew", None, RetryableError),
        ("", None, RetryableError),
        ("MalformedCSRException", 500, PermanentError),  # a known code wins over the status
    ],
)
def test_status_fallbacks(code: str, status: int | None, cls: type[IssuerControllerError]) -> None:
    assert type(classify_aws_error(code, "m", status)) is cls


def test_pending_has_retry_after() -> None:
    err = classify_aws_error("RequestInProgressException", "not yet", 400)
    assert isinstance(err, PendingError)
    assert 0 < err.retry_after <= 5


def test_human_message() -> None:
    err = classify_aws_error("MalformedCSRException", "CSR signature is invalid", 400)
    assert (
        err.message == "AWS PCA refused the CSR: CSR signature is invalid [MalformedCSRException]"
    )
    assert "(no message)" in classify_aws_error("ThrottlingException", "  ", 400).message


def _client_error(code: str, status: int) -> boto_exc.ClientError:
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": f"{code} happened"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return boto_exc.ClientError(cast(Any, response), "IssueCertificate")


EXCEPTIONS: list[tuple[str, BaseException, type[IssuerControllerError], str]] = [
    ("client throttling", _client_error("ThrottlingException", 400), RetryableError, "Throttled"),
    ("client csr", _client_error("MalformedCSRException", 400), PermanentError, "MalformedCSR"),
    ("client 502", _client_error("BadGateway", 502), RetryableError, "AWSUnavailable"),
    ("client state", _client_error("InvalidStateException", 400), IssuerError, "CANotActive"),
    (
        "client without metadata",
        boto_exc.ClientError({"Error": {"Code": "RequestInProgressException"}}, "GetCertificate"),
        PendingError,
        "Pending",
    ),
    (
        "endpoint",
        boto_exc.EndpointConnectionError(endpoint_url="https://acm-pca.us-east-1.amazonaws.com"),
        RetryableError,
        "NetworkError",
    ),
    (
        "connect timeout",
        boto_exc.ConnectTimeoutError(endpoint_url="x"),
        RetryableError,
        "NetworkError",
    ),
    ("read timeout", boto_exc.ReadTimeoutError(endpoint_url="x"), RetryableError, "NetworkError"),
    ("closed", boto_exc.ConnectionClosedError(endpoint_url="x"), RetryableError, "NetworkError"),
    ("os timeout", TimeoutError("slow"), RetryableError, "NetworkError"),
    ("reset", ConnectionResetError("reset"), RetryableError, "NetworkError"),
    ("no credentials", boto_exc.NoCredentialsError(), IssuerError, "CredentialsError"),
    (
        "partial credentials",
        boto_exc.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
        IssuerError,
        "CredentialsError",
    ),
    (
        "credential retrieval",
        boto_exc.CredentialRetrievalError(provider="sts", error_msg="denied"),
        IssuerError,
        "CredentialsError",
    ),
    ("no region", boto_exc.NoRegionError(), IssuerError, "CredentialsError"),
    (
        "param validation",
        boto_exc.ParamValidationError(report="Invalid length for parameter Csr"),
        PermanentError,
        "InvalidRequest",
    ),
    ("anything else", RuntimeError("boom"), RetryableError, "UnknownAWSError"),
]


@pytest.mark.parametrize(
    ("case", "exc", "cls", "reason"), EXCEPTIONS, ids=[e[0] for e in EXCEPTIONS]
)
def test_classify_exception(
    case: str, exc: BaseException, cls: type[IssuerControllerError], reason: str
) -> None:
    err = classify_exception(exc)
    assert type(err) is cls, case
    assert err.reason == reason, case
    assert err.message


@pytest.mark.parametrize(
    "err",
    [PermanentError("x", reason="Custom"), PendingError("p", retry_after=7), IssuerError("i")],
)
def test_already_classified_passes_through(err: IssuerControllerError) -> None:
    assert classify_exception(err) is err
