"""Issuer view parsing, CA ARN parsing and spec validation."""

from __future__ import annotations

from typing import Any

import pytest

from issuer.api.issuer import (
    CAArn,
    IssuerView,
    SecretRefView,
    effective_region,
    parse_ca_arn,
    validate_issuer_spec,
)
from issuer.errors import PermanentError

ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/12345678-1234-1234-1234-123456789012"


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (ARN, CAArn("aws", "us-east-1", "111122223333", "12345678-1234-1234-1234-123456789012")),
        (
            "arn:aws-cn:acm-pca:cn-north-1:111122223333:certificate-authority/abc",
            CAArn("aws-cn", "cn-north-1", "111122223333", "abc"),
        ),
        (
            "arn:aws-us-gov:acm-pca:us-gov-west-1:111122223333:certificate-authority/abc",
            CAArn("aws-us-gov", "us-gov-west-1", "111122223333", "abc"),
        ),
        (f"  {ARN}\n", parse_ca_arn(ARN)),
    ],
)
def test_parse_ca_arn(arn: str, expected: CAArn) -> None:
    got = parse_ca_arn(arn)
    assert got == expected
    assert parse_ca_arn(got.arn) == got


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "arn",
        "arn:aws:acm-pca:us-east-1:account:certificate-authority/x",  # account not 12 digits
        "arn:aws:acm-pca:us-east-1:11112222333:certificate-authority/x",
        "arn:aws:acm:us-east-1:111122223333:certificate/x",
        "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/",
        "arn:aws:acm-pca::111122223333:certificate-authority/x",
        f"{ARN}/certificate/abc",
        "arn:aws:acm-pca:::template/EndEntityCertificate/V1",
    ],
)
def test_parse_ca_arn_rejects(arn: str) -> None:
    with pytest.raises(PermanentError) as info:
        parse_ca_arn(arn)
    assert info.value.reason == "InvalidArn"


def _issuer(spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "pca", "namespace": "team-a", "generation": 3, **meta},
        "spec": spec,
        "status": {},
    }


def test_issuer_view_full() -> None:
    obj = _issuer(
        {
            "arn": ARN,
            "region": "us-east-1",
            "role": "arn:aws:iam::111122223333:role/issuer",
            "secretRef": {
                "name": "creds",
                "namespace": "team-a",
                "accessKeyIDSelector": {"key": "id"},
                "secretAccessKeySelector": {"key": "secret"},
                "sessionTokenSelector": {"key": "token"},
            },
            "pcaTemplate": {"defaultTemplateName": "EndEntityCertificate/V1"},
        }
    )
    obj["status"] = {"conditions": [{"type": "Ready", "status": "True", "observedGeneration": 3}]}
    view = IssuerView.from_obj(obj, "AWSPCAIssuer")
    assert view.kind == "AWSPCAIssuer"
    assert (view.namespace, view.name, view.generation, view.key) == (
        "team-a",
        "pca",
        3,
        "team-a/pca",
    )
    assert (view.arn, view.region, view.role) == (
        ARN,
        "us-east-1",
        "arn:aws:iam::111122223333:role/issuer",
    )
    assert view.secret_ref == SecretRefView("creds", "team-a", "id", "secret", "token")
    assert view.default_template_name == "EndEntityCertificate/V1"
    assert view.is_cluster is False


@pytest.mark.parametrize(
    ("secret_ref", "expected"),
    [
        (None, None),
        ({}, None),
        ({"name": "", "namespace": ""}, None),
        (
            {"name": "creds"},
            SecretRefView(
                "creds", "", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"
            ),
        ),
        (
            {"name": "creds", "accessKeyIDSelector": {"key": ""}},
            SecretRefView("creds", ""),
        ),
        # No name means no Secret, whatever else it holds (upstream reads a Secret
        # only when secretRef.name is set); Go clients send empty selectors.
        ({"namespace": "other"}, None),
        ({"accessKeyIDSelector": {"key": ""}, "secretAccessKeySelector": {"key": ""}}, None),
        ({"accessKeyIDSelector": {"key": "id"}, "namespace": "x"}, None),
    ],
)
def test_secret_ref_defaults(
    secret_ref: dict[str, Any] | None, expected: SecretRefView | None
) -> None:
    spec: dict[str, Any] = {"arn": ARN}
    if secret_ref is not None:
        spec["secretRef"] = secret_ref
    assert IssuerView.from_obj(_issuer(spec), "AWSPCAIssuer").secret_ref == expected


def test_cluster_issuer_has_no_namespace() -> None:
    view = IssuerView.from_obj(_issuer({"arn": ARN}), "AWSPCAClusterIssuer")
    assert view.namespace == ""
    assert view.key == "pca"
    assert view.is_cluster is True
    assert view.default_template_name is None


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        IssuerView.from_obj(_issuer({}), "Issuer")


@pytest.mark.parametrize(
    ("kind", "spec", "default_region", "expected_fragments"),
    [
        ("AWSPCAIssuer", {"arn": ARN}, None, []),
        ("AWSPCAIssuer", {"arn": ARN, "region": "us-east-1"}, None, []),
        ("AWSPCAIssuer", {}, "us-east-1", ["spec.arn is required"]),
        ("AWSPCAIssuer", {}, None, ["spec.arn is required", "no AWS region"]),
        ("AWSPCAIssuer", {"arn": "arn:aws:s3:::bucket"}, "eu-west-1", ["not an AWS Private CA"]),
        (
            "AWSPCAIssuer",
            {"arn": "junk", "region": "eu-west-1"},
            None,
            ["not an AWS Private CA"],
        ),
        ("AWSPCAIssuer", {"arn": ARN, "region": "eu-west-1"}, None, ["differs from the CA"]),
        ("AWSPCAIssuer", {"arn": ARN, "region": "Nowhere"}, None, ["not an AWS region"]),
        ("AWSPCAIssuer", {"arn": ARN, "role": "admin"}, None, ["not an IAM role ARN"]),
        (
            "AWSPCAIssuer",
            {"arn": ARN, "role": "arn:aws:iam::111122223333:role/path/issuer"},
            None,
            [],
        ),
        ("AWSPCAIssuer", {"arn": ARN, "secretRef": {"name": "c"}}, None, []),
        ("AWSPCAIssuer", {"arn": ARN, "secretRef": {"name": "c", "namespace": "team-a"}}, None, []),
        (
            "AWSPCAIssuer",
            {"arn": ARN, "secretRef": {"name": "c", "namespace": "kube-system"}},
            None,
            ["may only read Secrets in its own namespace 'team-a'"],
        ),
        (
            "AWSPCAClusterIssuer",
            {"arn": ARN, "secretRef": {"name": "c", "namespace": "kube-system"}},
            None,
            [],
        ),
        (
            "AWSPCAIssuer",
            {
                "arn": ARN,
                "secretRef": {"accessKeyIDSelector": {"key": ""}, "secretAccessKeySelector": {}},
            },
            None,
            [],
        ),
        ("AWSPCAIssuer", {"arn": ARN, "pcaTemplate": {"defaultTemplateName": "X/V2"}}, None, []),
        ("AWSPCAIssuer", {"arn": ARN, "pcaTemplate": {"defaultTemplateName": "Blank"}}, None, []),
        (
            "AWSPCAIssuer",
            {
                "arn": ARN,
                "pcaTemplate": {
                    "defaultTemplateName": "arn:aws:acm-pca:::template/EndEntityCertificate/V1"
                },
            },
            None,
            [],
        ),
        (
            "AWSPCAIssuer",
            {"arn": ARN, "pcaTemplate": {"defaultTemplateName": "no spaces/V1"}},
            None,
            ["defaultTemplateName"],
        ),
    ],
)
def test_validate_issuer_spec(
    kind: str, spec: dict[str, Any], default_region: str | None, expected_fragments: list[str]
) -> None:
    view = IssuerView.from_obj(_issuer(spec), kind)
    problems = validate_issuer_spec(view, default_region=default_region)
    assert len(problems) == len(expected_fragments), problems
    for problem, fragment in zip(problems, expected_fragments, strict=True):
        assert fragment in problem


@pytest.mark.parametrize(
    ("spec", "default_region", "expected"),
    [
        ({"arn": ARN, "region": "eu-west-1"}, "ap-south-1", "eu-west-1"),
        ({"arn": ARN}, "ap-south-1", "us-east-1"),
        ({"arn": "junk"}, "ap-south-1", "ap-south-1"),
        ({"arn": "junk"}, None, None),
        ({"arn": "junk"}, "", None),
    ],
)
def test_effective_region(
    spec: dict[str, Any], default_region: str | None, expected: str | None
) -> None:
    view = IssuerView.from_obj(_issuer(spec), "AWSPCAIssuer")
    assert effective_region(view, default_region=default_region) == expected


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ({"name": "../../team-b/secrets/aws"}, "spec.secretRef.name"),
        ({"name": "aws/../../x"}, "spec.secretRef.name"),
        ({"name": "AWS"}, "spec.secretRef.name"),
        ({"name": "a" * 254}, "at most 253"),
        ({"name": "aws", "namespace": "team-b/secrets/x/.."}, "spec.secretRef.namespace"),
        ({"name": "aws", "namespace": "a.b"}, "DNS-1123 label"),
        ({"name": "aws", "accessKeyIDSelector": {"key": "../id"}}, "accessKeyIDSelector"),
        ({"name": "aws", "secretAccessKeySelector": {"key": "a b"}}, "secretAccessKeySelector"),
        ({"name": "aws", "sessionTokenSelector": {"key": "k\nx"}}, "sessionTokenSelector"),
    ],
)
def test_names_in_secret_ref_must_be_object_names(ref: dict[str, Any], fragment: str) -> None:
    for kind in ("AWSPCAIssuer", "AWSPCAClusterIssuer"):
        view = IssuerView.from_obj(_issuer({"arn": ARN, "secretRef": ref}), kind)
        problems = validate_issuer_spec(view, default_region=None)
        assert any(fragment in p for p in problems), problems
        assert all(len(p) < 400 for p in problems), problems


def test_hostile_values_are_not_echoed_whole() -> None:
    huge = "x" * 60_000
    view = IssuerView.from_obj(
        _issuer(
            {
                "arn": huge,
                "region": huge,
                "role": huge,
                "pcaTemplate": {"defaultTemplateName": huge},
            }
        ),
        "AWSPCAIssuer",
    )
    problems = validate_issuer_spec(view, default_region=None)
    assert problems
    assert sum(len(p) for p in problems) < 2_000, problems


@pytest.mark.parametrize(
    "spec",
    [
        {"arn": ARN, "region": "us-east-\u0661"},
        {"arn": ARN.replace("111122223333", "\u0661" * 12)},
        {"arn": ARN, "role": "arn:aws:iam::123456789012:role/\u00e9"},
    ],
)
def test_only_ascii_reaches_an_endpoint_or_an_arn(spec: dict[str, Any]) -> None:
    view = IssuerView.from_obj(_issuer(spec), "AWSPCAIssuer")
    assert validate_issuer_spec(view, default_region=None)


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ({"name": "../../kube-system/serviceaccounts/admin"}, "spec.serviceAccountRef.name"),
        ({"name": "sa", "namespace": "a/b"}, "spec.serviceAccountRef.namespace"),
    ],
)
def test_service_account_names_must_be_object_names(ref: dict[str, Any], fragment: str) -> None:
    spec = {"arn": ARN, "role": "arn:aws:iam::111122223333:role/r", "serviceAccountRef": ref}
    view = IssuerView.from_obj(_issuer(spec), "AWSPCAClusterIssuer")
    problems = validate_issuer_spec(view, default_region=None)
    assert any(fragment in p for p in problems), problems
