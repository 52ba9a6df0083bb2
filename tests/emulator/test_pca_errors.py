"""Service errors, validity rules, idempotency, async issuance, throttling, faults, call log."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from awspca_devstack.csrs import make_csr
from awspca_emulator import AdminClient
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID
from mypy_boto3_acm_pca import ACMPCAClient

from .helpers import error_code, fetch, issue, issue_and_fetch

pytestmark = pytest.mark.timeout(60)


def _tampered_csr() -> bytes:
    pem, _ = make_csr("tamper.test")
    der = bytearray(x509.load_pem_x509_csr(pem).public_bytes(serialization.Encoding.DER))
    der[-5] ^= 0xFF  # inside the signature
    b64 = base64.encodebytes(bytes(der)).decode()
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{b64}-----END CERTIFICATE REQUEST-----\n".encode()


def _ed25519_csr() -> bytes:
    key = ed25519.Ed25519PrivateKey.generate()
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ed.test")]))
        .sign(key, None)
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def _bad_pem() -> bytes:
    return b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"


@pytest.mark.parametrize(
    "csr",
    [
        pytest.param(lambda: b"this is not a csr", id="garbage"),
        pytest.param(_bad_pem, id="bad-der"),
        pytest.param(_tampered_csr, id="bad-signature"),
        pytest.param(_ed25519_csr, id="unsupported-key"),
    ],
)
def test_malformed_csr(pca: ACMPCAClient, ec_pki: dict[str, Any], csr: Any) -> None:
    with pytest.raises(ClientError) as exc:
        issue(pca, ec_pki["subordinate_arn"], csr())
    assert error_code(exc) == "MalformedCSRException"


def test_signing_algorithm_must_fit_the_ca_key(pca: ACMPCAClient, ec_pki: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as exc:
        issue(pca, ec_pki["subordinate_arn"], signing="SHA256WITHRSA")
    assert error_code(exc) == "InvalidArgsException"
    cert = issue_and_fetch(pca, ec_pki["subordinate_arn"], signing="SHA384WITHECDSA")
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA384)


def test_validity_types(pca: ACMPCAClient, ec_pki: dict[str, Any]) -> None:
    sub = ec_pki["subordinate_arn"]
    now = datetime.now(UTC)
    end = (now + timedelta(days=3)).replace(microsecond=0)
    cases = {
        "DAYS": (7, now + timedelta(days=7)),
        "MONTHS": (1, now + timedelta(days=28)),
        "YEARS": (1, now + timedelta(days=365)),
        "ABSOLUTE": (int(end.timestamp()), end),
        "END_DATE": (int(end.strftime("%Y%m%d%H%M%S")), end),
    }
    for kind, (value, expected) in cases.items():
        cert = issue_and_fetch(pca, sub, validity={"Type": kind, "Value": value})
        tolerance = timedelta(days=4) if kind == "MONTHS" else timedelta(minutes=2)
        assert abs(cert.not_valid_after_utc - expected) < tolerance, kind
        backdate = now - cert.not_valid_before_utc
        assert timedelta(minutes=59) < backdate < timedelta(minutes=62), kind


def test_validity_beyond_the_ca(pca: ACMPCAClient, ec_pki: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as exc:
        issue(pca, ec_pki["subordinate_arn"], validity={"Type": "YEARS", "Value": 50})
    assert error_code(exc) == "ValidationException"


def test_unknown_ca_and_bad_arns(pca: ACMPCAClient, ec_pki: dict[str, Any]) -> None:
    missing = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/00000000-0000-0000-0000-000000000000"
    with pytest.raises(ClientError) as exc:
        pca.describe_certificate_authority(CertificateAuthorityArn=missing)
    assert error_code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        issue(pca, missing)
    assert error_code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        pca.describe_certificate_authority(
            CertificateAuthorityArn="arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/nope"
        )
    assert error_code(exc) == "InvalidArnException"
    # Not even ARN-shaped: the service model's pattern refuses it before the operation runs.
    with pytest.raises(ClientError) as exc:
        pca.describe_certificate_authority(CertificateAuthorityArn="garbage-arn")
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        pca.get_certificate(
            CertificateAuthorityArn=ec_pki["subordinate_arn"],
            CertificateArn="not-a-certificate-arn",
        )
    assert error_code(exc) == "ValidationException"
    assert "'certificateArn'" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        pca.get_certificate(
            CertificateAuthorityArn=ec_pki["subordinate_arn"],
            CertificateArn=ec_pki["subordinate_arn"] + "/certificate/" + "0" * 32,
        )
    assert error_code(exc) == "ResourceNotFoundException"


def test_service_model_input_limits(pca: ACMPCAClient, ec_pki: dict[str, Any]) -> None:
    """A CSR over 32,768 bytes or an ARN over 200 characters (limits botocore does not check
    itself): ValidationException, naming the member and never echoing the value."""
    sub = ec_pki["subordinate_arn"]
    huge = b"-----BEGIN CERTIFICATE REQUEST-----\n" + b"QUFB" * 8192 + b"\n"
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"csr": huge},
            "'csr' failed to satisfy constraint: Member must have length less than "
            "or equal to 32768",
        ),
        ({"ca": sub + "/" + "a" * 200}, "'certificateAuthorityArn'"),
    ]
    for kw, needle in cases:
        with pytest.raises(ClientError) as exc:
            issue(
                pca,
                kw.get("ca", sub),
                kw.get("csr"),
            )
        assert error_code(exc) == "ValidationException"
        assert needle in str(exc.value)
        assert "QUFB" not in str(exc.value)
        assert "aaaa" not in str(exc.value)
    with pytest.raises(ClientError) as exc:
        pca.get_certificate(CertificateAuthorityArn=sub, CertificateArn=sub + "/" + "c" * 200)
    assert error_code(exc) == "ValidationException"


def test_idempotency_token(pca: ACMPCAClient, ec_pki: dict[str, Any], admin: AdminClient) -> None:
    sub = ec_pki["subordinate_arn"]
    token = f"tok-{time.time_ns()}"
    csr, _ = make_csr("idem.test")
    before = len(admin.calls("IssueCertificate"))
    first = issue(pca, sub, csr, token=token)
    again = issue(pca, sub, csr, token=token)
    other = issue(pca, sub, csr, token=token + "-2")
    assert first == again
    assert other != first
    assert fetch(pca, sub, first)[0] == fetch(pca, sub, again)[0]
    calls = admin.calls("IssueCertificate")[before:]
    assert [c["idempotency_token"] for c in calls] == [token, token, token + "-2"]
    assert {c["certificate_arn"] for c in calls} == {first, other}
    with pytest.raises(ClientError) as exc:
        issue(pca, sub, csr, token="x" * 37)
    assert error_code(exc) == "ValidationException"


def test_request_in_progress_then_issued(
    pca: ACMPCAClient, ec_pki: dict[str, Any], admin: AdminClient
) -> None:
    admin.configure(issuance_delay=1.0)
    sub = ec_pki["subordinate_arn"]
    arn = issue(pca, sub)
    with pytest.raises(ClientError) as exc:
        pca.get_certificate(CertificateAuthorityArn=sub, CertificateArn=arn)
    assert error_code(exc) == "RequestInProgressException"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            fetch(pca, sub, arn)
            break
        except ClientError as err:
            code = err.response["Error"]["Code"]
        assert code == "RequestInProgressException"
        time.sleep(0.1)
    assert [c["result"] for c in admin.calls("GetCertificate")][-1] == "OK"
    admin.configure(issuance_delay=[0.0, 0.01])
    arn = issue(pca, sub)
    time.sleep(0.02)
    assert fetch(pca, sub, arn)[0]


def test_throttling_under_a_burst(
    pca: ACMPCAClient, ec_pki: dict[str, Any], admin: AdminClient
) -> None:
    admin.configure(throttling_enabled=True, throttle_rates={"DescribeCertificateAuthority": 2})
    codes = []
    for _ in range(20):
        try:
            pca.describe_certificate_authority(CertificateAuthorityArn=ec_pki["subordinate_arn"])
            codes.append("OK")
        except ClientError as err:
            codes.append(err.response["Error"]["Code"])
    assert codes.count("OK") >= 2
    assert "ThrottlingException" in codes
    assert set(codes) == {"OK", "ThrottlingException"}
    admin.configure(throttling_enabled=False)
    pca.describe_certificate_authority(CertificateAuthorityArn=ec_pki["subordinate_arn"])


def test_fault_injection_and_call_log(
    pca: ACMPCAClient, ec_pki: dict[str, Any], admin: AdminClient
) -> None:
    sub = ec_pki["subordinate_arn"]
    admin.reset_calls()
    admin.set_fault("IssueCertificate", fail_next=2, fail_next_code="ServiceUnavailable")
    for _ in range(2):
        with pytest.raises(ClientError) as exc:
            issue(pca, sub)
        assert error_code(exc) == "ServiceUnavailable"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    arn = issue(pca, sub)
    admin.set_fault("DescribeCertificateAuthority", error_rate=1.0, error_code="InternalFailure")
    with pytest.raises(ClientError) as exc:
        pca.describe_certificate_authority(CertificateAuthorityArn=sub)
    assert error_code(exc) == "InternalFailure"
    admin.set_fault("DescribeCertificateAuthority", server_error_rate=1.0)
    with pytest.raises(ClientError) as exc:
        pca.describe_certificate_authority(CertificateAuthorityArn=sub)
    assert error_code(exc) == "ServiceUnavailable"
    admin.set_fault("DescribeCertificateAuthority", latency=0.3)
    started = time.monotonic()
    pca.describe_certificate_authority(CertificateAuthorityArn=sub)
    assert time.monotonic() - started >= 0.3
    admin.clear_faults()

    calls = admin.calls("IssueCertificate")
    assert [c["result"] for c in calls] == ["ServiceUnavailable", "ServiceUnavailable", "OK"]
    assert all(c["ca_arn"] == sub for c in calls)
    assert calls[-1]["certificate_arn"] == arn
    assert calls[-1]["access_key_id"] == "AKIAEMULATOR000000001"
    assert calls[-1]["caller_arn"] == "arn:aws:iam::123456789012:user/AKIAEMULATOR000000001"
    counters = admin.counters()
    assert counters["IssueCertificate"] == {"ServiceUnavailable": 2, "OK": 1, "total": 3}
    assert counters["DescribeCertificateAuthority"]["total"] == 3
    admin.reset_calls()
    assert admin.calls() == []
