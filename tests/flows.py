"""Test steps shared by the integration and e2e suites: issuers, Secrets, requests, checks.

Everything goes through the real API server (raw JSON via the harness's
KubeClient); certificates are verified with `cryptography`.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

from awspca_devstack.csrs import Key, b64
from awspca_devstack.kubeclient import JSON, KubeClient, condition
from awspca_devstack.stack import DEFAULT_KEYS
from awspca_emulator import AdminClient
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from issuer.api.names import events_path, secrets_path

GROUP = "awspca.cert-manager.io"
API = f"{GROUP}/v1beta1"
PLURAL = {"AWSPCAIssuer": "awspcaissuers", "AWSPCAClusterIssuer": "awspcaclusterissuers"}


def issuer_path(kind: str, namespace: str | None, name: str = "") -> str:
    base = f"/apis/{API}"
    if kind == "AWSPCAClusterIssuer":
        p = f"{base}/{PLURAL[kind]}"
    else:
        p = f"{base}/namespaces/{namespace}/{PLURAL[kind]}"
    return f"{p}/{name}" if name else p


def cr_path(namespace: str, name: str = "") -> str:
    p = f"/apis/cert-manager.io/v1/namespaces/{namespace}/certificaterequests"
    return f"{p}/{name}" if name else p


def events_about(kube: KubeClient, namespace: str, name: str) -> list[JSON]:
    """The Events of ``namespace`` whose involvedObject is named ``name``."""
    items: list[JSON] = kube.get(events_path(namespace))["items"]
    return [e for e in items if (e.get("involvedObject") or {}).get("name") == name]


def create_secret(kube: KubeClient, namespace: str, name: str, data: dict[str, str]) -> None:
    kube.create(
        secrets_path(namespace),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "data": {k: b64(v.encode()) for k, v in data.items()},
        },
    )


def create_issuer(
    kube: KubeClient,
    kind: str,
    name: str,
    *,
    arn: str,
    namespace: str | None = None,
    region: str | None = "us-east-1",
    secret_ref: dict[str, Any] | None = None,
    role: str | None = None,
    template: str | None = None,
    extra: dict[str, Any] | None = None,
) -> JSON:
    """Create an issuer; ``extra`` adds spec fields (serviceAccountRef, notBeforeOffset...)."""
    spec: dict[str, Any] = {"arn": arn, **(extra or {})}
    if region:
        spec["region"] = region
    if secret_ref:
        spec["secretRef"] = secret_ref
    if role:
        spec["role"] = role
    if template:
        spec["pcaTemplate"] = {"defaultTemplateName": template}
    md: dict[str, Any] = {"name": name}
    if kind == "AWSPCAIssuer":
        md["namespace"] = namespace
    return kube.create(
        issuer_path(kind, namespace),
        {"apiVersion": API, "kind": kind, "metadata": md, "spec": spec},
    )


def issuer_on_secret(
    kube: KubeClient,
    namespace: str,
    name: str,
    *,
    arn: str,
    secret: str,
    data: dict[str, str],
    selectors: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSON:
    """Secret ``secret`` holding ``data`` and an AWSPCAIssuer reading it (``selectors`` pick its
    keys); not waited for, so a test can watch it become Ready or not."""
    create_secret(kube, namespace, secret, data)
    ref = {"name": secret, **(selectors or {})}
    kind = "AWSPCAIssuer"
    return create_issuer(
        kube, kind, name, arn=arn, namespace=namespace, secret_ref=ref, extra=extra
    )


def new_access_keys(admin: AdminClient) -> dict[str, str]:
    """Keys only the caller uses, known to the emulator: its call log tells their calls apart."""
    key_id = "AKIA" + uuid.uuid4().hex[:16].upper()
    secret = uuid.uuid4().hex + uuid.uuid4().hex[:8]
    admin.add_access_key(key_id, secret)
    return {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret}


def secret_issuer(
    kube: KubeClient,
    namespace: str,
    arn: str,
    *,
    name: str = "pca",
    keys: dict[str, str] | None = None,
) -> JSON:
    """Secret ``aws`` with ``keys`` (else the emulator's default ones, unless it exists) and a
    Ready AWSPCAIssuer reading it."""
    if not kube.exists(f"/api/v1/namespaces/{namespace}/secrets/aws"):
        create_secret(kube, namespace, "aws", keys or DEFAULT_KEYS)
    kind = "AWSPCAIssuer"
    create_issuer(kube, kind, name, arn=arn, namespace=namespace, secret_ref={"name": "aws"})
    return wait_issuer_ready(kube, kind, name, namespace)


def wait_issuer_ready(
    kube: KubeClient, kind: str, name: str, namespace: str | None = None, timeout: float = 60
) -> JSON:
    return kube.wait_for(
        issuer_path(kind, namespace, name),
        lambda o: (condition(o, "Ready") or {}).get("status") == "True",
        timeout=timeout,
        what=f"{kind} {name} Ready",
    )


def create_request(
    kube: KubeClient,
    namespace: str,
    name: str,
    csr_pem: bytes,
    *,
    issuer_kind: str,
    issuer_name: str,
    usages: list[str] | None = None,
    duration: str | None = None,
    is_ca: bool = False,
    approve: bool = True,
    group: str = GROUP,
) -> JSON:
    spec: dict[str, Any] = {
        "request": b64(csr_pem),
        "issuerRef": {"group": group, "kind": issuer_kind, "name": issuer_name},
    }
    if usages is not None:
        spec["usages"] = usages
    if duration:
        spec["duration"] = duration
    if is_ca:
        spec["isCA"] = True
    obj = kube.create(
        cr_path(namespace),
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "CertificateRequest",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        },
    )
    if approve:
        set_request_condition(
            kube, namespace, name, "Approved", "True", "test.approver", "approved"
        )
    return obj


def set_request_condition(
    kube: KubeClient, namespace: str, name: str, ctype: str, status: str, reason: str, message: str
) -> None:
    """What cert-manager's approver does: add a condition through the status subresource."""
    obj = kube.get(cr_path(namespace, name))
    conds = [c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] != ctype]
    conds.append(
        {
            "type": ctype,
            "status": status,
            "reason": reason,
            "message": message,
            "lastTransitionTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    kube.merge_patch(
        cr_path(namespace, name) + "/status",
        {
            "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
            "status": {"conditions": conds},
        },
    )


def ready_status(obj: JSON) -> tuple[str | None, str | None]:
    c = condition(obj, "Ready") or {}
    return c.get("status"), c.get("reason")


def wait_request(
    kube: KubeClient, namespace: str, name: str, *, reason: str = "Issued", timeout: float = 90
) -> JSON:
    """Wait until the request's Ready condition has ``reason`` (Issued, Failed, Denied, Pending).

    A request that ends in another terminal state fails the wait at once.
    """

    def check(o: JSON) -> bool:
        got = ready_status(o)[1]
        if got != reason and got in ("Failed", "Denied", "Issued"):
            raise AssertionError(
                f"{namespace}/{name} ended {got}, not {reason}: {condition_message(o)}"
            )
        return got == reason

    return kube.wait_for(
        cr_path(namespace, name),
        check,
        timeout=timeout,
        what=f"CertificateRequest {namespace}/{name} Ready reason {reason}",
    )


def pems(text: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(text.encode())


def issued_chain(obj: JSON) -> tuple[list[x509.Certificate], x509.Certificate]:
    """(leaf + intermediates, root) from a signed request's status."""
    status = obj["status"]
    chain = pems(base64.b64decode(status["certificate"]).decode())
    (root,) = pems(base64.b64decode(status["ca"]).decode())
    return chain, root


def verify_chain(obj: JSON, key: Key | None = None) -> x509.Certificate:
    """The leaf chains to the root through every intermediate; it carries ``key``'s public key."""
    chain, root = issued_chain(obj)
    for child, parent in zip(chain, [*chain[1:], root], strict=True):
        child.verify_directly_issued_by(parent)
    assert root.subject == root.issuer, "status.ca must be the self-signed root"
    leaf = chain[0]
    if key is not None:
        pub = serialization.PublicFormat.SubjectPublicKeyInfo
        enc = serialization.Encoding.DER
        assert leaf.public_key().public_bytes(enc, pub) == key.public_key().public_bytes(enc, pub)
    return leaf


def condition_message(obj: JSON, ctype: str = "Ready") -> str:
    return str((condition(obj, ctype) or {}).get("message", ""))
