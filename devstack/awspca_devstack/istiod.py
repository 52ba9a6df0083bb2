"""A real istiod (``pilot-discovery``) against a ControlPlane, with its plugged-in CA, no kubelet.

In a cluster the kubelet mounts the ``istio-system/cacerts`` Secret into
istiod's pod and keeps the files current when the Secret changes; istiod
watches that directory and reloads its CA from it. Here the harness plays the
kubelet's part: ``project_cacerts()`` writes the Secret's keys into the
directory the way the kubelet's atomic writer does (a new timestamped
directory, then one rename of the ``..data`` symlink), before istiod starts
and again after cert-manager renews the Secret.

Every listener is on a free loopback port; the CA (gRPC
``IstioCertificateService``) is on the secure gRPC port, served with a
certificate istiod's own CA signs for ``istiod.istio-system.svc``.
"""

from __future__ import annotations

import base64
import os
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from awspca_devstack import istioca, tools
from awspca_devstack.controlplane import ControlPlane
from awspca_devstack.procs import Process, free_port

NAMESPACE = "istio-system"
SECRET = "cacerts"
SERVER_NAME = f"istiod.{NAMESPACE}.svc"
TOKEN_AUDIENCE = "istio-ca"
TRUST_DOMAIN = "cluster.local"
# What istiod logs once it has taken the kubernetes.io/tls layout as its CA.
LOG_TLS_LAYOUT = "Using kubernetes.io/tls secret type for signing ca files"
LOG_PLUGGED_CA = "Use local CA certificate"
LOG_RELOADED = "detected the newly added intermediate CA"


def spiffe_id(namespace: str, service_account: str) -> str:
    return f"spiffe://{TRUST_DOMAIN}/ns/{namespace}/sa/{service_account}"


@dataclass(frozen=True)
class WorkloadCert:
    """What a sidecar holds: its key and the chain istiod returned (leaf first)."""

    identity: str
    key_pem: bytes
    chain: list[x509.Certificate]

    def chain_pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)


class Istiod:
    """One istiod for one cluster (``cluster_id``), its CA plugged in from ``cacerts``."""

    def __init__(self, cp: ControlPlane, cluster_id: str) -> None:
        self.cp = cp
        self.cluster_id = cluster_id
        self.dir = cp.dir / "istiod"
        self.ca_dir = self.dir / "cacerts"  # ROOT_CA_DIR: the Secret's "mount"
        self.http_port = free_port()
        self.secure_grpc_port = free_port()
        self.proc: Process | None = None
        self._generation = 0

    @property
    def ca_address(self) -> str:
        return f"127.0.0.1:{self.secure_grpc_port}"

    # --- the kubelet's part ---------------------------------------------------
    def secret_data(self) -> dict[str, bytes]:
        secret = self.cp.admin.get(f"/api/v1/namespaces/{NAMESPACE}/secrets/{SECRET}")
        return {k: base64.b64decode(v) for k, v in secret.get("data", {}).items()}

    def project_cacerts(self) -> dict[str, bytes]:
        """Write the Secret's keys into ``ca_dir`` atomically, as the kubelet does; returns them."""
        data = self.secret_data()
        self.ca_dir.mkdir(parents=True, exist_ok=True)
        self._generation += 1
        stamp = f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{self._generation}"
        target = self.ca_dir / stamp
        target.mkdir(mode=0o700)
        for key, value in data.items():
            (target / key).write_bytes(value)
            (target / key).chmod(0o600)
        data_link, tmp = self.ca_dir / "..data", self.ca_dir / "..data_tmp"
        previous = os.readlink(data_link) if data_link.is_symlink() else None
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(stamp)
        tmp.replace(data_link)  # the one atomic switch istiod's watcher sees
        for key in data:
            link = self.ca_dir / key
            if not link.is_symlink():
                link.symlink_to(f"..data/{key}")
        if previous is not None:
            shutil.rmtree(self.ca_dir / previous, ignore_errors=True)
        return data

    # --- the process ------------------------------------------------------------
    def start(self, timeout: float = 120.0) -> Istiod:
        """Project ``cacerts`` (it must exist), start istiod and wait for its CA and /ready."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.project_cacerts()
        mesh = self.dir / "mesh.yaml"
        mesh.write_text(f"trustDomain: {TRUST_DOMAIN}\n")
        ports = {
            "--httpAddr": self.http_port,
            "--grpcAddr": free_port(),
            "--secureGRPCAddr": self.secure_grpc_port,
            "--monitoringAddr": free_port(),
            "--httpsAddr": free_port(),
        }
        argv = [
            str(tools.binary("pilot-discovery")),
            "discovery",
            "--kubeconfig",
            str(self.cp.kubeconfig),
            "--meshConfig",
            str(mesh),
            "--networksConfig",
            str(self.dir / "mesh-networks.yaml"),
            "--clusterID",
            self.cluster_id,
            "--ctrlz_address",
            "127.0.0.1",
            "--ctrlz_port",
            str(free_port()),
        ]
        for flag, port in ports.items():
            argv += [flag, f"127.0.0.1:{port}"]
        env = {
            **os.environ,
            "POD_NAMESPACE": NAMESPACE,
            "POD_NAME": f"istiod-{self.cluster_id}",
            "CLUSTER_ID": self.cluster_id,
            "PILOT_CERT_PROVIDER": "istiod",
            "ENABLE_CA_SERVER": "true",
            "INJECTION_WEBHOOK_CONFIG_NAME": "",
            "VALIDATION_WEBHOOK_CONFIG_NAME": "",
            "ROOT_CA_DIR": str(self.ca_dir),
            "TOKEN_AUDIENCES": TOKEN_AUDIENCE,
        }
        self.proc = Process("istiod", argv, self.dir / "istiod.log", env=env, cwd=self.dir).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError(f"istiod exited at start:\n{self.proc.tail()}")
            if self._ready() and LOG_PLUGGED_CA in self.log_text():
                return self
            time.sleep(0.2)
        raise TimeoutError(f"istiod not ready after {timeout:.0f}s:\n{self.proc.tail()}")

    def _ready(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.http_port}/ready"
            with urllib.request.urlopen(url, timeout=2) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def __enter__(self) -> Istiod:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_text(self) -> str:
        if self.proc is None:
            return ""
        try:
            return self.proc.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def rss_mib(self) -> float | None:
        """istiod's resident memory now (from /proc), for the demo's summary."""
        if self.proc is None or not self.proc.alive():
            return None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None

    # --- what a sidecar does ------------------------------------------------------
    def workload_certificate(
        self,
        namespace: str,
        service_account: str,
        *,
        audience: str = TOKEN_AUDIENCE,
        validity_seconds: int = 3600,
    ) -> WorkloadCert:
        """A workload certificate for ``namespace/service_account``, as its sidecar gets one.

        Mints the ServiceAccount's token (TokenRequest, ``audience``), makes a
        key and CSR, and calls istiod's CA trusting only ``ca.crt``.
        """
        self.cp.ensure_namespace(namespace)
        self.cp.create_service_account(namespace, service_account)
        token = self.cp.service_account_token(namespace, service_account, (audience,), 3600)
        identity = spiffe_id(namespace, service_account)
        csr, key = _workload_csr(identity)
        root_pem = self.secret_data()["ca.crt"]
        chain = istioca.create_certificate(
            self.ca_address,
            root_pem,
            token,
            csr.decode(),
            server_name=SERVER_NAME,
            validity_seconds=validity_seconds,
        )
        certs = [x509.load_pem_x509_certificate(p.encode()) for p in chain]
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return WorkloadCert(identity, key_pem, certs)


def _workload_csr(identity: str) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    """The CSR a sidecar's agent sends: a new P-256 key, empty subject, its SPIFFE ID as URI SAN."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity)]),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM), key
