"""The seed scenario: two workload clusters, one AWS Private CA hierarchy, mutual TLS across them.

The emulator holds a root CA and a subordinate CA (path length 1) signed by
it. Two real control planes, each with cert-manager and our controller
authenticating through IRSA with its own ServiceAccount token and OIDC issuer,
get the Istio ``cacerts`` Certificate (``isCA: true``) from the sample
manifests. Standing in for istiod, each cluster's intermediate then signs a
workload leaf with a SPIFFE identity, and a TLS 1.3 mutual-authentication
handshake between a workload of cluster 1 and one of cluster 2, both
trusting only the root (``ca.crt``), succeeds. A leaf from an unrelated root
is refused in the same handshake.
"""

from __future__ import annotations

import base64
import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from awspca_devstack import ControlPlane, pki
from awspca_devstack.certmanager import CertManager
from awspca_devstack.demo import apply_sample, template_from_log
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.stack import IRSA_ROLE, emulator_config, start_controller
from awspca_emulator import AdminClient, run_in_thread
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.e2e.test_certificates import wait_certificate_ready
from tests.flows import wait_issuer_ready

CLUSTERS = ("cluster1", "cluster2")
PATHLEN0 = "arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen0/V1"
ISTIO_SECRET_KEYS = {"tls.crt", "tls.key", "ca.crt"}

Key = ec.EllipticCurvePrivateKey


@dataclass
class Cluster:
    name: str
    cp: ControlPlane
    controller: IssuerProcess


@dataclass
class CaCerts:
    """The ``cacerts`` Secret as istiod reads it."""

    keys: set[str]
    type: str
    chain: list[x509.Certificate]  # tls.crt: cluster intermediate, subordinate
    key: Any  # tls.key
    root: x509.Certificate  # ca.crt


@pytest.fixture(scope="module")
def mesh(workdir: Path) -> Iterator[tuple[dict[str, Cluster], Any, dict[str, Any]]]:
    """Two control planes, one emulator trusting both OIDC issuers, cert-manager + issuer in each."""
    cps = {n: ControlPlane(workdir, f"istio-{n}") for n in CLUSTERS}
    started: list[Any] = []
    try:
        for cp in cps.values():
            cp.start()
            started.append(cp)
        emu = run_in_thread(emulator_config(*cps.values()))
        started.append(emu)
        pki = AdminClient(emu.url).bootstrap(key_algorithm="EC_prime256v1", subordinate_pathlen=1)
        clusters: dict[str, Cluster] = {}
        for name, cp in cps.items():
            started.append(CertManager(cp).start())
            proc = start_controller(cp, emu, workdir, "issuer")
            started.append(proc)
            clusters[name] = Cluster(name, cp, proc)
        yield clusters, emu, pki
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


# --- standing in for istiod ---------------------------------------------------------


def spiffe(cluster: str) -> str:
    return f"spiffe://cluster.local/ns/{cluster}-app/sa/{cluster}-workload"


def workload_leaf(
    issuer_cert: x509.Certificate, issuer_key: Key, uri: str
) -> tuple[x509.Certificate, Key]:
    """What istiod issues to a sidecar: empty subject, critical SPIFFE URI SAN, CA:FALSE,
    EKU serverAuth + clientAuth, signed by the cluster's intermediate."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=24))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            pki.key_usage("digital_signature"),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=True
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )
    return cert, key


def unrelated_root() -> tuple[x509.Certificate, Key]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Emulator"),  # same names as the real
            x509.NameAttribute(NameOID.COMMON_NAME, "Emulator Root CA"),  # root: only keys differ
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


@dataclass
class Workload:
    chain_file: Path  # leaf + its cluster's tls.crt
    key_file: Path


def write_workload(
    d: Path, name: str, leaf: x509.Certificate, key: Key, chain: list[x509.Certificate]
) -> Workload:
    chain_file, key_file = d / f"{name}.chain.pem", d / f"{name}.key.pem"
    chain_file.write_bytes(pem(leaf, *chain))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Workload(chain_file, key_file)


def context(side: int, me: Workload, root_pem: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(side)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False  # SPIFFE: the identity is the URI SAN, checked below
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=root_pem)  # the root only: ca.crt
    ctx.load_cert_chain(me.chain_file, me.key_file)
    return ctx


def peer_uris(tls: ssl.SSLSocket) -> list[str]:
    cert: dict[str, Any] = dict(tls.getpeercert() or {})
    sans: tuple[tuple[str, str], ...] = cert.get("subjectAltName", ())
    return [value for kind, value in sans if kind == "URI"]


@dataclass
class Outcome:
    ok: bool = False
    error: str = ""
    version: str | None = None
    peer: list[str] | None = None
    data: bytes = b""


def handshake(server: Workload, client: Workload, root_pem: str) -> tuple[Outcome, Outcome]:
    """One TLS 1.3 mutual-authentication handshake on 127.0.0.1, then one message each way."""
    srv_out, cli_out = Outcome(), Outcome()
    srv_ctx = context(ssl.PROTOCOL_TLS_SERVER, server, root_pem)
    cli_ctx = context(ssl.PROTOCOL_TLS_CLIENT, client, root_pem)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    port = listener.getsockname()[1]

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(20)
            with srv_ctx.wrap_socket(conn, server_side=True) as tls:
                srv_out.version, srv_out.peer = tls.version(), peer_uris(tls)
                srv_out.data = tls.recv(100)
                tls.sendall(b"hello from the server")
                srv_out.ok = True
        except (ssl.SSLError, OSError) as e:
            srv_out.error = repr(e)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=20) as raw,
            cli_ctx.wrap_socket(raw) as tls,
        ):
            cli_out.version, cli_out.peer = tls.version(), peer_uris(tls)
            tls.sendall(b"hello from the client")
            cli_out.data = tls.recv(100)
            cli_out.ok = cli_out.data != b""
            if not cli_out.ok:
                cli_out.error = "connection closed by the server"
    except (ssl.SSLError, OSError) as e:
        cli_out.error = repr(e)
    t.join(30)
    listener.close()
    return srv_out, cli_out


# --- the test -------------------------------------------------------------------------


def test_two_clusters_share_one_root_and_authenticate_each_other(
    mesh: tuple[dict[str, Cluster], Any, dict[str, Any]], tmp_path: Path
) -> None:
    clusters, emu, pki = mesh
    sub_arn = pki["subordinate_arn"]
    for c in clusters.values():
        apply_sample(c.cp, "awspcaclusterissuer-irsa.yaml", ca_arn=sub_arn)
        apply_sample(
            c.cp, "istio-cacerts.yaml", ca_arn=sub_arn, replace={"CA cluster1": f"CA {c.name}"}
        )
    for c in clusters.values():
        wait_issuer_ready(c.cp.admin, "AWSPCAClusterIssuer", "pca-cluster-irsa")
        wait_certificate_ready(c.cp.admin, "istio-system", "cacerts")

    # The Secret layout istiod (>= 1.14.2) reads as a plugged-in CA.
    ca = {name: read_cacerts(c.cp) for name, c in clusters.items()}
    root_pem = pki["root_certificate"]  # the emulator's root CA certificate
    root_cert = x509.load_pem_x509_certificate(root_pem.encode())
    sub_cert = x509.load_pem_x509_certificate(pki["subordinate_certificate"].encode())
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
        for c in emu.admin.calls("IssueCertificate")
        if c["ca_arn"] == sub_arn and c["result"] == "OK"
    ]
    assert len(issued) == 2
    role_name = IRSA_ROLE.rsplit("/", 1)[1]
    assert all(f":assumed-role/{role_name}/" in str(c["caller_arn"]) for c in issued)
    web_identity = [c for c in emu.admin.calls("AssumeRoleWithWebIdentity") if c["result"] == "OK"]
    assert len(web_identity) >= 2
    for c in clusters.values():
        crs = c.cp.admin.get(
            "/apis/cert-manager.io/v1/namespaces/istio-system/certificaterequests"
        )["items"]
        (cr,) = crs
        assert cr["spec"]["isCA"] is True
        arn = cr["metadata"]["annotations"]["aws-privateca-issuer/certificate-arn"]
        assert template_from_log(c.controller.log_text(), arn) == PATHLEN0

    # Standing in for istiod: each intermediate signs a workload leaf.
    work: dict[str, Workload] = {}
    for name, s in ca.items():
        leaf, key = workload_leaf(s.chain[0], s.key, spiffe(name))
        work[name] = write_workload(tmp_path, name, leaf, key, s.chain)
    root_only = pem(ca["cluster1"].root).decode()  # what each workload trusts: ca.crt
    server, client = handshake(work["cluster1"], work["cluster2"], root_only)
    assert server.ok, server
    assert client.ok, client
    assert server.version == client.version == "TLSv1.3"
    assert server.peer == [spiffe("cluster2")]
    assert client.peer == [spiffe("cluster1")]
    assert server.data == b"hello from the client"
    assert client.data == b"hello from the server"

    # A workload of an unrelated root (same names, other keys) is refused, both ways.
    rogue_root, rogue_key = unrelated_root()
    rogue_leaf, rogue_leaf_key = workload_leaf(rogue_root, rogue_key, spiffe("cluster2"))
    rogue = write_workload(tmp_path, "rogue", rogue_leaf, rogue_leaf_key, [])
    server, client = handshake(work["cluster1"], rogue, root_only)
    assert not server.ok, server
    assert "CERTIFICATE_VERIFY_FAILED" in server.error, server
    assert not client.ok, client
    server, client = handshake(rogue, work["cluster2"], root_only)
    assert not client.ok, client
    assert "CERTIFICATE_VERIFY_FAILED" in client.error, client
    assert not server.ok, server
