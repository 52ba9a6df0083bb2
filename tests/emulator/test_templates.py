"""Templates: the extensions each one sets, CSR passthrough, and path length rules."""

from __future__ import annotations

from typing import Any

import pytest
from awspca_devstack.csrs import make_csr, new_key
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID as EKU
from cryptography.x509.oid import NameOID
from mypy_boto3_acm_pca import ACMPCAClient

from .helpers import error_code, fetch, issue, issue_and_fetch

pytestmark = pytest.mark.timeout(60)

ONE_DAY = {"Type": "DAYS", "Value": 1}
KU_FIELDS = ("digital_signature", "key_encipherment", "key_agreement", "key_cert_sign", "crl_sign")


def _ku(cert: x509.Certificate) -> set[str]:
    ext = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ext.critical
    return {f for f in KU_FIELDS if getattr(ext.value, f)}


def _eku(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    try:
        return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return set()


def _bc(cert: x509.Certificate) -> x509.BasicConstraints:
    ext = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert ext.critical
    return ext.value


END_ENTITY = [
    (
        "EndEntityCertificate",
        {"digital_signature", "key_encipherment"},
        {EKU.SERVER_AUTH, EKU.CLIENT_AUTH},
    ),
    ("EndEntityClientAuthCertificate", {"digital_signature", "key_agreement"}, {EKU.CLIENT_AUTH}),
    (
        "EndEntityServerAuthCertificate",
        {"digital_signature", "key_encipherment"},
        {EKU.SERVER_AUTH},
    ),
    ("CodeSigningCertificate", {"digital_signature"}, {EKU.CODE_SIGNING}),
    ("OCSPSigningCertificate", {"digital_signature"}, {EKU.OCSP_SIGNING}),
]


@pytest.mark.parametrize(("template", "ku", "eku"), END_ENTITY, ids=[t[0] for t in END_ENTITY])
def test_end_entity_templates(
    pca: ACMPCAClient,
    ec_pki: dict[str, Any],
    template: str,
    ku: set[str],
    eku: set[x509.ObjectIdentifier],
) -> None:
    csr, key = make_csr("svc.test", dns=("svc.test", "svc.ns.svc"), ips=("10.0.0.1",))
    sub = ec_pki["subordinate_arn"]
    cert, chain = fetch(pca, sub, issue(pca, sub, csr, template=template))
    assert not _bc(cert).ca
    assert _ku(cert) == ku
    assert _eku(cert) == eku
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["svc.test", "svc.ns.svc"]
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "svc.test"
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    issuer_ski = chain[0].extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == issuer_ski.digest
    cert.verify_directly_issued_by(chain[0])


def test_default_template_is_end_entity(pca: ACMPCAClient, ec_pki: dict[str, Any]) -> None:
    cert = issue_and_fetch(pca, ec_pki["subordinate_arn"])
    assert _eku(cert) == {EKU.SERVER_AUTH, EKU.CLIENT_AUTH}


def test_csr_passthrough_copies_the_csr_extensions(
    pca: ACMPCAClient, ec_pki: dict[str, Any]
) -> None:
    key = new_key()
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pass.test")]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("pass.test")]), critical=False)
        .add_extension(
            x509.KeyUsage(True, False, False, False, True, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([EKU.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = issue_and_fetch(
        pca,
        ec_pki["subordinate_arn"],
        csr.public_bytes(Encoding.PEM),
        template="BlankEndEntityCertificate_APICSRPassthrough",
    )
    assert not _bc(cert).ca  # the CA never lets a CSR make itself a CA
    assert _ku(cert) == {"digital_signature", "key_agreement"}
    assert _eku(cert) == {EKU.EMAIL_PROTECTION}
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["pass.test"]


@pytest.mark.parametrize("pathlen", [0, 1, 2, 3])
def test_root_issues_subordinates_of_any_path_length(
    pca: ACMPCAClient, ec_pki: dict[str, Any], pathlen: int
) -> None:
    root = ec_pki["root_arn"]
    cert = issue_and_fetch(
        pca,
        root,
        template=f"SubordinateCACertificate_PathLen{pathlen}",
        validity={"Type": "YEARS", "Value": 1},
    )
    bc = _bc(cert)
    assert bc.ca
    assert bc.path_length == pathlen
    assert _ku(cert) == {"digital_signature", "key_cert_sign", "crl_sign"}
    assert not _eku(cert)


def test_pathlen0_subordinate_cannot_issue_a_ca(pca: ACMPCAClient, ec_pki: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as exc:
        issue(pca, ec_pki["subordinate_arn"], template="SubordinateCACertificate_PathLen0")
    assert error_code(exc) == "InvalidArgsException"
    assert "path length" in str(exc.value)


def test_pathlen1_subordinate_issues_pathlen0_only(
    pca: ACMPCAClient, ec_pki_pathlen1: dict[str, Any]
) -> None:
    sub = ec_pki_pathlen1["subordinate_arn"]
    cert = issue_and_fetch(pca, sub, template="SubordinateCACertificate_PathLen0")
    assert _bc(cert).path_length == 0
    for n in (1, 2):
        with pytest.raises(ClientError) as exc:
            issue(pca, sub, template=f"SubordinateCACertificate_PathLen{n}")
        assert error_code(exc) == "InvalidArgsException"


@pytest.mark.parametrize(
    "template_arn",
    [
        "arn:aws:acm-pca:::template/NoSuchTemplate/V1",
        "arn:aws:acm-pca:::template/EndEntityCertificate/V9",
        "arn:aws:acm-pca:::template/EndEntityCertificate",
    ],
)
def test_unknown_template(pca: ACMPCAClient, ec_pki: dict[str, Any], template_arn: str) -> None:
    with pytest.raises(ClientError) as exc:
        issue(pca, ec_pki["subordinate_arn"], template_arn=template_arn, validity=ONE_DAY)
    assert error_code(exc) == "InvalidArgsException"
    assert "template ARN is not valid" in str(exc.value)


def test_template_not_arn_shaped(pca: ACMPCAClient, ec_pki: dict[str, Any]) -> None:
    """Not ARN-shaped at all: the service model's pattern refuses it before the operation runs."""
    with pytest.raises(ClientError) as exc:
        issue(pca, ec_pki["subordinate_arn"], template_arn="not-an-arn", validity=ONE_DAY)
    assert error_code(exc) == "ValidationException"
    assert "'templateArn'" in str(exc.value)


@pytest.mark.parametrize("partition", ["aws-cn", "aws-us-gov"])
def test_template_arns_of_other_partitions(
    pca: ACMPCAClient, ec_pki: dict[str, Any], partition: str
) -> None:
    cert = fetch(
        pca,
        ec_pki["subordinate_arn"],
        pca.issue_certificate(
            CertificateAuthorityArn=ec_pki["subordinate_arn"],
            Csr=make_csr()[0],
            SigningAlgorithm="SHA256WITHECDSA",
            Validity={"Type": "DAYS", "Value": 1},
            TemplateArn=f"arn:{partition}:acm-pca:::template/CodeSigningCertificate/V1",
        )["CertificateArn"],
    )[0]
    assert _eku(cert) == {EKU.CODE_SIGNING}
