"""Requests signed end to end: both issuer kinds, RSA and EC hierarchies, every credential mode.

The controller runs as a real process against the real API server; AWS is the
emulator, reached through real boto3. Each signed chain is verified to the
root with `cryptography`.
"""

from __future__ import annotations

from typing import Any

import pytest
from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import make_csr, new_key
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.stack import ASSUMED_ROLE, CUSTOM_KEY_ID, CUSTOM_SECRET, DEFAULT_KEYS
from awspca_emulator import AdminClient
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests import flows


def issuer_for(
    cp: ControlPlane,
    kube: KubeClient,
    kind: str,
    namespace: str,
    arn: str,
    cred: str,
    *,
    template: str | None = None,
    admin: AdminClient | None = None,
    not_before_offset: str | None = None,
) -> str:
    """Create an issuer of ``kind`` using credential mode ``cred``; return its name.

    ``serviceaccount`` needs ``admin``: it adds a role trusting a new
    ServiceAccount of ``namespace``, whose TokenRequest token the controller
    exchanges for that role through the emulator's STS.
    """
    name = f"pca-{namespace}" if kind == "AWSPCAClusterIssuer" else "pca"
    secret_ns = "cert-manager" if kind == "AWSPCAClusterIssuer" else namespace
    cp.ensure_namespace(secret_ns)
    secret_ref: dict[str, Any] | None = None
    role = None
    extra: dict[str, Any] = {}
    if not_before_offset is not None:
        extra["notBeforeOffset"] = not_before_offset
    if cred == "serviceaccount":
        assert admin is not None
        cp.create_service_account(namespace, "pca-signer")
        role = admin.add_role(
            f"sa-{namespace}", trusted_subjects=[f"system:serviceaccount:{namespace}:pca-signer"]
        )
        sa_ref = {"name": "pca-signer"}
        if kind == "AWSPCAClusterIssuer":
            sa_ref["namespace"] = namespace
        extra["serviceAccountRef"] = sa_ref
    if cred in ("secret", "role"):
        flows.create_secret(kube, secret_ns, f"aws-{namespace}", DEFAULT_KEYS)
        secret_ref = {"name": f"aws-{namespace}"}
        role = ASSUMED_ROLE if cred == "role" else None
    elif cred == "custom-keys":
        flows.create_secret(
            kube, secret_ns, f"aws-{namespace}", {"id": CUSTOM_KEY_ID, "secret": CUSTOM_SECRET}
        )
        secret_ref = {
            "name": f"aws-{namespace}",
            "accessKeyIDSelector": {"key": "id"},
            "secretAccessKeySelector": {"key": "secret"},
        }
    if secret_ref and kind == "AWSPCAClusterIssuer":
        secret_ref["namespace"] = secret_ns
    flows.create_issuer(
        kube,
        kind,
        name,
        arn=arn,
        namespace=namespace,
        secret_ref=secret_ref,
        role=role,
        template=template,
        extra=extra,
    )
    flows.wait_issuer_ready(kube, kind, name, namespace)
    return name


# Ambient (IRSA) credentials serve cluster issuers only by default, as upstream
# v1.12 (--issuer-ambient-credentials=false): see test_ambient_credentials.py.
CREDENTIAL_MODES = [
    (kind, cred)
    for kind in ("AWSPCAIssuer", "AWSPCAClusterIssuer")
    for cred in ("irsa", "secret", "custom-keys", "role", "serviceaccount")
    if (kind, cred) != ("AWSPCAIssuer", "irsa")
]


@pytest.mark.parametrize(("kind", "cred"), CREDENTIAL_MODES)
@pytest.mark.parametrize("ca", ["rsa", "ec"])
def test_requests_are_signed(
    control_plane: ControlPlane,
    kube: KubeClient,
    controller: IssuerProcess,
    admin: AdminClient,
    cas: dict[str, dict[str, str]],
    namespace: str,
    ca: str,
    kind: str,
    cred: str,
) -> None:
    name = issuer_for(
        control_plane, kube, kind, namespace, cas[ca]["subordinate_arn"], cred, admin=admin
    )
    cases: dict[str, dict[str, Any]] = {
        "rsa2048": {"key": new_key("rsa2048"), "usages": ["digital signature", "key encipherment"]},
        "ecdsa-p256": {"key": new_key("ec256"), "usages": ["server auth", "client auth"]},
        "short": {"key": new_key("ec256"), "duration": "1h"},
        "ca": {"key": new_key("ec256"), "is_ca": True},
    }
    for req, c in cases.items():
        csr, _ = make_csr(f"{req}.{namespace}.test", key=c["key"], dns=(f"{req}.{namespace}.test",))
        flows.create_request(
            kube,
            namespace,
            req,
            csr,
            issuer_kind=kind,
            issuer_name=name,
            usages=c.get("usages"),
            duration=c.get("duration"),
            is_ca=c.get("is_ca", False),
        )
    for req, c in cases.items():
        obj = flows.wait_request(kube, namespace, req)
        leaf = flows.verify_chain(obj, c["key"])
        if req != "ca":  # the subordinate CA template does not pass SANs through
            sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert sans.get_values_for_type(x509.DNSName) == [f"{req}.{namespace}.test"]
        bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
        assert bc.ca is (req == "ca")
        if req == "ca":
            assert bc.path_length == 0
        lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
        if req == "short":  # 1h asked + NotBefore 15 min before issuance (notBeforeOffset)
            assert 4400 < lifetime.total_seconds() < 4600, lifetime
        elif req != "ca":
            assert 29.9 < lifetime.total_seconds() / 86400 < 30.2, lifetime
        if req == "ecdsa-p256":
            eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        assert obj["metadata"]["annotations"]["aws-privateca-issuer/certificate-arn"].startswith(
            cas[ca]["subordinate_arn"] + "/certificate/"
        )


def test_template_override_forces_client_auth_only(
    control_plane: ControlPlane,
    kube: KubeClient,
    controller: IssuerProcess,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    name = issuer_for(
        control_plane,
        kube,
        "AWSPCAIssuer",
        namespace,
        cas["ec"]["subordinate_arn"],
        "secret",
        template="EndEntityClientAuthCertificate/V1",
    )
    key = new_key("ec256")
    csr, _ = make_csr("client.test", key=key, dns=("client.test",))
    flows.create_request(
        kube,
        namespace,
        "client",
        csr,
        issuer_kind="AWSPCAIssuer",
        issuer_name=name,
        usages=["server auth", "client auth"],
    )
    leaf = flows.verify_chain(flows.wait_request(kube, namespace, "client"), key)
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]


@pytest.mark.parametrize("pathlen", [0, 1, 2, 3])
def test_subordinate_ca_path_lengths(
    control_plane: ControlPlane,
    kube: KubeClient,
    controller: IssuerProcess,
    cas: dict[str, dict[str, str]],
    namespace: str,
    pathlen: int,
) -> None:
    """The root signs any PathLen; the PathLen1 subordinate only PathLen0 (else Failed)."""
    template = f"SubordinateCACertificate_PathLen{pathlen}/V1"
    for where, arn in (("root", cas["ec"]["root_arn"]), ("sub", cas["ec"]["subordinate_arn"])):
        name = f"{where}-pca"
        flows.create_secret(kube, namespace, f"aws-{where}", DEFAULT_KEYS)
        flows.create_issuer(
            kube,
            "AWSPCAIssuer",
            name,
            arn=arn,
            namespace=namespace,
            secret_ref={"name": f"aws-{where}"},
            template=template,
        )
        flows.wait_issuer_ready(kube, "AWSPCAIssuer", name, namespace)
        key = new_key("ec256")
        csr, _ = make_csr(f"ca-{where}.test", key=key)
        flows.create_request(
            kube, namespace, where, csr, issuer_kind="AWSPCAIssuer", issuer_name=name, is_ca=True
        )
    leaf = flows.verify_chain(flows.wait_request(kube, namespace, "root"))
    bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert (bc.ca, bc.path_length) == (True, pathlen)
    if pathlen == 0:
        leaf = flows.verify_chain(flows.wait_request(kube, namespace, "sub"))
        bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
        assert (bc.ca, bc.path_length) == (True, 0)
        return
    failed = flows.wait_request(kube, namespace, "sub", reason="Failed")
    message = flows.condition_message(failed).lower()
    assert "path length" in message, message
    assert failed["status"].get("failureTime")
