"""What users do: cert-manager Certificates through our issuers end up as valid Secrets."""

from __future__ import annotations

import base64
import ipaddress
from typing import Any

import pytest
from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.kubeclient import has_condition
from awspca_devstack.stack import DEFAULT_KEYS
from awspca_emulator import AdminClient
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests import flows

CM = "/apis/cert-manager.io/v1"


def cert_path(ns: str, name: str = "") -> str:
    return f"{CM}/namespaces/{ns}/certificates" + (f"/{name}" if name else "")


def create_certificate(kube: KubeClient, ns: str, name: str, spec: dict[str, Any]) -> None:
    kube.create(
        cert_path(ns),
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"secretName": f"{name}-tls", **spec},
        },
    )


def wait_certificate_ready(kube: KubeClient, ns: str, name: str, timeout: float = 120) -> Any:
    return kube.wait_for(
        cert_path(ns, name),
        lambda o: has_condition(o, "Ready") and o.get("status", {}).get("revision", 0) >= 1,
        timeout=timeout,
        what=f"Certificate {ns}/{name} Ready",
    )


def secret_material(
    kube: KubeClient, ns: str, secret: str
) -> tuple[list[x509.Certificate], x509.Certificate, Any]:
    data = kube.get(f"/api/v1/namespaces/{ns}/secrets/{secret}")["data"]
    chain = x509.load_pem_x509_certificates(base64.b64decode(data["tls.crt"]))
    (root,) = x509.load_pem_x509_certificates(base64.b64decode(data["ca.crt"]))
    key = serialization.load_pem_private_key(base64.b64decode(data["tls.key"]), None)
    return chain, root, key


def check_secret(kube: KubeClient, ns: str, secret: str) -> x509.Certificate:
    """tls.crt chains to ca.crt (the root) and matches tls.key."""
    chain, root, key = secret_material(kube, ns, secret)
    for child, parent in zip(chain, [*chain[1:], root], strict=True):
        child.verify_directly_issued_by(parent)
    assert root.subject == root.issuer
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    assert chain[0].public_key().public_bytes(der, spki) == key.public_key().public_bytes(der, spki)
    return chain[0]


def _issuer(kube: KubeClient, cp: ControlPlane, kind: str, ns: str, arn: str) -> dict[str, str]:
    secret_ns = "cert-manager" if kind == "AWSPCAClusterIssuer" else ns
    name = f"pca-{ns}" if kind == "AWSPCAClusterIssuer" else "pca"
    flows.create_secret(kube, secret_ns, f"aws-{ns}", DEFAULT_KEYS)
    ref: dict[str, Any] = {"name": f"aws-{ns}"}
    if kind == "AWSPCAClusterIssuer":
        ref["namespace"] = secret_ns
    flows.create_issuer(kube, kind, name, arn=arn, namespace=ns, secret_ref=ref)
    return {"group": "awspca.cert-manager.io", "kind": kind, "name": name}


@pytest.mark.parametrize("kind", ["AWSPCAIssuer", "AWSPCAClusterIssuer"])
def test_certificates_become_secrets(
    control_plane: ControlPlane,
    kube: KubeClient,
    e2e_controller: IssuerProcess,
    cas: dict[str, dict[str, str]],
    namespace: str,
    kind: str,
) -> None:
    ref = _issuer(kube, control_plane, kind, namespace, cas["rsa"]["subordinate_arn"])
    certs: dict[str, dict[str, Any]] = {
        "rsa": {
            "privateKey": {"algorithm": "RSA", "size": 2048},
            "commonName": "rsa.example.test",
            "dnsNames": ["rsa.example.test", "www.rsa.example.test"],
            "usages": ["server auth", "client auth"],
        },
        "p256": {
            "privateKey": {"algorithm": "ECDSA", "size": 256},
            "commonName": "p256.example.test",
            "dnsNames": ["p256.example.test"],
            "ipAddresses": ["10.1.2.3", "::1"],
            "usages": ["server auth"],
        },
        "p384": {
            "privateKey": {"algorithm": "ECDSA", "size": 384},
            "uris": ["spiffe://cluster.local/ns/default/sa/app"],
            "emailAddresses": ["ops@example.test"],
            "usages": ["client auth"],
        },
    }
    for name, spec in certs.items():
        create_certificate(kube, namespace, name, {**spec, "issuerRef": ref})
    for name, spec in certs.items():
        wait_certificate_ready(kube, namespace, name)
        leaf = check_secret(kube, namespace, f"{name}-tls")
        cn = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        assert [a.value for a in cn] == ([spec["commonName"]] if "commonName" in spec else [])
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sorted(sans.get_values_for_type(x509.DNSName)) == sorted(spec.get("dnsNames", []))
        assert sorted(str(i) for i in sans.get_values_for_type(x509.IPAddress)) == sorted(
            str(ipaddress.ip_address(i)) for i in spec.get("ipAddresses", [])
        )
        assert sans.get_values_for_type(x509.UniformResourceIdentifier) == spec.get("uris", [])
        assert sans.get_values_for_type(x509.RFC822Name) == spec.get("emailAddresses", [])
        key = leaf.public_key()
        algo = spec["privateKey"]
        if algo["algorithm"] == "RSA":
            assert isinstance(key, rsa.RSAPublicKey)
            assert key.key_size == 2048
        else:
            assert isinstance(key, ec.EllipticCurvePublicKey)
            assert key.curve.key_size == algo["size"]
        eku = set(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        want = {
            "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
            "client auth": ExtendedKeyUsageOID.CLIENT_AUTH,
        }
        assert eku == {want[u] for u in spec["usages"]}


def test_renewal_issues_a_new_certificate_once(
    control_plane: ControlPlane,
    kube: KubeClient,
    e2e_controller: IssuerProcess,
    admin: AdminClient,
    namespace: str,
) -> None:
    ca = admin.bootstrap(key_algorithm="EC_prime256v1")["subordinate_arn"]
    ref = _issuer(kube, control_plane, "AWSPCAIssuer", namespace, ca)
    # cert-manager's minimum duration is 1h; renewBefore close to it makes the
    # first certificate due for renewal a few seconds after issuance.
    create_certificate(
        kube,
        namespace,
        "short",
        {
            "commonName": "short.example.test",
            "dnsNames": ["short.example.test"],
            "privateKey": {"algorithm": "ECDSA", "size": 256},
            "duration": "1h",
            "renewBefore": "59m50s",
            "issuerRef": ref,
        },
    )
    first = wait_certificate_ready(kube, namespace, "short")
    serial1 = check_secret(kube, namespace, "short-tls").serial_number
    kube.wait_for(
        cert_path(namespace, "short"),
        lambda o: (
            o.get("status", {}).get("revision", 0) >= first["status"]["revision"] + 1
            and has_condition(o, "Ready")
        ),
        timeout=120,
        what="renewed Certificate",
    )
    serial2 = check_secret(kube, namespace, "short-tls").serial_number
    assert serial2 != serial1
    requests = kube.get(flows.cr_path(namespace))["items"]
    issue_calls = [c for c in admin.calls("IssueCertificate") if c.get("ca_arn") == ca]
    ok = [c for c in issue_calls if c.get("result") in ("OK", None, "")]
    # One IssueCertificate per CertificateRequest cert-manager made, none repeated.
    assert len({c.get("idempotency_token") for c in ok}) == len(ok)
    assert len(ok) <= len(requests) + 1


def test_certificate_waits_for_an_issuer_created_later(
    control_plane: ControlPlane,
    kube: KubeClient,
    e2e_controller: IssuerProcess,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    ref = {"group": "awspca.cert-manager.io", "kind": "AWSPCAIssuer", "name": "pca"}
    create_certificate(
        kube,
        namespace,
        "early",
        {"commonName": "early.example.test", "dnsNames": ["early.example.test"], "issuerRef": ref},
    )
    kube.wait_for(
        flows.cr_path(namespace),
        lambda lst: any(flows.ready_status(o)[1] == "Pending" for o in lst["items"]),
        timeout=60,
        what="a pending request",
    )
    _issuer(kube, control_plane, "AWSPCAIssuer", namespace, cas["ec"]["subordinate_arn"])
    wait_certificate_ready(kube, namespace, "early")
    check_secret(kube, namespace, "early-tls")


def test_recreated_certificate_gets_its_new_key(
    control_plane: ControlPlane,
    kube: KubeClient,
    e2e_controller: IssuerProcess,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    ref = _issuer(kube, control_plane, "AWSPCAIssuer", namespace, cas["ec"]["subordinate_arn"])
    spec = {
        "commonName": "again.example.test",
        "dnsNames": ["again.example.test"],
        "issuerRef": ref,
    }
    create_certificate(kube, namespace, "again", spec)
    wait_certificate_ready(kube, namespace, "again")
    first = check_secret(kube, namespace, "again-tls")
    kube.delete(cert_path(namespace, "again"))
    kube.delete(f"/api/v1/namespaces/{namespace}/secrets/again-tls")
    for cr in kube.get(flows.cr_path(namespace))["items"]:  # no garbage collector here
        kube.delete(flows.cr_path(namespace, cr["metadata"]["name"]))
    create_certificate(kube, namespace, "again", spec)
    wait_certificate_ready(kube, namespace, "again")
    second = check_secret(kube, namespace, "again-tls")  # also: matches the new tls.key
    assert second.serial_number != first.serial_number
    assert second.public_key() != first.public_key()
