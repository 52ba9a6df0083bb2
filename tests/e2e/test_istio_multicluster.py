"""The seed scenario with real istiods: two clusters, one AWS Private CA hierarchy, mutual TLS.

The emulator holds a root CA and a subordinate CA (path length 1) signed by
it. Two real control planes, each with cert-manager and our controller
authenticating through IRSA with its own ServiceAccount token and OIDC issuer,
get the Istio ``cacerts`` Certificate (``isCA: true``) from the sample
manifests. One real istiod per cluster (``pilot-discovery``, built by
hack/build-tools.sh) takes that Secret as its plugged-in CA; the harness plays
the kubelet that mounts it. A ServiceAccount of each cluster gets its workload
certificate from its cluster's istiod exactly as a sidecar does (gRPC
``IstioCertificateService/CreateCertificate`` with a TokenRequest token of
audience ``istio-ca``, trusting only ``ca.crt``). The chains go leaf ->
cluster intermediate -> subordinate -> root, and a TLS 1.3 mutual-TLS
handshake between the two clusters' workloads succeeds with the SPIFFE
identities checked. A workload of an unrelated root and a token of another
audience are refused. Then cert-manager renews one cluster's intermediate,
the running istiod picks it up, and cross-cluster mTLS still works with the
new workload certificates.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from awspca_devstack import ControlPlane, pki
from awspca_devstack.certmanager import CertManager
from awspca_devstack.demo import apply_sample
from awspca_devstack.demo_summary import template_from_log
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.istioca import IstioCaError
from awspca_devstack.istiod import (
    LOG_PLUGGED_CA,
    LOG_RELOADED,
    LOG_TLS_LAYOUT,
    Istiod,
    WorkloadCert,
    spiffe_id,
)
from awspca_devstack.kubeclient import condition
from awspca_devstack.mtls import Workload, handshake, write_workload
from awspca_devstack.stack import IRSA_ROLE, emulator_config, start_controller
from awspca_emulator import AdminClient, run_in_thread
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.e2e.test_certificates import cert_path, wait_certificate_ready
from tests.flows import wait_issuer_ready

CLUSTERS = ("cluster1", "cluster2")
PATHLEN0 = "arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen0/V1"
ISTIO_SECRET_KEYS = {"tls.crt", "tls.key", "ca.crt"}
APP_NS, APP_SA = "app", "workload"  # the same ServiceAccount name in each cluster's namespace

Key = ec.EllipticCurvePrivateKey


@dataclass
class Cluster:
    name: str
    cp: ControlPlane
    controller: IssuerProcess
    istiod: Istiod | None = None

    @property
    def mesh_ca(self) -> Istiod:
        assert self.istiod is not None
        return self.istiod


@dataclass
class Mesh:
    clusters: dict[str, Cluster]
    emulator: Any
    pki: dict[str, Any]


@dataclass
class CaCerts:
    """The ``cacerts`` Secret as istiod reads it."""

    keys: set[str]
    type: str
    chain: list[x509.Certificate]  # tls.crt: cluster intermediate, subordinate
    key: Any  # tls.key
    root: x509.Certificate  # ca.crt


@pytest.fixture(scope="module")
def mesh(workdir: Path) -> Iterator[Mesh]:
    """Two control planes, one emulator trusting both OIDC issuers, cert-manager + issuer
    in each, the ``cacerts`` Certificate issued in each, then one istiod per cluster."""
    cps = {n: ControlPlane(workdir, f"istio-{n}") for n in CLUSTERS}
    started: list[Any] = []
    try:
        for cp in cps.values():
            cp.start()
            started.append(cp)
        emu = run_in_thread(emulator_config(*cps.values()))
        started.append(emu)
        hierarchy = AdminClient(emu.url).bootstrap(
            key_algorithm="EC_prime256v1", subordinate_pathlen=1
        )
        clusters: dict[str, Cluster] = {}
        for name, cp in cps.items():
            started.append(CertManager(cp).start())
            proc = start_controller(cp, emu, workdir, "issuer")
            started.append(proc)
            clusters[name] = Cluster(name, cp, proc)
        sub_arn = hierarchy["subordinate_arn"]
        for c in clusters.values():
            apply_sample(c.cp, "awspcaclusterissuer-irsa.yaml", ca_arn=sub_arn)
            apply_sample(
                c.cp, "istio-cacerts.yaml", ca_arn=sub_arn, replace={"CA cluster1": f"CA {c.name}"}
            )
        for c in clusters.values():
            wait_issuer_ready(c.cp.admin, "AWSPCAClusterIssuer", "pca-cluster-irsa")
            wait_certificate_ready(c.cp.admin, "istio-system", "cacerts")
        for c in clusters.values():  # istiod mounts cacerts: it starts once the Secret exists
            c.istiod = Istiod(c.cp, c.name)
            started.append(c.istiod)
            c.istiod.start()
        yield Mesh(clusters, emu, hierarchy)
    finally:
        for thing in reversed(started):
            thing.stop()


def read_cacerts(cp: ControlPlane) -> CaCerts:
    secret = cp.admin.get("/api/v1/namespaces/istio-system/secrets/cacerts")
    data = {k: base64.b64decode(v) for k, v in secret["data"].items()}
    (root,) = x509.load_pem_x509_certificates(data["ca.crt"])
    return CaCerts(
        keys=set(data),
        type=secret["type"],
        chain=x509.load_pem_x509_certificates(data["tls.crt"]),
        key=serialization.load_pem_private_key(data["tls.key"], None),
        root=root,
    )


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def workload(tmp: Path, name: str, cert: WorkloadCert) -> Workload:
    return write_workload(tmp, name, cert.chain_pem(), cert.key_pem)


def check_workload_chain(
    cert: WorkloadCert,
    intermediate: x509.Certificate,
    sub: x509.Certificate,
    root: x509.Certificate,
) -> None:
    """leaf -> this cluster's intermediate -> subordinate -> root, and what istiod puts in a leaf."""
    leaf, *rest = cert.chain
    leaf.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(sub)
    sub.verify_directly_issued_by(root)
    assert pem(*rest[:2]) == pem(intermediate, sub), "istiod sends tls.crt after the leaf"
    assert pem(rest[-1]) == pem(root), "the chain ends at the root (istiod may repeat it)"
    assert set(rest[2:]) == {root}
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical  # empty subject: the SAN carries the identity
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == [cert.identity]
    assert leaf.subject == x509.Name([])
    bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca is False
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(eku)
    now = dt.datetime.now(dt.UTC)
    assert (
        leaf.not_valid_before_utc
        <= now
        < leaf.not_valid_after_utc
        <= (intermediate.not_valid_after_utc)
    )


def check_mtls(server: Workload, client: Workload, root_pem: str, srv_id: str, cli_id: str) -> None:
    srv, cli = handshake(server, client, root_pem)
    assert srv.ok, srv
    assert cli.ok, cli
    assert srv.version == cli.version == "TLSv1.3"
    assert srv.peer == [cli_id]
    assert cli.peer == [srv_id]
    assert srv.data == b"hello from the client"
    assert cli.data == b"hello from the server"


def unrelated_workload(tmp: Path, uri: str) -> Workload:
    """A workload leaf under another root with the same names as the real root: only keys differ."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Emulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Emulator Root CA"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=24))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(pki.key_usage("digital_signature"), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=True
        )
        .sign(root_key, hashes.SHA256())
    )
    return write_workload(tmp, "rogue", pem(leaf), pki.key_pem(leaf_key))


# --- the tests ----------------------------------------------------------------------


def test_each_cluster_gets_its_intermediate_from_the_one_subordinate(mesh: Mesh) -> None:
    sub_arn = mesh.pki["subordinate_arn"]
    ca = {name: read_cacerts(c.cp) for name, c in mesh.clusters.items()}
    root_cert = x509.load_pem_x509_certificate(mesh.pki["root_certificate"].encode())
    sub_cert = x509.load_pem_x509_certificate(mesh.pki["subordinate_certificate"].encode())
    for name, s in ca.items():
        assert s.keys == ISTIO_SECRET_KEYS
        assert s.type == "kubernetes.io/tls"
        inter, sub = s.chain  # tls.crt = cluster intermediate + subordinate, root only in ca.crt
        assert s.root.subject == s.root.issuer
        assert pem(s.root) == pem(root_cert), "ca.crt is the one root of both clusters"
        assert pem(sub) == pem(sub_cert)
        inter.verify_directly_issued_by(sub)
        sub.verify_directly_issued_by(s.root)
        assert inter.subject.rfc4514_string() == f"CN=Istio intermediate CA {name},O=Istio"
        bc = inter.extensions.get_extension_for_class(x509.BasicConstraints).value
        assert (bc.ca, bc.path_length) == (True, 0)
        assert inter.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
        sub_bc = sub.extensions.get_extension_for_class(x509.BasicConstraints).value
        assert (sub_bc.ca, sub_bc.path_length) == (True, 1)
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        assert inter.public_key().public_bytes(der, spki) == s.key.public_key().public_bytes(
            der, spki
        )
    assert pem(ca["cluster1"].chain[0]) != pem(ca["cluster2"].chain[0])

    # Each cluster's controller used its own IRSA session and chose the PathLen0 template.
    issued = [
        c
        for c in mesh.emulator.admin.calls("IssueCertificate")
        if c["ca_arn"] == sub_arn and c["result"] == "OK"
    ]
    assert len(issued) == 2  # one per cluster, none repeated (the renewal test runs later)
    role_name = IRSA_ROLE.rsplit("/", 1)[1]
    assert all(f":assumed-role/{role_name}/" in str(c["caller_arn"]) for c in issued)
    web_identity = [
        c for c in mesh.emulator.admin.calls("AssumeRoleWithWebIdentity") if c["result"] == "OK"
    ]
    assert len(web_identity) >= 2
    for c in mesh.clusters.values():
        crs = c.cp.admin.get(
            "/apis/cert-manager.io/v1/namespaces/istio-system/certificaterequests"
        )["items"]
        first = min(
            crs,
            key=lambda r: int(r["metadata"]["annotations"]["cert-manager.io/certificate-revision"]),
        )
        assert first["spec"]["isCA"] is True
        arn = first["metadata"]["annotations"]["aws-privateca-issuer/certificate-arn"]
        assert template_from_log(c.controller.log_text(), arn) == PATHLEN0

    # Each istiod took the Secret's kubernetes.io/tls layout as its plugged-in CA.
    for c in mesh.clusters.values():
        log = c.mesh_ca.log_text()
        assert LOG_TLS_LAYOUT in log
        assert LOG_PLUGGED_CA in log


def test_istiod_issues_workload_certificates_that_authenticate_across_clusters(
    mesh: Mesh, tmp_path: Path
) -> None:
    root_pem = mesh.pki["root_certificate"]
    root = x509.load_pem_x509_certificate(root_pem.encode())
    sub = x509.load_pem_x509_certificate(mesh.pki["subordinate_certificate"].encode())
    certs: dict[str, WorkloadCert] = {}
    for name, c in mesh.clusters.items():
        cert = c.mesh_ca.workload_certificate(f"{APP_NS}-{name}", APP_SA)
        assert cert.identity == spiffe_id(f"{APP_NS}-{name}", APP_SA)
        check_workload_chain(cert, read_cacerts(c.cp).chain[0], sub, root)
        certs[name] = cert
    work = {name: workload(tmp_path, name, cert) for name, cert in certs.items()}

    # cluster1's workload serves, cluster2's connects; both trust only the root.
    one, two = certs["cluster1"].identity, certs["cluster2"].identity
    check_mtls(work["cluster1"], work["cluster2"], root_pem, srv_id=one, cli_id=two)
    check_mtls(work["cluster2"], work["cluster1"], root_pem, srv_id=two, cli_id=one)

    # A workload of an unrelated root (same names, other keys) is refused, both ways.
    rogue = unrelated_workload(tmp_path, two)
    srv, cli = handshake(work["cluster1"], rogue, root_pem)
    assert not srv.ok, srv
    assert "CERTIFICATE_VERIFY_FAILED" in srv.error, srv
    assert not cli.ok, cli
    srv, cli = handshake(rogue, work["cluster2"], root_pem)
    assert not cli.ok, cli
    assert "CERTIFICATE_VERIFY_FAILED" in cli.error, cli
    assert not srv.ok, srv


def test_istiod_refuses_a_token_of_another_audience(mesh: Mesh) -> None:
    istiod = mesh.clusters["cluster1"].mesh_ca
    with pytest.raises(IstioCaError) as e:
        istiod.workload_certificate(APP_NS, "other-audience", audience="sts.amazonaws.com")
    assert e.value.code == "UNAUTHENTICATED", e.value


def renew(cp: ControlPlane, namespace: str, name: str) -> int:
    """What ``cmctl renew`` does: set Issuing=True (ManuallyTriggered); returns the revision."""
    path = cert_path(namespace, name)
    cert = cp.admin.get(path)
    conditions = [c for c in cert["status"].get("conditions", []) if c["type"] != "Issuing"]
    conditions.append(
        {
            "type": "Issuing",
            "status": "True",
            "reason": "ManuallyTriggered",
            "message": "Certificate re-issuance manually triggered",
            "lastTransitionTime": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    cp.admin.merge_patch(f"{path}/status", {"status": {"conditions": conditions}})
    return int(cert["status"]["revision"])


def test_renewed_intermediate_is_picked_up_by_the_running_istiod(
    mesh: Mesh, tmp_path: Path
) -> None:
    one, two = mesh.clusters["cluster1"], mesh.clusters["cluster2"]
    root_pem = mesh.pki["root_certificate"]
    root = x509.load_pem_x509_certificate(root_pem.encode())
    sub = x509.load_pem_x509_certificate(mesh.pki["subordinate_certificate"].encode())
    old = read_cacerts(one.cp).chain[0]
    old_workload = one.mesh_ca.workload_certificate(f"{APP_NS}-cluster1", APP_SA)
    istiod_pid = one.mesh_ca.proc.pid if one.mesh_ca.proc else None

    revision = renew(one.cp, "istio-system", "cacerts")
    one.cp.admin.wait_for(
        cert_path("istio-system", "cacerts"),
        lambda o: (
            int(o.get("status", {}).get("revision", 0)) > revision
            and (condition(o, "Ready") or {}).get("status") == "True"
        ),
        timeout=120,
        what="renewed cacerts Certificate",
    )
    new = read_cacerts(one.cp).chain[0]
    assert pem(new) != pem(old)
    assert new.public_key() != old.public_key()  # rotationPolicy: Always, a new key

    # The kubelet's part: the Secret's new keys land in istiod's mounted directory.
    one.mesh_ca.project_cacerts()
    deadline = time.monotonic() + 60
    while True:
        fresh = one.mesh_ca.workload_certificate(f"{APP_NS}-cluster1", APP_SA)
        if pem(fresh.chain[1]) == pem(new):
            break
        assert time.monotonic() < deadline, "istiod still signs with the old intermediate"
        time.sleep(0.5)
    assert one.mesh_ca.proc is not None
    assert one.mesh_ca.proc.pid == istiod_pid, "istiod was not restarted"
    assert one.mesh_ca.proc.alive()
    assert LOG_RELOADED in one.mesh_ca.log_text()
    check_workload_chain(fresh, new, sub, root)

    # Cross-cluster mTLS with the new workload certificates (and the old one, same root).
    other = two.mesh_ca.workload_certificate(f"{APP_NS}-cluster2", APP_SA)
    w_new, w_two = workload(tmp_path, "new", fresh), workload(tmp_path, "two", other)
    check_mtls(w_new, w_two, root_pem, srv_id=fresh.identity, cli_id=other.identity)
    check_mtls(w_two, w_new, root_pem, srv_id=other.identity, cli_id=fresh.identity)
    w_old = workload(tmp_path, "old", old_workload)
    check_mtls(w_old, w_new, root_pem, srv_id=old_workload.identity, cli_id=fresh.identity)
