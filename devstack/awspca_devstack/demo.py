"""``python -m awspca_devstack demo``: the seed use case end to end on one machine.

Two workload clusters, each a local control plane (etcd + kube-apiserver,
started side by side), share one AWS Private CA emulator holding a root ->
subordinate (path length 1) hierarchy. In each cluster cert-manager and our
controller (authenticating through IRSA: a TokenRequest token of its
ServiceAccount exchanged with the emulator's STS) issue the Istio ``cacerts``
intermediate from the samples ``manifests/samples/awspcaclusterissuer-irsa.yaml``
and ``manifests/samples/istio-cacerts.yaml``. Then a real istiod per cluster
takes that Secret as its CA and signs a workload certificate for a
ServiceAccount of its cluster, as a sidecar asks for one; the two workloads
complete a TLS 1.3 mutual-TLS handshake trusting only the root. Each step is
timed; the summary shows both clusters' chains, read back from the real
objects, processes and logs.

``--stay`` keeps everything running afterwards and prints the kubeconfigs and
the emulator endpoint; Ctrl-C (or SIGTERM) stops every process.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from awspca_emulator import AdminClient, run_in_thread
from awspca_emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY
from cryptography import x509

from awspca_devstack.certmanager import CertManager
from awspca_devstack.controlplane import ControlPlane
from awspca_devstack.demo_summary import (
    CERT_NAME,
    CERT_NS,
    CertInfo,
    ClusterSummary,
    Summary,
    read_cluster,
    verify_chain,
)
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.istiod import Istiod, WorkloadCert
from awspca_devstack.kubeclient import JSON, KubeClient, condition
from awspca_devstack.mtls import handshake, write_workload
from awspca_devstack.stack import emulator_config, irsa_env

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "manifests" / "samples"
PLACEHOLDER_CA = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/REPLACE-ME"
PLACEHOLDER_ROLE = "arn:aws:iam::123456789012:role/REPLACE-ME"
PLACEHOLDER_KEY_ID = "REPLACE-ME-ACCESS-KEY-ID"
PLACEHOLDER_SECRET = "REPLACE-ME-SECRET-ACCESS-KEY"
ISSUER_NAME = "pca-cluster-irsa"
CLUSTERS = ("cluster1", "cluster2")
APP_SA = "workload"  # the ServiceAccount, in namespace app-<cluster>, that gets a certificate


def render_sample(
    name: str,
    *,
    ca_arn: str,
    role_arn: str = PLACEHOLDER_ROLE,
    access_key_id: str = DEFAULT_ACCESS_KEY_ID,
    secret_access_key: str = DEFAULT_SECRET_ACCESS_KEY,
    replace: dict[str, str] | None = None,
) -> str:
    """The text of ``manifests/samples/<name>`` with its placeholders filled in."""
    text = (SAMPLES / name).read_text()
    for old, new in {
        PLACEHOLDER_CA: ca_arn,
        PLACEHOLDER_ROLE: role_arn,
        PLACEHOLDER_KEY_ID: access_key_id,
        PLACEHOLDER_SECRET: secret_access_key,
        **(replace or {}),
    }.items():
        text = text.replace(old, new)
    return text


def apply_sample(cp: ControlPlane, name: str, namespace: str | None = None, **kw: Any) -> str:
    """``kubectl apply`` a rendered sample (the real kubectl); returns kubectl's output."""
    args = ["apply", "-f", "-"] + (["-n", namespace] if namespace else [])
    return cp.kubectl(*args, input_text=render_sample(name, **kw)).stdout


# --- running the stack -------------------------------------------------------------


class Progress:
    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.steps: list[tuple[str, float]] = []

    def say(self, msg: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {msg}", flush=True)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.say(f"{name} ...")
        t = time.monotonic()
        yield
        secs = time.monotonic() - t
        self.steps.append((name, secs))
        self.say(f"{name}: done in {secs:.1f}s")

    def total(self) -> float:
        return time.monotonic() - self.t0


def wait_ready(
    kube: KubeClient,
    path: str,
    what: str,
    progress: Progress,
    timeout: float,
    done: Callable[[JSON], bool] | None = None,
) -> JSON:
    """Poll ``path`` until Ready=True, printing each change of the Ready condition."""
    deadline = time.monotonic() + timeout
    last: tuple[Any, ...] | None = None
    while True:
        obj: JSON | None = kube.get(path) if kube.exists(path) else None
        cond = (condition(obj, "Ready") or {}) if obj is not None else {}
        state = (cond.get("status"), cond.get("reason"), cond.get("message"))
        if state != last:
            if obj is None:
                progress.say(f"  {what}: not created yet")
            elif not cond:
                progress.say(f"  {what}: no Ready condition yet")
            else:
                progress.say(f"  {what}: Ready={state[0]} ({state[1]}) {state[2] or ''}".rstrip())
            last = state
        if obj is not None and cond.get("status") == "True" and (done is None or done(obj)):
            return obj
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not Ready after {timeout:.0f}s (last: {state})")
        time.sleep(0.5)


@dataclass
class Cluster:
    """One workload cluster of the demo and what runs in it."""

    name: str
    cp: ControlPlane
    issuer: IssuerProcess | None = None
    istiod: Istiod | None = None
    workload: WorkloadCert | None = None


def start_clusters(workdir: Path, stack: ExitStack) -> list[Cluster]:
    """Both control planes at once: most of their start-up is waiting on kube-apiserver.

    Each child process dies with the *thread* that started it (PR_SET_PDEATHSIG),
    so the pool's threads live until the control planes are stopped.
    """
    clusters = [Cluster(n, ControlPlane(workdir, n)) for n in CLUSTERS]
    pool = ThreadPoolExecutor(len(clusters), thread_name_prefix="control-plane")
    stack.callback(pool.shutdown)  # runs after the stops registered below
    for c in clusters:
        stack.callback(c.cp.stop)
    for f in [pool.submit(c.cp.start) for c in clusters]:
        f.result()
    return clusters


def mtls_lines(clusters: list[Cluster], workdir: Path) -> list[str]:
    """A handshake between the first two clusters' workloads; raises unless both sides agree."""
    one, two = clusters[0], clusters[1]
    assert one.workload is not None
    assert two.workload is not None
    files = {}
    for c in (one, two):
        if c.workload is None:
            raise RuntimeError(f"{c.name} has no workload certificate")
        files[c.name] = write_workload(
            workdir / "workloads", c.name, c.workload.chain_pem(), c.workload.key_pem
        )
    assert one.istiod is not None
    root = one.istiod.secret_data()["ca.crt"].decode()  # ca.crt: what each workload trusts
    srv, cli = handshake(files[one.name], files[two.name], root)
    if not (srv.ok and cli.ok):
        raise RuntimeError(f"mTLS handshake failed: server {srv.error!r}, client {cli.error!r}")
    if srv.peer != [two.workload.identity] or cli.peer != [one.workload.identity]:
        raise RuntimeError(f"unexpected peer identities: {srv.peer} / {cli.peer}")
    return [
        f"{one.name} (server) <-> {two.name} (client): {srv.version}, both certificates verified",
        f"  the server saw the client as {srv.peer[0]}",
        f"  the client saw the server as {cli.peer[0]}",
        f"  application data: {srv.data.decode()!r} / {cli.data.decode()!r}",
    ]


def demo(workdir: Path, stay: bool, timeout: float) -> int:
    progress = Progress()
    print(
        "awspca-issuer demo: root CA -> subordinate CA (AWS Private CA emulator) -> "
        "Istio cluster intermediate (cert-manager Certificate 'cacerts') in two clusters -> "
        "istiod -> workload certificates -> mutual TLS across the clusters",
        flush=True,
    )
    with ExitStack() as stack:
        with progress.step("two control planes (etcd + kube-apiserver)"):
            clusters = start_clusters(workdir, stack)
        with progress.step("AWS PCA emulator, root -> subordinate CA"):
            emu = run_in_thread(emulator_config(*(c.cp for c in clusters)))
            stack.callback(emu.stop)
            admin = AdminClient(emu.url)
            pki = admin.bootstrap(key_algorithm="EC_prime256v1", subordinate_pathlen=1)
            root_arn, sub_arn = pki["root_arn"], pki["subordinate_arn"]
            progress.say(f"  emulator at {emu.url}")
            progress.say(f"  root CA         {root_arn}")
            progress.say(f"  subordinate CA  {sub_arn} (path length 1)")
        with progress.step("cert-manager in each cluster"):
            for c in clusters:
                cm = CertManager(c.cp)
                stack.callback(cm.stop)
                cm.start()
        with progress.step("issuer in each cluster (python -m issuer, IRSA)"):
            for c in clusters:
                env = irsa_env(c.cp, workdir, "issuer")
                c.issuer = IssuerProcess(c.cp, aws_endpoint=emu.url, name="issuer", env=env)
                stack.callback(c.issuer.stop)
                c.issuer.start()
        with progress.step(f"AWSPCAClusterIssuer {ISSUER_NAME} Ready"):
            for c in clusters:
                out = apply_sample(c.cp, "awspcaclusterissuer-irsa.yaml", ca_arn=sub_arn)
                progress.say(f"  {c.name} kubectl: {out.strip()}")
            for c in clusters:
                wait_ready(
                    c.cp.admin,
                    f"/apis/awspca.cert-manager.io/v1beta1/awspcaclusterissuers/{ISSUER_NAME}",
                    f"{c.name}: AWSPCAClusterIssuer {ISSUER_NAME}",
                    progress,
                    timeout,
                )
        with progress.step(f"Certificate {CERT_NS}/{CERT_NAME} (isCA) Ready"):
            for c in clusters:
                out = apply_sample(
                    c.cp,
                    "istio-cacerts.yaml",
                    ca_arn=sub_arn,
                    replace={"CA cluster1": f"CA {c.name}"},
                )
                for line in out.strip().splitlines():
                    progress.say(f"  {c.name} kubectl: {line}")
            for c in clusters:
                wait_ready(
                    c.cp.admin,
                    f"/apis/cert-manager.io/v1/namespaces/{CERT_NS}/certificates/{CERT_NAME}",
                    f"{c.name}: Certificate {CERT_NS}/{CERT_NAME}",
                    progress,
                    timeout,
                    done=lambda o: int(o.get("status", {}).get("revision", 0)) >= 1,
                )
        with progress.step("istiod in each cluster, its CA plugged in from cacerts"):
            for c in clusters:
                c.istiod = Istiod(c.cp, c.name)
                stack.callback(c.istiod.stop)
                c.istiod.start(timeout)
                progress.say(f"  {c.name}: istiod ready, CA on {c.istiod.ca_address}")
        with progress.step("workload certificates from istiod (CreateCertificate)"):
            for c in clusters:
                assert c.istiod is not None
                c.workload = c.istiod.workload_certificate(f"app-{c.name}", APP_SA)
                progress.say(f"  {c.name}: {c.workload.identity}")
        with progress.step("mTLS handshake between the clusters' workloads"):
            mtls = mtls_lines(clusters, workdir)
        summary = Summary(
            clusters=[cluster_summary(c) for c in clusters],
            mtls=mtls,
            issue_calls=[c for c in admin.calls("IssueCertificate") if c.get("ca_arn") == sub_arn],
            steps=progress.steps,
        )
        print(summary.render(progress.total()), flush=True)
        if stay:
            one, two = clusters[0].cp, clusters[1].cp
            print(
                "\nThe stack stays up. In another shell:\n"
                f"  export KUBECONFIG={one.kubeconfig}   # {clusters[0].name}\n"
                f"  # {clusters[1].name}: {two.kubeconfig}\n"
                "  kubectl get awspcaclusterissuers,certificates,certificaterequests -A\n"
                "  kubectl apply -f my-certificate.yaml   # issuerRef: AWSPCAClusterIssuer "
                f"{ISSUER_NAME}\n"
                f"AWS PCA emulator: {emu.url}  (call log: {emu.url}/_emulator/calls)\n"
                f"  export AWS_ENDPOINT_URL={emu.url} AWS_DEFAULT_REGION=us-east-1 "
                f"AWS_ACCESS_KEY_ID={DEFAULT_ACCESS_KEY_ID} "
                f"AWS_SECRET_ACCESS_KEY={DEFAULT_SECRET_ACCESS_KEY}\n"
                f"  subordinate CA ARN: {sub_arn}\n"
                f"logs: {workdir}\n"
                "Ctrl-C stops everything.",
                flush=True,
            )
            try:
                while True:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                print("", flush=True)
        progress.say(
            "stopping istiod, the issuer, cert-manager, the emulator, etcd and kube-apiserver"
        )
    progress.say("stopped")
    return 0


def cluster_summary(c: Cluster) -> ClusterSummary:
    assert c.issuer is not None
    assert c.istiod is not None
    assert c.workload is not None
    s = read_cluster(c.name, c.cp.admin, c.issuer.log_text())
    chain = c.workload.chain
    root = chain[-1]
    # istiod sends leaf, tls.crt (intermediate, subordinate), then the root (maybe twice)
    upto = next(i for i, cert in enumerate(chain) if cert == root)
    verify_chain(chain[:upto], root)
    s.workload = [CertInfo.of(cert) for cert in chain]
    s.workload_verified = (
        "leaf -> cluster intermediate -> subordinate CA -> root: each signed by the next"
    )
    mesh_root = x509.load_pem_x509_certificate(c.istiod.secret_data()["ca.crt"])
    if root.subject != root.issuer or root != mesh_root:
        raise RuntimeError(f"{c.name}: the workload chain does not end at the mesh root")
    s.istiod_rss_mib = c.istiod.rss_mib()
    s.requests_created = sum(
        1
        for e in c.cp.audit_events()
        if e.get("stage") == "ResponseComplete"
        and e.get("verb") == "create"
        and (e.get("objectRef") or {}).get("resource") == "certificaterequests"
        and (e.get("objectRef") or {}).get("namespace") == CERT_NS
        and (e.get("responseStatus") or {}).get("code") == 201
    )
    return s


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m awspca_devstack demo", description=__doc__)
    p.add_argument("--stay", action="store_true", help="keep the stack up until Ctrl-C")
    p.add_argument("--workdir", type=Path, default=None, help="kept afterwards if given")
    p.add_argument("--timeout", type=float, default=120.0, help="per wait, seconds")
    ns = p.parse_args(argv)
    workdir = ns.workdir or Path(tempfile.mkdtemp(prefix="awspca-demo-"))
    # Ctrl-C and SIGTERM stop it, even when started with SIGINT ignored (e.g. in background)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        rc = demo(workdir, ns.stay, ns.timeout)
    except KeyboardInterrupt:
        print(f"\ninterrupted; everything stopped. logs kept in {workdir}", flush=True)
        return 130
    except Exception as e:  # noqa: BLE001 - any failure: say so, keep the logs
        print(f"\ndemo failed: {type(e).__name__}: {e}\nlogs kept in {workdir}", flush=True)
        return 1
    if ns.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return rc
