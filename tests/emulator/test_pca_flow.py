"""The real PCA flow through boto3: root -> subordinate -> leaf, chain verified to the root."""

from __future__ import annotations

import time
from typing import Any

import pytest
from awspca_emulator import EmulatorHandle
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.x509.oid import NameOID
from mypy_boto3_acm_pca import ACMPCAClient

from .helpers import error_code, fetch, issue, issue_and_fetch

pytestmark = pytest.mark.timeout(60)


def _create(pca: ACMPCAClient, ca_type: str, key: str, signing: str, cn: str) -> str:
    kw: dict[str, Any] = {
        "CertificateAuthorityType": ca_type,
        "CertificateAuthorityConfiguration": {
            "KeyAlgorithm": key,
            "SigningAlgorithm": signing,
            "Subject": {"Organization": "Tests", "CommonName": cn},
        },
    }
    return pca.create_certificate_authority(**kw)["CertificateAuthorityArn"]


@pytest.fixture(scope="module")
def hierarchy(pca: ACMPCAClient) -> dict[str, Any]:
    """RSA root (self-issued through the API) and an EC PathLen1 subordinate."""
    root = _create(pca, "ROOT", "RSA_2048", "SHA256WITHRSA", "Flow Root")
    assert (
        pca.describe_certificate_authority(CertificateAuthorityArn=root)["CertificateAuthority"][
            "Status"
        ]
        == "PENDING_CERTIFICATE"
    )
    csr = pca.get_certificate_authority_csr(CertificateAuthorityArn=root)["Csr"]
    root_cert_arn = issue(
        pca,
        root,
        csr.encode(),
        template="RootCACertificate",
        signing="SHA256WITHRSA",
        validity={"Type": "YEARS", "Value": 10},
    )
    root_pem = pca.get_certificate(CertificateAuthorityArn=root, CertificateArn=root_cert_arn)[
        "Certificate"
    ]
    pca.import_certificate_authority_certificate(
        CertificateAuthorityArn=root, Certificate=root_pem.encode()
    )
    sub = _create(pca, "SUBORDINATE", "EC_prime256v1", "SHA256WITHECDSA", "Flow Sub")
    sub_csr = pca.get_certificate_authority_csr(CertificateAuthorityArn=sub)["Csr"]
    sub_cert_arn = issue(
        pca,
        root,
        sub_csr.encode(),
        template="SubordinateCACertificate_PathLen1",
        signing="SHA384WITHRSA",
        validity={"Type": "YEARS", "Value": 5},
    )
    sub_pem = pca.get_certificate(CertificateAuthorityArn=root, CertificateArn=sub_cert_arn)[
        "Certificate"
    ]
    with pytest.raises(ClientError) as exc:  # a subordinate needs its chain
        pca.import_certificate_authority_certificate(
            CertificateAuthorityArn=sub, Certificate=sub_pem.encode()
        )
    assert error_code(exc) == "InvalidRequestException"
    with pytest.raises(ClientError) as exc:  # the root's certificate is not this CA's
        pca.import_certificate_authority_certificate(
            CertificateAuthorityArn=sub, Certificate=root_pem.encode()
        )
    assert error_code(exc) == "CertificateMismatchException"
    pca.import_certificate_authority_certificate(
        CertificateAuthorityArn=sub,
        Certificate=sub_pem.encode(),
        CertificateChain=root_pem.encode(),
    )
    return {"root": root, "sub": sub, "root_pem": root_pem, "sub_pem": sub_pem}


def test_root_and_subordinate_are_active_with_the_service_shape(
    pca: ACMPCAClient, hierarchy: dict[str, Any]
) -> None:
    ca = pca.describe_certificate_authority(CertificateAuthorityArn=hierarchy["sub"])[
        "CertificateAuthority"
    ]
    assert ca["Status"] == "ACTIVE"
    assert ca["Type"] == "SUBORDINATE"
    assert ca["OwnerAccount"] == "123456789012"
    assert ca["Arn"].startswith("arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/")
    conf = ca["CertificateAuthorityConfiguration"]
    assert conf["KeyAlgorithm"] == "EC_prime256v1"
    assert conf["SigningAlgorithm"] == "SHA256WITHECDSA"
    assert conf["Subject"]["CommonName"] == "Flow Sub"
    assert ca["NotBefore"] < ca["NotAfter"]
    assert ca["Serial"]
    arns = {c["Arn"] for c in pca.list_certificate_authorities()["CertificateAuthorities"]}
    assert {hierarchy["root"], hierarchy["sub"]} <= arns


def test_ca_certificates_and_chains(pca: ACMPCAClient, hierarchy: dict[str, Any]) -> None:
    root = pca.get_certificate_authority_certificate(CertificateAuthorityArn=hierarchy["root"])
    assert root.get("CertificateChain") is None
    root_cert = x509.load_pem_x509_certificate(root["Certificate"].encode())
    root_cert.verify_directly_issued_by(root_cert)
    bc = root_cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca
    assert bc.path_length is None
    sub = pca.get_certificate_authority_certificate(CertificateAuthorityArn=hierarchy["sub"])
    sub_cert = x509.load_pem_x509_certificate(sub["Certificate"].encode())
    chain = x509.load_pem_x509_certificates(sub["CertificateChain"].encode())
    assert chain == [root_cert]
    sub_cert.verify_directly_issued_by(root_cert)
    assert sub_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 1


def test_leaf_chains_to_the_root(pca: ACMPCAClient, hierarchy: dict[str, Any]) -> None:
    from awspca_devstack.csrs import make_csr

    csr, _ = make_csr("leaf.test", dns=("leaf.test",))
    arn = issue(pca, hierarchy["sub"], csr)
    assert arn.startswith(hierarchy["sub"] + "/certificate/")
    assert len(arn.rsplit("/", 1)[1]) == 32
    leaf, chain = fetch(pca, hierarchy["sub"], arn)
    sub_cert = x509.load_pem_x509_certificate(hierarchy["sub_pem"].encode())
    root_cert = x509.load_pem_x509_certificate(hierarchy["root_pem"].encode())
    assert chain == [sub_cert, root_cert]  # issuing CA first, root last
    leaf.verify_directly_issued_by(chain[0])
    chain[0].verify_directly_issued_by(chain[1])
    chain[1].verify_directly_issued_by(chain[1])
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "leaf.test"
    assert leaf.issuer == sub_cert.subject


def test_validity_not_before_is_honoured(pca: ACMPCAClient, hierarchy: dict[str, Any]) -> None:
    """ValidityNotBefore sets NotBefore exactly; without it NotBefore is backdated 60 minutes."""
    now = int(time.time())
    leaf = issue_and_fetch(
        pca,
        hierarchy["sub"],
        not_before={"Type": "ABSOLUTE", "Value": now - 900},
        validity={"Type": "ABSOLUTE", "Value": now + 3600},
    )
    assert int(leaf.not_valid_before_utc.timestamp()) == now - 900
    assert int(leaf.not_valid_after_utc.timestamp()) == now + 3600
    default = issue_and_fetch(pca, hierarchy["sub"], validity={"Type": "DAYS", "Value": 1})
    backdate = time.time() - default.not_valid_before_utc.timestamp()
    assert 3600 <= backdate < 3600 + 60, backdate
    with pytest.raises(ClientError) as exc:
        issue(
            pca,
            hierarchy["sub"],
            not_before={"Type": "DAYS", "Value": 1},
            validity={"Type": "DAYS", "Value": 2},
        )
    assert error_code(exc) == "ValidationException"


def test_disable_enable_and_revoke(pca: ACMPCAClient, hierarchy: dict[str, Any]) -> None:
    sub = hierarchy["sub"]
    leaf, _ = fetch(pca, sub, issue(pca, sub))
    pca.update_certificate_authority(CertificateAuthorityArn=sub, Status="DISABLED")
    try:
        with pytest.raises(ClientError) as exc:
            issue(pca, sub)
        assert error_code(exc) == "InvalidStateException"
    finally:
        pca.update_certificate_authority(CertificateAuthorityArn=sub, Status="ACTIVE")
    serial = f"{leaf.serial_number:x}"
    pca.revoke_certificate(
        CertificateAuthorityArn=sub, CertificateSerial=serial, RevocationReason="SUPERSEDED"
    )
    with pytest.raises(ClientError) as exc:
        pca.revoke_certificate(
            CertificateAuthorityArn=sub, CertificateSerial=serial, RevocationReason="SUPERSEDED"
        )
    assert error_code(exc) == "RequestAlreadyProcessedException"


def test_pending_ca_refuses_issuing_and_update(pca: ACMPCAClient) -> None:
    ca = _create(pca, "SUBORDINATE", "EC_prime256v1", "SHA256WITHECDSA", "Pending")
    with pytest.raises(ClientError) as exc:
        issue(pca, ca)
    assert error_code(exc) == "InvalidStateException"
    with pytest.raises(ClientError) as exc:
        pca.update_certificate_authority(CertificateAuthorityArn=ca, Status="ACTIVE")
    assert error_code(exc) == "InvalidStateException"
    with pytest.raises(ClientError) as exc:
        pca.get_certificate_authority_certificate(CertificateAuthorityArn=ca)
    assert error_code(exc) == "InvalidStateException"
    with pytest.raises(ClientError) as exc:  # only a root may use the root template
        issue(pca, ca, template="RootCACertificate")
    assert error_code(exc) == "InvalidArgsException"


def test_create_refuses_a_signing_algorithm_that_does_not_fit_the_key(pca: ACMPCAClient) -> None:
    with pytest.raises(ClientError) as exc:
        _create(pca, "ROOT", "EC_prime256v1", "SHA256WITHRSA", "Bad")
    assert error_code(exc) == "InvalidArgsException"


def test_bootstrap_via_python_and_admin(
    emulator: EmulatorHandle,
    pca: ACMPCAClient,
    ec_pki: dict[str, Any],
    ec_pki_pathlen1: dict[str, Any],
) -> None:
    for pki, pathlen in ((ec_pki, 0), (ec_pki_pathlen1, 1)):
        for arn in (pki["root_arn"], pki["subordinate_arn"]):
            ca = pca.describe_certificate_authority(CertificateAuthorityArn=arn)[
                "CertificateAuthority"
            ]
            assert ca["Status"] == "ACTIVE"
        sub = pca.get_certificate_authority_certificate(
            CertificateAuthorityArn=pki["subordinate_arn"]
        )
        cert = x509.load_pem_x509_certificate(sub["Certificate"].encode())
        assert (
            cert.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length
            == pathlen
        )


@pytest.mark.parametrize("signing", ["SHA512WITHRSA", "SHA256WITHRSA_PSS"])
def test_rsa_signing_algorithms(pca: ACMPCAClient, hierarchy: dict[str, Any], signing: str) -> None:
    leaf, chain = fetch(pca, hierarchy["root"], issue(pca, hierarchy["root"], signing=signing))
    assert chain == [x509.load_pem_x509_certificate(hierarchy["root_pem"].encode())]
    leaf.verify_directly_issued_by(chain[0])
