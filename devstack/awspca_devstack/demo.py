"""``python -m awspca_devstack demo``: the seed use case end to end on one machine.

Starts a local control plane (etcd + kube-apiserver), the AWS Private CA
emulator with a root -> subordinate (path length 1) hierarchy, cert-manager
and our controller (authenticating through IRSA: a TokenRequest token of its
ServiceAccount exchanged with the emulator's STS). Then it applies the
samples ``manifests/samples/awspcaclusterissuer-irsa.yaml`` and
``manifests/samples/istio-cacerts.yaml`` with the subordinate CA's ARN, waits
for both with progress lines, and prints a summary read back from the real
objects: the ``cacerts`` Secret, the CertificateRequest, the controller's log
and the emulator's call log.

``--stay`` keeps everything running afterwards and prints a kubeconfig and the
emulator endpoint; Ctrl-C (or SIGTERM) stops every process.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from awspca_emulator import AdminClient, run_in_thread
from awspca_emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from awspca_devstack.certmanager import CertManager
from awspca_devstack.controlplane import ControlPlane
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.kubeclient import JSON, KubeClient, condition
from awspca_devstack.stack import emulator_config, irsa_env

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "manifests" / "samples"
PLACEHOLDER_CA = "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/REPLACE-ME"
PLACEHOLDER_ROLE = "arn:aws:iam::123456789012:role/REPLACE-ME"
PLACEHOLDER_KEY_ID = "REPLACE-ME-ACCESS-KEY-ID"
PLACEHOLDER_SECRET = "REPLACE-ME-SECRET-ACCESS-KEY"
ISSUER_NAME = "pca-cluster-irsa"
CERT_NS = "istio-system"
CERT_NAME = "cacerts"
TEMPLATE_PREFIX = "template/"


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


# --- reading back what happened ----------------------------------------------------


@dataclass
class CertInfo:
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    ca: bool
    path_length: int | None
    key: str

    @staticmethod
    def of(cert: x509.Certificate) -> CertInfo:
        try:
            bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
            is_ca, pathlen = bc.ca, bc.path_length
        except x509.ExtensionNotFound:
            is_ca, pathlen = False, None
        pub = cert.public_key()
        if isinstance(pub, rsa.RSAPublicKey):
            key = f"RSA {pub.key_size}"
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            key = f"EC {pub.curve.name}"
        else:
            key = type(pub).__name__
        return CertInfo(
            subject=cert.subject.rfc4514_string() or "(empty)",
            issuer=cert.issuer.rfc4514_string(),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            ca=is_ca,
            path_length=pathlen,
            key=key,
        )


def template_from_extensions(cert: x509.Certificate) -> str:
    """The AWS PCA template whose extensions the certificate carries (CA templates only)."""
    info = CertInfo.of(cert)
    if info.ca and info.path_length is not None:
        return f"SubordinateCACertificate_PathLen{info.path_length}/V1"
    return "(an end-entity template)"


def template_from_log(log_text: str, certificate_arn: str) -> str | None:
    """The template ARN our controller logged when it requested ``certificate_arn``."""
    for line in log_text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if doc.get("msg") == "certificate requested" and doc.get("certificate_arn") == (
            certificate_arn
        ):
            return str(doc.get("template"))
    return None


@dataclass
class Summary:
    secret_keys: list[str]
    secret_type: str
    chain: list[CertInfo]
    root: CertInfo
    request: str
    request_reason: str
    certificate_arn: str
    template_logged: str | None
    template_derived: str
    issue_calls: list[dict[str, Any]]
    steps: list[tuple[str, float]] = field(default_factory=list)

    def render(self, total: float) -> str:
        def fmt(t: datetime) -> str:
            return t.strftime("%Y-%m-%d %H:%M UTC")

        lines = ["", "=== Summary " + "=" * 60]
        lines.append(
            f"Secret {CERT_NS}/{CERT_NAME} ({self.secret_type}): keys {', '.join(self.secret_keys)}"
        )
        labels = ["tls.crt[0] cluster intermediate", "tls.crt[1] subordinate CA"]
        labels += [f"tls.crt[{i}]" for i in range(2, len(self.chain))]
        for label, c in [*zip(labels, self.chain, strict=False), ("ca.crt    root CA", self.root)]:
            bc = f"CA, pathlen {c.path_length}" if c.ca else "not a CA"
            if c.ca and c.path_length is None:
                bc = "CA, no pathlen limit"
            lines.append(f"  {label}")
            lines.append(f"    subject   {c.subject}")
            lines.append(f"    issuer    {c.issuer}")
            lines.append(f"    validity  {fmt(c.not_before)} -> {fmt(c.not_after)}")
            lines.append(f"    key       {c.key}; {bc}")
        lines.append(f"CertificateRequest {CERT_NS}/{self.request}: Ready ({self.request_reason})")
        lines.append(f"  certificate ARN  {self.certificate_arn}")
        logged = self.template_logged or "(not found in the controller log)"
        lines.append(f"  template         {logged}  (from the controller's log)")
        lines.append(
            f"                   {self.template_derived}  (derived from the issued certificate)"
        )
        lines.append(
            "                   (the emulator's call log records callers and results, not templates)"
        )
        for call in self.issue_calls:
            lines.append(
                f"  emulator call log: IssueCertificate {call.get('result')} "
                f"by {call.get('caller_arn')}"
            )
        lines.append("Time taken:")
        for name, secs in self.steps:
            lines.append(f"  {name:<46} {secs:5.1f} s")
        lines.append(f"  {'total':<46} {total:5.1f} s")
        return "\n".join(lines)


def read_summary(kube: KubeClient, admin: AdminClient, controller_log: str, ca_arn: str) -> Summary:
    secret = kube.get(f"/api/v1/namespaces/{CERT_NS}/secrets/{CERT_NAME}")
    data = secret["data"]
    chain = x509.load_pem_x509_certificates(base64.b64decode(data["tls.crt"]))
    (root,) = x509.load_pem_x509_certificates(base64.b64decode(data["ca.crt"]))
    requests = kube.get(f"/apis/cert-manager.io/v1/namespaces/{CERT_NS}/certificaterequests")
    owned = [
        r
        for r in requests["items"]
        if (condition(r, "Ready") or {}).get("status") == "True"
        and r["metadata"].get("annotations", {}).get("cert-manager.io/certificate-name")
        == CERT_NAME
    ]
    req = max(owned, key=lambda r: r["metadata"]["creationTimestamp"])
    arn = req["metadata"]["annotations"].get("aws-privateca-issuer/certificate-arn", "")
    calls = [c for c in admin.calls("IssueCertificate") if c.get("ca_arn") == ca_arn]
    return Summary(
        secret_keys=sorted(data),
        secret_type=str(secret.get("type")),
        chain=[CertInfo.of(c) for c in chain],
        root=CertInfo.of(root),
        request=req["metadata"]["name"],
        request_reason=str((condition(req, "Ready") or {}).get("reason")),
        certificate_arn=arn,
        template_logged=template_from_log(controller_log, arn),
        template_derived=template_from_extensions(chain[0]),
        issue_calls=calls,
    )


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


def demo(workdir: Path, stay: bool, timeout: float) -> int:
    progress = Progress()
    print(
        "awspca-issuer demo: root CA -> subordinate CA (AWS Private CA emulator) -> "
        "Istio cluster intermediate (cert-manager Certificate 'cacerts')",
        flush=True,
    )
    with ExitStack() as stack:
        with progress.step("control plane (etcd + kube-apiserver)"):
            cp = ControlPlane(workdir, "demo")
            stack.callback(cp.stop)
            cp.start()
        with progress.step("AWS PCA emulator, root -> subordinate CA"):
            emu = run_in_thread(emulator_config(cp))
            stack.callback(emu.stop)
            admin = AdminClient(emu.url)
            pki = admin.bootstrap(key_algorithm="EC_prime256v1", subordinate_pathlen=1)
            root_arn, sub_arn = pki["root_arn"], pki["subordinate_arn"]
            progress.say(f"  emulator at {emu.url}")
            progress.say(f"  root CA         {root_arn}")
            progress.say(f"  subordinate CA  {sub_arn} (path length 1)")
        with progress.step("cert-manager"):
            cm = CertManager(cp)
            stack.callback(cm.stop)
            cm.start()
        with progress.step("issuer (python -m issuer, IRSA)"):
            env = irsa_env(cp, workdir, "issuer")
            proc = IssuerProcess(cp, aws_endpoint=emu.url, name="issuer", env=env)
            stack.callback(proc.stop)
            proc.start()
        kube = cp.admin
        with progress.step(f"AWSPCAClusterIssuer {ISSUER_NAME} Ready"):
            out = apply_sample(cp, "awspcaclusterissuer-irsa.yaml", ca_arn=sub_arn)
            progress.say(f"  kubectl: {out.strip()}")
            wait_ready(
                kube,
                f"/apis/awspca.cert-manager.io/v1beta1/awspcaclusterissuers/{ISSUER_NAME}",
                f"AWSPCAClusterIssuer {ISSUER_NAME}",
                progress,
                timeout,
            )
        with progress.step(f"Certificate {CERT_NS}/{CERT_NAME} (isCA) Ready"):
            out = apply_sample(cp, "istio-cacerts.yaml", ca_arn=sub_arn)
            for line in out.strip().splitlines():
                progress.say(f"  kubectl: {line}")
            wait_ready(
                kube,
                f"/apis/cert-manager.io/v1/namespaces/{CERT_NS}/certificates/{CERT_NAME}",
                f"Certificate {CERT_NS}/{CERT_NAME}",
                progress,
                timeout,
                done=lambda o: int(o.get("status", {}).get("revision", 0)) >= 1,
            )
        summary = read_summary(kube, admin, proc.log_text(), sub_arn)
        summary.steps = progress.steps
        print(summary.render(progress.total()), flush=True)
        if stay:
            print(
                "\nThe stack stays up. In another shell:\n"
                f"  export KUBECONFIG={cp.kubeconfig}\n"
                "  kubectl get awspcaclusterissuers,certificates,certificaterequests -A\n"
                "  kubectl apply -f my-certificate.yaml   # issuerRef: AWSPCAClusterIssuer "
                f"{ISSUER_NAME}\n"
                f"AWS PCA emulator: {emu.url}  (call log: {emu.url}/_emulator/calls)\n"
                f"  export AWS_ENDPOINT_URL={emu.url} AWS_DEFAULT_REGION=us-east-1 "
                f"AWS_ACCESS_KEY_ID={DEFAULT_ACCESS_KEY_ID} "
                f"AWS_SECRET_ACCESS_KEY={DEFAULT_SECRET_ACCESS_KEY}\n"
                f"  subordinate CA ARN: {sub_arn}\n"
                f"logs: {cp.dir}\n"
                "Ctrl-C stops everything.",
                flush=True,
            )
            try:
                while True:
                    time.sleep(0.5)
            except KeyboardInterrupt:
                print("", flush=True)
        progress.say("stopping the issuer, cert-manager, the emulator, etcd and kube-apiserver")
    progress.say("stopped")
    return 0


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
