"""Every manifest in ``manifests/samples/`` is applied with the real kubectl and works.

The placeholders (CA ARN, role ARN, access keys) are replaced by the
emulator's; the issuers must turn Ready (ambient IRSA credentials of the
shared controller for cluster issuers, a Secret's access keys, a role assumed
with them, a ServiceAccount's token exchanged for a role) and the
Certificates must end up as Secrets that chain to the root.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.demo import SAMPLES, apply_sample
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.stack import ASSUMED_ROLE
from awspca_emulator import AdminClient
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.e2e.test_certificates import check_secret, wait_certificate_ready
from tests.flows import wait_issuer_ready

CLUSTER_ISSUERS = {
    "awspcaclusterissuer-irsa.yaml": "pca-cluster-irsa",
    "awspcaclusterissuer-secret.yaml": "pca-cluster-secret",
    "awspcaclusterissuer-assume-role.yaml": "pca-cluster-assume-role",
}
ISSUERS = {
    "awspcaissuer-serviceaccount.yaml": "pca-serviceaccount",
    "awspcaissuer-secret.yaml": "pca-secret",
    "awspcaissuer-assume-role.yaml": "pca-assume-role",
}
CERTIFICATES = {"certificate-rsa.yaml": "example-rsa", "certificate-ecdsa.yaml": "example-ecdsa"}
ISTIO = "istio-cacerts.yaml"


def test_every_sample_is_tested() -> None:
    tested = {*CLUSTER_ISSUERS, *ISSUERS, *CERTIFICATES, ISTIO}
    assert {p.name for p in SAMPLES.glob("*.yaml")} == tested


def test_samples_apply_and_work(
    control_plane: ControlPlane,
    kube: KubeClient,
    e2e_controller: IssuerProcess,
    admin: AdminClient,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    arn = cas["ec"]["subordinate_arn"]  # path length 1: it may sign the Istio intermediate
    control_plane.ensure_namespace("aws-privateca-issuer")
    for sample in CLUSTER_ISSUERS:
        apply_sample(control_plane, sample, ca_arn=arn, role_arn=ASSUMED_ROLE)
    for sample in ISSUERS:
        apply_sample(control_plane, sample, namespace, ca_arn=arn, role_arn=ASSUMED_ROLE)
    for name in CLUSTER_ISSUERS.values():
        wait_issuer_ready(kube, "AWSPCAClusterIssuer", name)
    for name in ISSUERS.values():
        wait_issuer_ready(kube, "AWSPCAIssuer", name, namespace)
    # The assume-role samples really assumed the role with the Secret's keys.
    assumed = [c for c in admin.calls("AssumeRole") if c["result"] == "OK"]
    assert len(assumed) >= 2
    # The serviceAccountRef sample exchanged a token of its own ServiceAccount.
    exchanged = [c for c in admin.calls("AssumeRoleWithWebIdentity") if c["result"] == "OK"]
    assert any("/aws-privateca-issuer" in (c.get("caller_arn") or "") for c in exchanged), exchanged

    for sample in CERTIFICATES:
        apply_sample(control_plane, sample, namespace, ca_arn=arn)
    apply_sample(control_plane, ISTIO, ca_arn=arn)
    for name in CERTIFICATES.values():
        wait_certificate_ready(kube, namespace, name)
    rsa_leaf = check_secret(kube, namespace, "example-rsa-tls")
    assert isinstance(rsa_leaf.public_key(), rsa.RSAPublicKey)
    ec_leaf = check_secret(kube, namespace, "example-ecdsa-tls")
    assert isinstance(ec_leaf.public_key(), ec.EllipticCurvePublicKey)
    for leaf in (rsa_leaf, ec_leaf):
        bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
        assert not bc.ca

    wait_certificate_ready(kube, "istio-system", "cacerts")
    inter = check_secret(kube, "istio-system", "cacerts")
    bc = inter.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert (bc.ca, bc.path_length) == (True, 0)


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.yaml")))
def test_sample_has_only_known_placeholders(sample: str) -> None:
    text = (SAMPLES / sample).read_text()
    rendered = text
    for ph in (
        "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/REPLACE-ME",
        "arn:aws:iam::123456789012:role/REPLACE-ME",
        "REPLACE-ME-ACCESS-KEY-ID",
        "REPLACE-ME-SECRET-ACCESS-KEY",
    ):
        rendered = rendered.replace(ph, "")
    assert "REPLACE-ME" not in rendered, f"{Path(sample).name}: unknown placeholder"
