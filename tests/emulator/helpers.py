"""Small helpers shared by the emulator tests."""

from __future__ import annotations

from typing import Any

import pytest
from awspca_devstack.csrs import make_csr
from botocore.exceptions import ClientError
from cryptography import x509
from mypy_boto3_acm_pca import ACMPCAClient

TEMPLATE = "arn:aws:acm-pca:::template/{}/V1"


def ec_root(common_name: str) -> dict[str, Any]:
    """CreateCertificateAuthority's parameters for an EC P-256 root named ``common_name``."""
    return {
        "CertificateAuthorityType": "ROOT",
        "CertificateAuthorityConfiguration": {
            "KeyAlgorithm": "EC_prime256v1",
            "SigningAlgorithm": "SHA256WITHECDSA",
            "Subject": {"CommonName": common_name},
        },
    }


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def issue(
    pca: ACMPCAClient,
    ca_arn: str,
    csr: bytes | None = None,
    *,
    template: str | None = None,
    template_arn: str | None = None,
    signing: str = "SHA256WITHECDSA",
    validity: dict[str, Any] | None = None,
    token: str | None = None,
    not_before: dict[str, Any] | None = None,
) -> str:
    kw: dict[str, Any] = {}
    if not_before is not None:
        kw["ValidityNotBefore"] = not_before
    if template:
        kw["TemplateArn"] = TEMPLATE.format(template)
    if template_arn is not None:  # as given, however malformed
        kw["TemplateArn"] = template_arn
    if token:
        kw["IdempotencyToken"] = token
    kw.update(
        CertificateAuthorityArn=ca_arn,
        Csr=csr if csr is not None else make_csr()[0],
        SigningAlgorithm=signing,
        Validity=validity or {"Type": "DAYS", "Value": 30},
    )
    out = pca.issue_certificate(**kw)
    return out["CertificateArn"]


def fetch(
    pca: ACMPCAClient, ca_arn: str, cert_arn: str
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    out = pca.get_certificate(CertificateAuthorityArn=ca_arn, CertificateArn=cert_arn)
    cert = x509.load_pem_x509_certificate(out["Certificate"].encode())
    chain = x509.load_pem_x509_certificates(out["CertificateChain"].encode())
    return cert, chain


def issue_and_fetch(
    pca: ACMPCAClient, ca_arn: str, csr: bytes | None = None, **kw: Any
) -> x509.Certificate:
    return fetch(pca, ca_arn, issue(pca, ca_arn, csr, **kw))[0]
