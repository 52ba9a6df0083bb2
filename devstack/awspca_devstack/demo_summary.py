"""What the demo prints at the end, read back from the real objects, processes and logs.

Per cluster: the ``cacerts`` Secret's chain (what our issuer got from AWS
Private CA), its CertificateRequest, the template our controller chose, the
workload certificate istiod signed with that intermediate (its chain verified
up to the root); then the cross-cluster mTLS handshake, the emulator's
IssueCertificate calls and the time of each step.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from awspca_devstack.kubeclient import KubeClient, condition

CERT_NS = "istio-system"
CERT_NAME = "cacerts"


@dataclass
class CertInfo:
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    ca: bool
    path_length: int | None
    key: str
    uris: list[str] = field(default_factory=list)

    @staticmethod
    def of(cert: x509.Certificate) -> CertInfo:
        try:
            bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
            is_ca, pathlen = bc.ca, bc.path_length
        except x509.ExtensionNotFound:
            is_ca, pathlen = False, None
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            uris = san.get_values_for_type(x509.UniformResourceIdentifier)
        except x509.ExtensionNotFound:
            uris = []
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
            uris=uris,
        )

    def lines(self, label: str, indent: str) -> list[str]:
        bc = f"CA, pathlen {self.path_length}" if self.ca else "not a CA"
        if self.ca and self.path_length is None:
            bc = "CA, no pathlen limit"
        out = [f"{indent}{label}", f"{indent}  subject   {self.subject}"]
        out += [f"{indent}  URI SAN   {u}" for u in self.uris]
        out.append(f"{indent}  issuer    {self.issuer}")
        out.append(f"{indent}  validity  {_fmt(self.not_before)} -> {_fmt(self.not_after)}")
        out.append(f"{indent}  key       {self.key}; {bc}")
        return out


def _fmt(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC")


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


def verify_chain(chain: list[x509.Certificate], root: x509.Certificate) -> None:
    """Each certificate is signed by the next, up to ``root`` (raises if not)."""
    for child, parent in zip(chain, [*chain[1:], root], strict=True):
        child.verify_directly_issued_by(parent)


@dataclass
class ClusterSummary:
    name: str
    secret_keys: list[str]
    secret_type: str
    chain: list[CertInfo]
    root: CertInfo
    request: str
    request_reason: str
    certificate_arn: str
    template_logged: str | None
    template_derived: str
    workload: list[CertInfo] = field(default_factory=list)  # leaf .. root, as istiod sent it
    workload_verified: str = ""
    istiod_rss_mib: float | None = None
    requests_created: int = 0  # CertificateRequests cert-manager created (API server audit log)

    def lines(self) -> list[str]:
        lines = [f"{self.name}:"]
        lines.append(
            f"  Secret {CERT_NS}/{CERT_NAME} ({self.secret_type}): keys {', '.join(self.secret_keys)}"
        )
        labels = ["tls.crt[0] cluster intermediate", "tls.crt[1] subordinate CA"]
        labels += [f"tls.crt[{i}]" for i in range(2, len(self.chain))]
        for label, c in [*zip(labels, self.chain, strict=False), ("ca.crt    root CA", self.root)]:
            lines += c.lines(label, "    ")
        lines.append(
            f"  CertificateRequest {CERT_NS}/{self.request}: Ready ({self.request_reason})"
        )
        lines.append(f"    certificate ARN  {self.certificate_arn}")
        lines.append(
            f"    cert-manager created {self.requests_created} CertificateRequest(s) for "
            f"{CERT_NAME}; each is issued once"
        )
        logged = self.template_logged or "(not found in the controller log)"
        lines.append(f"    template         {logged}  (from the controller's log)")
        lines.append(
            f"                     {self.template_derived}  (derived from the issued certificate)"
        )
        rss = f", RSS {self.istiod_rss_mib:.0f} MiB" if self.istiod_rss_mib else ""
        lines.append(f"  workload certificate from istiod (CreateCertificate{rss}):")
        names = ["leaf (workload)", "cluster intermediate", "subordinate CA", "root CA"]
        for i, c in enumerate(self.workload):
            label = names[i] if i < len(names) else "root CA again (istiod repeats it)"
            lines += c.lines(f"[{i}] {label}", "    ")
        lines.append(f"    chain check      {self.workload_verified}")
        return lines


@dataclass
class Summary:
    clusters: list[ClusterSummary]
    mtls: list[str]
    issue_calls: list[dict[str, Any]]
    steps: list[tuple[str, float]] = field(default_factory=list)

    def render(self, total: float) -> str:
        lines = ["", "=== Summary " + "=" * 60]
        for c in self.clusters:
            lines += c.lines()
        lines.append("mTLS between the clusters' workloads (TLS 1.3, each trusting only ca.crt):")
        lines += [f"  {m}" for m in self.mtls]
        lines.append(
            "AWS Private CA (the emulator's call log: callers and results, not templates):"
        )
        for call in self.issue_calls:
            lines.append(
                f"  emulator call log: IssueCertificate {call.get('result')} "
                f"by {call.get('caller_arn')} token {str(call.get('idempotency_token'))[:12]}"
            )
        lines.append("Time taken:")
        for name, secs in self.steps:
            lines.append(f"  {name:<54} {secs:5.1f} s")
        lines.append(f"  {'total':<54} {total:5.1f} s")
        return "\n".join(lines)


def read_cluster(name: str, kube: KubeClient, controller_log: str) -> ClusterSummary:
    """The ``cacerts`` Secret and its newest Ready CertificateRequest in one cluster."""
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
    return ClusterSummary(
        name=name,
        secret_keys=sorted(data),
        secret_type=str(secret.get("type")),
        chain=[CertInfo.of(c) for c in chain],
        root=CertInfo.of(root),
        request=req["metadata"]["name"],
        request_reason=str((condition(req, "Ready") or {}).get("reason")),
        certificate_arn=arn,
        template_logged=template_from_log(controller_log, arn),
        template_derived=template_from_extensions(chain[0]),
    )
