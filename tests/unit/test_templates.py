"""Template choice: the Go issuer's table, in every partition, and defaultTemplateName."""

from __future__ import annotations

import pytest

from issuer.errors import PermanentError
from issuer.signer.templates import select_template

PARTITIONS = ["aws", "aws-cn", "aws-us-gov"]
REGIONS = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}


def _ca(partition: str) -> str:
    return (
        f"arn:{partition}:acm-pca:{REGIONS[partition]}:111122223333"
        ":certificate-authority/12345678-1234-1234-1234-123456789012"
    )


TABLE = [
    # (is_ca, usages, template)
    (True, [], "SubordinateCACertificate_PathLen0/V1"),
    (True, ["server auth"], "SubordinateCACertificate_PathLen0/V1"),
    (True, ["digital signature", "cert sign"], "SubordinateCACertificate_PathLen0/V1"),
    (False, ["code signing"], "CodeSigningCertificate/V1"),
    (False, ["client auth"], "EndEntityClientAuthCertificate/V1"),
    (False, ["server auth"], "EndEntityServerAuthCertificate/V1"),
    (False, ["ocsp signing"], "OCSPSigningCertificate/V1"),
    (False, ["client auth", "server auth"], "EndEntityCertificate/V1"),
    (False, ["server auth", "client auth"], "EndEntityCertificate/V1"),
    (False, [], "BlankEndEntityCertificate_APICSRPassthrough/V1"),
    (False, ["timestamping"], "BlankEndEntityCertificate_APICSRPassthrough/V1"),
    (False, ["digital signature"], "BlankEndEntityCertificate_APICSRPassthrough/V1"),
    (False, ["server auth", "server auth"], "BlankEndEntityCertificate_APICSRPassthrough/V1"),
    (False, ["client auth", "code signing"], "BlankEndEntityCertificate_APICSRPassthrough/V1"),
    # like the Go issuer, every listed usage counts, key usages included
    (
        False,
        ["digital signature", "key encipherment", "server auth"],
        "BlankEndEntityCertificate_APICSRPassthrough/V1",
    ),
    (
        False,
        ["server auth", "client auth", "digital signature"],
        "BlankEndEntityCertificate_APICSRPassthrough/V1",
    ),
]


@pytest.mark.parametrize("partition", PARTITIONS)
@pytest.mark.parametrize(("is_ca", "usages", "template"), TABLE)
def test_go_table(partition: str, is_ca: bool, usages: list[str], template: str) -> None:
    got = select_template(
        default_template_name=None, is_ca=is_ca, usages=usages, ca_arn=_ca(partition)
    )
    assert got == f"arn:{partition}:acm-pca:::template/{template}"


@pytest.mark.parametrize("partition", PARTITIONS)
@pytest.mark.parametrize(
    ("default", "expected_suffix"),
    [
        ("EndEntityClientAuthCertificate/V1", "EndEntityClientAuthCertificate/V1"),
        ("EndEntityClientAuthCertificate", "EndEntityClientAuthCertificate/V1"),
        ("RootCACertificate/V2", "RootCACertificate/V2"),
        (" EndEntityCertificate ", "EndEntityCertificate/V1"),
    ],
)
def test_default_template_wins(partition: str, default: str, expected_suffix: str) -> None:
    for is_ca in (True, False):
        got = select_template(
            default_template_name=default,
            is_ca=is_ca,
            usages=["server auth"],
            ca_arn=_ca(partition),
        )
        assert got == f"arn:{partition}:acm-pca:::template/{expected_suffix}"


def test_default_template_full_arn_used_as_is() -> None:
    full = "arn:aws-us-gov:acm-pca:::template/CodeSigningCertificate/V1"
    got = select_template(default_template_name=full, is_ca=True, usages=[], ca_arn=_ca("aws"))
    assert got == full


@pytest.mark.parametrize("default", [None, ""])
def test_empty_default_falls_through(default: str | None) -> None:
    got = select_template(default_template_name=default, is_ca=True, usages=[], ca_arn=_ca("aws"))
    assert got.endswith("/SubordinateCACertificate_PathLen0/V1")


@pytest.mark.parametrize("ca_arn", ["", "junk", "arn", "arn::acm-pca"])
def test_bad_ca_arn(ca_arn: str) -> None:
    with pytest.raises(PermanentError):
        select_template(default_template_name=None, is_ca=False, usages=[], ca_arn=ca_arn)
