"""Upstream v1.12.0's unit-test tables (pkg/), ported: same inputs, same outputs.

Sources, in the module at ``upstream_module_dir()``:
- pkg/aws/pca_test.go: TestPCATemplateArn, TestPCASignValidity,
  TestLoadConfigCredentials, TestServiceAccountToken
- pkg/controllers/genericissuer_controller_test.go:
  TestValidateIssuerNotBeforeOffset, TestValidateIssuerServiceAccountRef

Where we differ on purpose, the row says so in a comment and asserts what we do.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from issuer.api.issuer import (
    IssuerView,
    ambient_refusal,
    not_before_offset_seconds,
    service_account_namespace,
    validate_issuer_spec,
)
from issuer.kube.tokens import STS_AUDIENCE, TOKEN_EXPIRATION_SECONDS
from issuer.signer.templates import select_template
from issuer.signer.validity import DEFAULT_DURATION_SECONDS, not_before_for, validity_for

ISSUER, CLUSTER = "AWSPCAIssuer", "AWSPCAClusterIssuer"

# --- TestPCATemplateArn ------------------------------------------------------------------------

TEMPLATE_CASES = {
    # name: (expected template, usages, isCA, issuer's defaultTemplateName)
    "client": ("EndEntityClientAuthCertificate/V1", ["client auth"], False, ""),
    "client issuer": (
        "EndEntityClientAuthCertificate/V1",
        ["server auth"],
        False,
        "EndEntityClientAuthCertificate/V1",
    ),
    "server": ("EndEntityServerAuthCertificate/V1", ["server auth"], False, ""),
    "server issuer": (
        "EndEntityServerAuthCertificate/V1",
        None,
        False,
        "EndEntityServerAuthCertificate/V1",
    ),
    "client server": ("EndEntityCertificate/V1", ["client auth", "server auth"], False, ""),
    "server client": ("EndEntityCertificate/V1", ["server auth", "client auth"], False, ""),
    "code signing": ("CodeSigningCertificate/V1", ["code signing"], False, ""),
    "code signing issuer": (
        "EndEntityClientAuthCertificate/V1",
        None,
        False,
        "EndEntityClientAuthCertificate/V1",
    ),
    "ocsp signing": ("OCSPSigningCertificate/V1", ["ocsp signing"], False, ""),
    "ocsp signing issuer": ("OCSPSigningCertificate/V1", None, False, "OCSPSigningCertificate/V1"),
    "other": ("BlankEndEntityCertificate_APICSRPassthrough/V1", ["timestamping"], False, ""),
    "isCA default": ("SubordinateCACertificate_PathLen0/V1", None, True, ""),
    "isCA issuer": (
        "SubordinateCACertificate_PathLen1/V1",
        None,
        True,
        "SubordinateCACertificate_PathLen1/V1",
    ),
}
CA_ARNS = {
    "aws": "arn:aws:acm-pca:us-east-1:account:certificate-authority/12345678-1234-1234-1234-123456789012",
    "aws-us-gov": "arn:aws-us-gov:acm-pca:us-east-1:account:certificate-authority/"
    "12345678-1234-1234-1234-123456789012",
    "fake": "arn:fake:acm-pca:us-east-1:account:certificate-authority/"
    "12345678-1234-1234-1234-123456789012",
}


@pytest.mark.parametrize("partition", sorted(CA_ARNS))
@pytest.mark.parametrize("case", sorted(TEMPLATE_CASES))
def test_pca_template_arn(case: str, partition: str) -> None:
    expected, usages, is_ca, template = TEMPLATE_CASES[case]
    arn = select_template(
        default_template_name=template or None,
        is_ca=is_ca,
        usages=usages or [],
        ca_arn=CA_ARNS[partition],
    )
    assert arn.endswith(expected)
    assert arn.startswith(f"arn:{partition}:")
    assert arn == f"arn:{partition}:acm-pca:::template/{expected}"


# --- TestPCASignValidity -----------------------------------------------------------------------

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=24)
UNIX = int(NOW.timestamp())
VALIDITY_CASES = {
    # name: (spec.duration seconds, issuer's notBeforeOffset, Validity value, NotBefore value)
    "default": (None, None, UNIX + DEFAULT_DURATION_SECONDS, UNIX - 15 * 60),
    "duration specified": (3 * 3600, None, UNIX + 3 * 3600, UNIX - 15 * 60),
    "not before offset specified": (3 * 3600, "30s", UNIX + 3 * 3600, UNIX - 30),
    "zero not before offset": (3 * 3600, "0s", UNIX + 3 * 3600, UNIX),
}


@pytest.mark.parametrize("case", sorted(VALIDITY_CASES))
def test_pca_sign_validity(case: str) -> None:
    duration, offset, not_after, not_before = VALIDITY_CASES[case]
    spec: dict[str, Any] = {"arn": CA_ARNS["aws"], "region": "us-east-1"}
    if offset is not None:
        spec["notBeforeOffset"] = offset
    view = _view(ISSUER, spec)
    assert validity_for(duration, now=NOW) == {"Type": "ABSOLUTE", "Value": not_after}
    assert not_before_for(not_before_offset_seconds(view), now=NOW) == {
        "Type": "ABSOLUTE",
        "Value": not_before,
    }


# --- TestValidateIssuerNotBeforeOffset ---------------------------------------------------------

# Go's metav1.Duration prints 24h+1s as "24h0m1s"; that is what the API server stores.
OFFSET_CASES = {
    "zero": ("0s", None),
    "at the maximum": ("24h0m0s", None),
    "over the maximum": ("24h0m1s", "notBeforeOffset in Issuer Spec must not exceed 24h"),
    "negative": ("-1s", "notBeforeOffset in Issuer Spec must not be negative"),
}


@pytest.mark.parametrize("case", sorted(OFFSET_CASES))
def test_validate_issuer_not_before_offset(case: str) -> None:
    offset, error = OFFSET_CASES[case]
    # Upstream's ARN has the account "account"; ours validates the ARN's shape too
    # (deliberate), so the row uses a 12-digit account.
    spec = {"arn": ARN, "region": "us-east-1", "notBeforeOffset": offset}
    problems = validate_issuer_spec(_view(ISSUER, spec), default_region=None)
    assert problems == ([] if error is None else [error])


# --- TestValidateIssuerServiceAccountRef (one spec, changed step by step) ----------------------


def test_validate_issuer_service_account_ref() -> None:
    # Upstream's spec has arn "arn" and role "role"; ours validates ARN shapes too
    # (deliberate), so the row uses well-formed ones. The sequence is upstream's.
    role = "arn:aws:iam::123456789012:role/role"
    spec: dict[str, Any] = {
        "arn": CA_ARNS["aws"].replace("account", "123456789012"),
        "region": "us-east-1",
        "role": role,
        "serviceAccountRef": {"name": "sa"},
    }
    assert _problems(spec) == []
    spec["secretRef"] = {"name": "creds"}
    assert _problems(spec) == ["set only one of secretRef and serviceAccountRef"]
    spec["secretRef"] = {"name": ""}
    spec["role"] = ""
    assert _problems(spec) == ["spec.role must be set when using serviceAccountRef"]
    spec["serviceAccountRef"]["name"] = ""
    assert _problems(spec) == ["spec.serviceAccountRef.name is required"]


# --- TestLoadConfigCredentials ------------------------------------------------------------------

ROLE = "arn:aws:iam::123456789012:role/pca-issuer"
ARN = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/12345678-1234"


def _secret(namespace: str) -> dict[str, Any]:
    return {"arn": ARN, "secretRef": {"namespace": namespace, "name": "creds"}}


def _with_service_account(namespace: str) -> dict[str, Any]:
    return {"arn": ARN, "role": ROLE, "serviceAccountRef": {"name": "sa", "namespace": namespace}}


ISSUER_AMBIENT = {"issuer_ambient": True, "cluster_issuer_ambient": False}
CLUSTER_AMBIENT = {"issuer_ambient": False, "cluster_issuer_ambient": True}
NO_AMBIENT = {"issuer_ambient": False, "cluster_issuer_ambient": False}

CREDENTIAL_CASES: dict[str, tuple[str, dict[str, Any], dict[str, bool], str | None]] = {
    # name: (kind, spec, ambient options, expected error fragment or None)
    "issuer-secret-namespace-defaulted": (ISSUER, _secret(""), NO_AMBIENT, None),
    "issuer-secret-other-namespace": (
        ISSUER,
        _secret("ns2"),
        NO_AMBIENT,
        "may only read Secrets in its own namespace",
    ),
    "cluster-issuer-secret-any-namespace": (CLUSTER, _secret("ns1"), NO_AMBIENT, None),
    # Deliberate difference: upstream v1.12 refuses (ErrNamespaceRequired); we read the
    # Secret from --cluster-resource-namespace, as earlier upstream releases and
    # cert-manager's own cluster issuers do, so existing ClusterIssuers keep working.
    "cluster-issuer-secret-without-namespace": (CLUSTER, _secret(""), NO_AMBIENT, None),
    "issuer-ambient-disallowed": (
        ISSUER,
        {"arn": ARN},
        CLUSTER_AMBIENT,
        "--issuer-ambient-credentials",
    ),
    "issuer-role-only-ambient-disallowed": (
        ISSUER,
        {"arn": ARN, "role": ROLE},
        CLUSTER_AMBIENT,
        "--issuer-ambient-credentials",
    ),
    "issuer-ambient-allowed": (ISSUER, {"arn": ARN}, ISSUER_AMBIENT, None),
    "cluster-issuer-ambient-disallowed": (
        CLUSTER,
        {"arn": ARN},
        ISSUER_AMBIENT,
        "--cluster-issuer-ambient-credentials",
    ),
    "cluster-issuer-ambient-allowed": (CLUSTER, {"arn": ARN}, CLUSTER_AMBIENT, None),
    "issuer-sa-ref-other-namespace": (
        ISSUER,
        _with_service_account("kube-system"),
        NO_AMBIENT,
        "namespace must match the Issuer's namespace",
    ),
    "cluster-issuer-sa-ref-without-namespace": (
        CLUSTER,
        _with_service_account(""),
        NO_AMBIENT,
        "namespace is required on an AWSPCAClusterIssuer",
    ),
}


@pytest.mark.parametrize("case", sorted(CREDENTIAL_CASES))
def test_load_config_credentials(case: str) -> None:
    """Upstream's errors come from LoadConfig; ours from the spec validation (InvalidSpec)
    or, for ambient credentials, from the issuer reconciler (AmbientCredentialsDisabled)."""
    kind, spec, options, error = CREDENTIAL_CASES[case]
    view = _view(kind, spec)
    errors = [*validate_issuer_spec(view, default_region=None)]
    refusal = ambient_refusal(view, **options)
    if refusal is not None:
        errors.append(refusal)
    if error is None:
        assert errors == []
    else:
        assert len(errors) == 1, errors
        assert error in errors[0]


# --- TestServiceAccountToken -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "ref", "namespace"),
    [
        (ISSUER, {"name": "sa"}, "ns1"),  # issuer-uses-own-namespace
        (CLUSTER, {"name": "sa", "namespace": "issuer-system"}, "issuer-system"),
    ],
)
def test_service_account_token(kind: str, ref: dict[str, str], namespace: str) -> None:
    view = _view(kind, {"arn": ARN, "role": ROLE, "serviceAccountRef": ref})
    assert service_account_namespace(view) == namespace
    # Every exchange mints a fresh token (issuer.kube.tokens); its request is upstream's:
    assert (STS_AUDIENCE, TOKEN_EXPIRATION_SECONDS) == ("sts.amazonaws.com", 600)


def _view(kind: str, spec: dict[str, Any]) -> IssuerView:
    meta = {"name": "issuer1", "generation": 1}
    if kind == ISSUER:
        meta["namespace"] = "ns1"
    return IssuerView.from_obj({"metadata": meta, "spec": spec}, kind)


def _problems(spec: dict[str, Any]) -> list[str]:
    return validate_issuer_spec(_view(ISSUER, spec), default_region=None)
