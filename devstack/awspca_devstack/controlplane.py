"""A real single-node control plane on loopback: etcd + kube-apiserver, no kubelet.

What controller-runtime's envtest does, in Python: generated certificates,
free ports, an admin kubeconfig, our CRDs and cert-manager's installed, and
helpers for namespaces, ServiceAccount tokens (TokenRequest) and the OIDC
documents the API server publishes. It can stop and restart the API server
(same etcd, same certificates) for fault tests.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml

from awspca_devstack import pki, tools
from awspca_devstack.kubeclient import JSON, Credentials, KubeClient, KubeError
from awspca_devstack.procs import Process, free_port

CRD_ESTABLISH_TIMEOUT = 60.0

#: Writes of CertificateRequests (and their status) go to ``audit.log`` with
#: their request bodies, and GETs of one with their metadata only, so tests
#: count the API calls a controller really made; nothing else is audited.
_REQUESTS = [
    {"group": "cert-manager.io", "resources": ["certificaterequests", "certificaterequests/status"]}
]
AUDIT_POLICY: JSON = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {
            "level": "Request",
            "verbs": ["create", "update", "patch", "delete"],
            "resources": _REQUESTS,
        },
        {"level": "Metadata", "verbs": ["get"], "resources": _REQUESTS},
        {"level": "None"},
    ],
}


class ControlPlane:
    """etcd + kube-apiserver in ``workdir``; ``start()``/``stop()``; usable as a context manager."""

    def __init__(self, workdir: Path, name: str = "cp") -> None:
        self.name = name
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.etcd_port = free_port()
        self.etcd_peer_port = free_port()
        self.port = free_port()
        self.server = f"https://127.0.0.1:{self.port}"
        self.issuer_url = self.server  # --service-account-issuer
        self.kubeconfig = self.dir / "admin.kubeconfig"
        self.etcd: Process | None = None
        self.apiserver: Process | None = None
        self._admin: KubeClient | None = None

    # --- lifecycle -------------------------------------------------------------
    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> ControlPlane:
        t0 = time.monotonic()
        self._write_pki()
        self._start_etcd()
        self.start_apiserver()
        self._write_kubeconfig()
        self._allow_anonymous_oidc_discovery()
        self.install_crds()
        self.log(f"ready in {time.monotonic() - t0:.1f}s at {self.server}")
        return self

    def stop(self) -> None:
        for p in (self.apiserver, self.etcd):
            if p is not None:
                p.stop()

    def log(self, msg: str) -> None:
        print(f"[harness {self.name}] {msg}", flush=True)

    def _write_pki(self) -> None:
        d = self.dir
        self.serving_ca = pki.new_ca(f"{self.name}-serving-ca")
        self.ca_file, _ = self.serving_ca.write(d, "serving-ca")
        serving = pki.issue(
            self.serving_ca,
            "kube-apiserver",
            server_names=("127.0.0.1", "localhost", "kubernetes.default.svc"),
        )
        self.serving_cert, self.serving_key = serving.write(d, "apiserver")
        self.client_ca = pki.new_ca(f"{self.name}-client-ca")
        self.client_ca_file, _ = self.client_ca.write(d, "client-ca")
        admin = pki.issue(self.client_ca, "admin", org="system:masters", client=True)
        self.admin_cert, self.admin_key = admin.write(d, "admin")
        self.sa_key_file = d / "sa.key"
        self.sa_key_file.write_bytes(pki.key_pem(pki.service_account_key()))
        self.sa_key_file.chmod(0o600)
        self.audit_policy_file = d / "audit-policy.json"
        self.audit_policy_file.write_text(json.dumps(AUDIT_POLICY))
        self.audit_log = d / "audit.log"

    def _start_etcd(self) -> None:
        data = self.dir / "etcd-data"
        shutil.rmtree(data, ignore_errors=True)
        argv = [
            str(tools.binary("etcd")),
            "--name",
            self.name,
            "--data-dir",
            str(data),
            "--listen-client-urls",
            f"http://127.0.0.1:{self.etcd_port}",
            "--advertise-client-urls",
            f"http://127.0.0.1:{self.etcd_port}",
            "--listen-peer-urls",
            f"http://127.0.0.1:{self.etcd_peer_port}",
            "--initial-advertise-peer-urls",
            f"http://127.0.0.1:{self.etcd_peer_port}",
            "--initial-cluster",
            f"{self.name}=http://127.0.0.1:{self.etcd_peer_port}",
            "--unsafe-no-fsync",
            "--log-level",
            "warn",
            "--quota-backend-bytes",
            str(4 * 1024**3),
        ]
        self.etcd = Process("etcd", argv, self.dir / "etcd.log").start()
        self._wait(
            lambda: self._http_ok(f"http://127.0.0.1:{self.etcd_port}/health"),
            30,
            "etcd /health",
            self.etcd,
        )

    def _apiserver_argv(self) -> list[str]:
        return [
            str(tools.binary("kube-apiserver")),
            "--etcd-servers",
            f"http://127.0.0.1:{self.etcd_port}",
            "--bind-address",
            "127.0.0.1",
            "--advertise-address",
            "127.0.0.1",
            "--secure-port",
            str(self.port),
            "--tls-cert-file",
            str(self.serving_cert),
            "--tls-private-key-file",
            str(self.serving_key),
            "--cert-dir",
            str(self.dir / "apiserver-certs"),
            "--client-ca-file",
            str(self.client_ca_file),
            "--authorization-mode",
            "RBAC",
            "--service-account-issuer",
            self.issuer_url,
            "--service-account-key-file",
            str(self.sa_key_file),
            "--service-account-signing-key-file",
            str(self.sa_key_file),
            "--service-cluster-ip-range",
            "10.0.0.0/24",
            "--disable-admission-plugins",
            "ServiceAccount",
            "--allow-privileged=true",
            "--endpoint-reconciler-type",
            "none",
            "--max-requests-inflight",
            "800",
            "--max-mutating-requests-inflight",
            "400",
            "--audit-policy-file",
            str(self.audit_policy_file),
            "--audit-log-path",
            str(self.audit_log),
            "--audit-log-maxbackup",
            "0",
            "--v",
            "1",
        ]

    def start_apiserver(self, timeout: float = 120.0) -> None:
        """Start (or start again) the API server and wait for /readyz."""
        self.apiserver = Process(
            "kube-apiserver", self._apiserver_argv(), self.dir / "apiserver.log"
        ).start()
        self._wait(self._apiserver_ready, timeout, "kube-apiserver /readyz", self.apiserver)

    def stop_apiserver(self) -> None:
        if self.apiserver is not None:
            self.apiserver.stop()

    def restart_apiserver(self, down_for: float = 0.0) -> None:
        """Stop the API server, stay down ``down_for`` seconds, start it again."""
        self.stop_apiserver()
        time.sleep(down_for)
        self.start_apiserver()

    def _apiserver_ready(self) -> bool:
        try:
            return self.admin.raw("/readyz") == b"ok"
        except (KubeError, OSError):
            return False

    @staticmethod
    def _http_ok(url: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _wait(self, check: Any, timeout: float, what: str, proc: Process) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited while waiting for {what}:\n{proc.tail()}")
            time.sleep(0.25)
        raise TimeoutError(f"timed out waiting for {what}; log tail:\n{proc.tail()}")

    # --- access ----------------------------------------------------------------
    @property
    def admin(self) -> KubeClient:
        if self._admin is None:
            self._admin = KubeClient(
                self.server,
                Credentials(
                    ca_file=self.ca_file, client_cert=self.admin_cert, client_key=self.admin_key
                ),
            )
        return self._admin

    def _write_kubeconfig(self) -> None:
        self.kubeconfig.write_text(self.kubeconfig_text())
        self.kubeconfig.chmod(0o600)

    def kubeconfig_text(self, token: str | None = None) -> str:
        """A kubeconfig for the admin, or for the bearer of ``token``."""

        def b64(p: Path) -> str:
            return base64.b64encode(p.read_bytes()).decode()

        user: JSON
        if token is not None:
            user = {"token": token}
        else:
            user = {
                "client-certificate-data": b64(self.admin_cert),
                "client-key-data": b64(self.admin_key),
            }
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": self.name,
                    "cluster": {
                        "server": self.server,
                        "certificate-authority-data": b64(self.ca_file),
                    },
                }
            ],
            "users": [{"name": "user", "user": user}],
            "contexts": [{"name": self.name, "context": {"cluster": self.name, "user": "user"}}],
            "current-context": self.name,
        }
        return json.dumps(doc, indent=2)  # JSON is valid YAML

    def write_kubeconfig_for_token(self, token: str, name: str) -> Path:
        path = self.dir / f"{name}.kubeconfig"
        path.write_text(self.kubeconfig_text(token))
        path.chmod(0o600)
        return path

    def kubectl(
        self,
        *args: str,
        check: bool = True,
        input_text: str | None = None,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl (built at the pinned version) against this server."""
        argv = [str(tools.binary("kubectl")), "--kubeconfig", str(kubeconfig or self.kubeconfig)]
        res = subprocess.run(
            [*argv, *args],
            capture_output=True,
            text=True,
            input=input_text,
            timeout=120,
            check=False,
        )
        if check and res.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}")
        return res

    # --- setup -----------------------------------------------------------------
    def _allow_anonymous_oidc_discovery(self) -> None:
        """Let anyone (e.g. the STS emulator) read /.well-known/openid-configuration and JWKS."""
        self.admin.apply(
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/oidc-discovery-anonymous",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "oidc-discovery-anonymous"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "system:service-account-issuer-discovery",
                },
                "subjects": [
                    {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Group",
                        "name": "system:unauthenticated",
                    }
                ],
            },
        )

    def install_crds(self) -> None:
        """Apply our CRDs and cert-manager's, and wait until all are Established."""
        names: list[str] = []
        for d in (tools.our_crds_dir(), tools.cert_manager_crds_dir()):
            self.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(d))
            for f in sorted(d.glob("*.yaml")):
                for doc in yaml.safe_load_all(f.read_text()):
                    if doc and doc.get("kind") == "CustomResourceDefinition":
                        names.append(doc["metadata"]["name"])
        for n in names:
            self.admin.wait_for(
                f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{n}",
                lambda o: any(
                    c.get("type") == "Established" and c.get("status") == "True"
                    for c in o.get("status", {}).get("conditions", [])
                ),
                timeout=CRD_ESTABLISH_TIMEOUT,
                what=f"CRD {n} Established",
            )
        self.crd_names = names

    # --- helpers for tests -----------------------------------------------------
    def audit_events(self) -> list[JSON]:
        """Every audited CertificateRequest write and GET so far (``AUDIT_POLICY``), oldest first."""
        if not self.audit_log.exists():
            return []
        events = []
        for line in self.audit_log.read_text(errors="replace").splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue  # the line being written right now
        return events

    def new_namespace(self, prefix: str = "t") -> str:
        """A fresh namespace (namespaces never finish deleting here: no GC)."""
        clean = re.sub(r"[^a-z0-9-]+", "-", prefix.lower())[:40].strip("-") or "t"
        name = f"{clean}-{uuid.uuid4().hex[:6]}"
        self.admin.create(
            "/api/v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
        )
        return name

    def ensure_namespace(self, name: str) -> str:
        if not self.admin.exists(f"/api/v1/namespaces/{name}"):
            self.admin.create(
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
            )
        return name

    def create_service_account(self, namespace: str, name: str) -> JSON:
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts"
        try:
            return self.admin.create(
                path,
                {
                    "apiVersion": "v1",
                    "kind": "ServiceAccount",
                    "metadata": {"name": name, "namespace": namespace},
                },
            )
        except KubeError as e:
            if e.code != 409:
                raise
            return self.admin.get(f"{path}/{name}")

    def service_account_token(
        self,
        namespace: str,
        name: str,
        audiences: tuple[str, ...] = ("sts.amazonaws.com",),
        expiration_seconds: int = 3600,
    ) -> str:
        """Mint a token for the ServiceAccount through the TokenRequest API."""
        resp = self.admin.create(
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"audiences": list(audiences), "expirationSeconds": expiration_seconds},
            },
        )
        token: str = resp["status"]["token"]
        return token

    def oidc_discovery(self) -> JSON:
        doc: JSON = json.loads(self.admin.raw("/.well-known/openid-configuration"))
        return doc

    def jwks(self) -> JSON:
        doc: JSON = json.loads(self.admin.raw("/openid/v1/jwks"))
        return doc
