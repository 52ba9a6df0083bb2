"""The Sign/Check seam's pure parts, the ARN binding and the Kubernetes API error tree."""

from __future__ import annotations

import pytest

from issuer.errors import PermanentError, Reason
from issuer.kube.client import (
    ApiError,
    Conflict,
    Gone,
    NotFound,
    Refused,
    TooManyRequests,
    api_error,
    retry_after_seconds,
)
from issuer.signer.classify import classify_aws_error
from issuer.signer.signing import certificate_authority_of, check_public_key
from issuer.signer.token import arn_binding, idempotency_token
from tests.unit import pki_helpers as pki

CA = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/0123abcd-0123-4567-89ab-0123456789ab"
CERT = f"{CA}/certificate/0123456789abcdef0123456789abcdef"


def test_a_certificate_arn_names_its_ca() -> None:
    assert certificate_authority_of(CERT) == CA
    gov = CERT.replace("arn:aws:", "arn:aws-us-gov:")
    assert certificate_authority_of(gov) == CA.replace("arn:aws:", "arn:aws-us-gov:")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not-an-arn",
        CA,
        CERT + "0",
        CERT + "\n",
        "arn:" + "x" * 60_000,
        CERT.replace("/", "/../"),
    ],
)
def test_garbage_certificate_arns_are_permanent_and_never_echoed(bad: str) -> None:
    with pytest.raises(PermanentError) as info:
        certificate_authority_of(bad)
    assert info.value.reason == Reason.INVALID_ARN
    if len(bad) > 20:
        assert bad not in info.value.message


def test_the_binding_ties_an_arn_to_uid_and_csr() -> None:
    token = idempotency_token("uid-1", b"csr")
    binding = arn_binding(token, CERT)
    assert binding == arn_binding(idempotency_token("uid-1", b"csr"), CERT)
    assert binding != arn_binding(idempotency_token("uid-2", b"csr"), CERT)  # a copy
    assert binding != arn_binding(idempotency_token("uid-1", b"other"), CERT)  # CSR changed
    assert binding != arn_binding(token, CERT[:-1] + "0")  # another certificate


def test_a_certificate_with_another_key_is_refused() -> None:
    h = pki.hierarchy()
    leaf_pem = pki.pem(h.leaf)
    with pytest.raises(PermanentError) as info:
        check_public_key(leaf_pem, pki.make_csr(pki.ec_key()))
    assert info.value.reason == Reason.CERTIFICATE_MISMATCH


def test_get_certificate_resource_not_found_is_not_an_issuer_error() -> None:
    err = classify_aws_error(
        "ResourceNotFoundException", "no such certificate", 400, operation="GetCertificate"
    )
    assert isinstance(err, PermanentError)
    assert err.reason == Reason.CERTIFICATE_NOT_FOUND
    ca_err = classify_aws_error("ResourceNotFoundException", "no such CA", 400)
    assert ca_err.reason == Reason.CA_NOT_FOUND


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, Refused),
        (403, Refused),
        (404, NotFound),
        (409, Conflict),
        (410, Gone),
        (413, Refused),
        (422, Refused),
        (500, ApiError),
    ],
)
def test_api_error_tree(status: int, cls: type[ApiError]) -> None:
    err = api_error(status, {"message": "m"}, "PUT", "/x")
    assert type(err) is cls
    assert err.status == status
    assert err.message == "m"


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, 1.0),
        ("3", 3.0),
        ("0.5", 0.5),
        ("junk", 1.0),
        ("-4", 0.0),
        ("1e9", 60.0),
        ("nan", 1.0),
    ],
)
def test_too_many_requests_honours_retry_after(header: str | None, seconds: float) -> None:
    headers = {} if header is None else {"Retry-After": header}
    err = api_error(429, None, "GET", "/x", headers)
    assert isinstance(err, TooManyRequests)
    assert err.retry_after == seconds
    assert retry_after_seconds(header) == seconds
