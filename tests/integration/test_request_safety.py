"""A request is completed only with a certificate issued for it, exactly once, whatever is refused.

Issue 10 defects 4 (the ARN annotation trusted blindly), 5 (exactly-once across
API outages longer than PCA's idempotency window) and 10 (refused writes).
Refusals are real: ValidatingAdmissionPolicies on the API server deny the
controller's writes with the HTTP code a quota, an RBAC gap or a size limit
would give.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import b64, make_csr, new_key
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.kubeclient import KubeError
from awspca_emulator import AdminClient
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests import flows
from tests.integration.test_request_writes import KIND, issue_calls, ready_issuer

ARN = "aws-privateca-issuer/certificate-arn"
BINDING = "aws-privateca-issuer/certificate-arn-binding"
VAP = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies"
VAP_BINDING = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"


def _request(
    kube: KubeClient,
    ns: str,
    name: str,
    annotations: dict[str, str] | None = None,
    *,
    approve: bool = True,
) -> tuple[Any, bytes]:
    """A request created with ``annotations`` (as a copy or a restore would), approved."""
    key = new_key("ec256")
    csr, _ = make_csr(f"{name}.test", key=key, dns=(f"{name}.test",))
    kube.create(
        flows.cr_path(ns),
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "CertificateRequest",
            "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}},
            "spec": {
                "request": b64(csr),
                "issuerRef": {"group": flows.GROUP, "kind": KIND, "name": "pca"},
            },
        },
    )
    if approve:
        _approve(kube, ns, name)
    return key, csr


def _approve(kube: KubeClient, ns: str, name: str) -> None:
    flows.set_request_condition(kube, ns, name, "Approved", "True", "test", "approved")


def _public_key(key: Any) -> bytes:
    return bytes(key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))


def test_a_copied_certificate_arn_is_not_resumed(
    kube: KubeClient, controller: IssuerProcess, admin: AdminClient, namespace: str
) -> None:
    ca = ready_issuer(kube, admin, namespace)
    _request(kube, namespace, "victim")
    victim = flows.wait_request(kube, namespace, "victim")
    stolen = victim["metadata"]["annotations"]
    # A sibling copies both annotations: its UID differs, so the binding does not hold.
    key, _ = _request(kube, namespace, "copy", {ARN: stolen[ARN], BINDING: stolen[BINDING]})
    copy = flows.wait_request(kube, namespace, "copy")
    leaf = flows.verify_chain(copy, key)
    assert _public_key(leaf) == _public_key(key)
    assert copy["metadata"]["annotations"][ARN] != stolen[ARN]
    # Events are sent in the background, after the status write: wait for it.
    kube.wait_for(
        flows.cr_path(namespace, "copy"),
        lambda o: (
            "IgnoredCertificateARN"
            in {e["reason"] for e in flows.events_about(kube, namespace, "copy")}
        ),
        timeout=30,
        what="an IgnoredCertificateARN event",
    )
    assert len(issue_calls(admin, ca)) == 2


def test_a_forged_binding_never_writes_a_foreign_certificate(
    kube: KubeClient, controller: IssuerProcess, admin: AdminClient, namespace: str
) -> None:
    ready_issuer(kube, admin, namespace)
    _request(kube, namespace, "victim")
    stolen_arn = flows.wait_request(kube, namespace, "victim")["metadata"]["annotations"][ARN]
    # Whoever can read a request can compute its binding: the public key check still holds.
    from issuer.signer.token import arn_binding, idempotency_token

    _, csr = _request(kube, namespace, "forged", approve=False)
    obj = kube.get(flows.cr_path(namespace, "forged"))
    binding = arn_binding(idempotency_token(obj["metadata"]["uid"], csr), stolen_arn)
    kube.merge_patch(
        flows.cr_path(namespace, "forged"),
        {"metadata": {"annotations": {ARN: stolen_arn, BINDING: binding}}},
    )
    _approve(kube, namespace, "forged")
    failed = flows.wait_request(kube, namespace, "forged", reason="Failed", timeout=60)
    assert "public key" in flows.condition_message(failed)
    assert not failed["status"].get("certificate")


def test_garbage_arns_fail_at_once_with_a_clear_message(
    kube: KubeClient, controller: IssuerProcess, admin: AdminClient, namespace: str
) -> None:
    ready_issuer(kube, admin, namespace)
    _request(kube, namespace, "not-an-arn", {ARN: "not-an-arn"})
    _request(kube, namespace, "huge", {ARN: "arn:" + "x" * 60_000})
    small = flows.wait_request(kube, namespace, "not-an-arn", reason="Failed", timeout=30)
    assert "not an AWS Private CA certificate ARN" in flows.condition_message(small)
    huge = flows.wait_request(kube, namespace, "huge", reason="Failed", timeout=30)
    message = flows.condition_message(huge)
    assert "60004 characters" in message
    assert "xxxxxxxx" not in message  # never echoed


@contextmanager
def refusing(
    kube: KubeClient, ns: str, name: str, resource: str, expression: str, reason: str
) -> Iterator[None]:
    """Deny UPDATEs of ``resource`` in ``ns`` whose new object fails ``expression``."""
    full = f"{name}-{ns}"
    kube.create(
        VAP,
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": full},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["cert-manager.io"],
                            "apiVersions": ["*"],
                            "operations": ["UPDATE"],
                            "resources": [resource],
                        }
                    ]
                },
                "validations": [
                    {"expression": expression, "message": f"refused by {full}", "reason": reason}
                ],
            },
        },
    )
    kube.create(
        VAP_BINDING,
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": full},
            "spec": {
                "policyName": full,
                "validationActions": ["Deny"],
                "matchResources": {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}
                },
            },
        },
    )
    try:
        yield
    finally:
        kube.delete(f"{VAP_BINDING}/{full}")
        kube.delete(f"{VAP}/{full}")


def _wait_refusing(kube: KubeClient, ns: str, write: Any) -> None:
    """Policies take effect asynchronously: wait until ``write`` is refused."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            write()
        except KubeError as e:
            if e.code in (403, 413, 422):
                return
            raise
        time.sleep(0.5)
    raise AssertionError("the admission policy never took effect")


def _probe(kube: KubeClient, ns: str) -> str:
    """A request no controller cares about (cert-manager's group), to probe policies with."""
    kube.create(
        flows.cr_path(ns),
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "CertificateRequest",
            "metadata": {"name": "probe", "namespace": ns},
            "spec": {
                "request": b64(make_csr("probe.test")[0]),
                "issuerRef": {"group": "cert-manager.io", "kind": "Issuer", "name": "x"},
            },
        },
    )
    return flows.cr_path(ns, "probe")


NO_ARN = f"!has(object.metadata.annotations) || !('{ARN}' in object.metadata.annotations)"
NO_READY = (
    "!has(object.status) || !has(object.status.conditions) || "
    "!object.status.conditions.exists(c, c.type == 'Ready')"
)


def test_refused_annotation_is_visible_and_never_issues_twice_past_the_idempotency_window(
    kube: KubeClient, controller: IssuerProcess, admin: AdminClient, namespace: str
) -> None:
    """Defects 5 and 10: the ARN write is refused (403, as upstream's RBAC without patch
    would) for longer than PCA's idempotency window; the ARN waits in memory."""
    ca = ready_issuer(kube, admin, namespace)
    probe = _probe(kube, namespace)
    admin.configure(idempotency_window=1.0)
    try:
        with refusing(kube, namespace, "no-arn", "certificaterequests", NO_ARN, "Forbidden"):
            _wait_refusing(
                kube,
                namespace,
                lambda: kube.merge_patch(probe, {"metadata": {"annotations": {ARN: "x"}}}),
            )
            _request(kube, namespace, "refused")
            pending = kube.wait_for(
                flows.cr_path(namespace, "refused"),
                lambda o: "refused" in flows.condition_message(o),
                timeout=60,
                what="the refusal in the Ready condition",
            )
            assert "annotation" in flows.condition_message(pending)
            # Several retries, each more than the idempotency window apart.
            kube.wait_for(
                flows.cr_path(namespace, "refused"),
                lambda o: (
                    sum(
                        e.get("count", 1)
                        for e in flows.events_about(kube, namespace, "refused")
                        if e["reason"] == "WriteRefused"
                    )
                    >= 1
                ),
                timeout=30,
                what="a WriteRefused event",
            )
            time.sleep(4)
            assert len(issue_calls(admin, ca)) == 1
        obj = flows.wait_request(kube, namespace, "refused", timeout=120)
    finally:
        admin.configure(idempotency_window=300.0)
    assert obj["metadata"]["annotations"][ARN]
    assert len(issue_calls(admin, ca)) == 1


def test_refused_status_write_is_visible_and_retried(
    kube: KubeClient, controller: IssuerProcess, admin: AdminClient, namespace: str
) -> None:
    """Defect 10: a status write refused as too large gets an Event and a bounded retry."""
    ca = ready_issuer(kube, admin, namespace)
    probe = _probe(kube, namespace)
    ready = {"type": "Ready", "status": "False", "reason": "Pending", "message": "probe"}
    ready["lastTransitionTime"] = "2026-01-01T00:00:00Z"
    with refusing(
        kube,
        namespace,
        "no-ready",
        "certificaterequests/status",
        NO_READY,
        "RequestEntityTooLarge",
    ):
        _wait_refusing(
            kube,
            namespace,
            lambda: kube.merge_patch(probe + "/status", {"status": {"conditions": [ready]}}),
        )
        _request(kube, namespace, "toolarge")
        kube.wait_for(
            flows.cr_path(namespace, "toolarge"),
            lambda o: any(
                e["reason"] == "WriteRefused"
                for e in flows.events_about(kube, namespace, "toolarge")
            ),
            timeout=60,
            what="a WriteRefused event",
        )
        assert flows.ready_status(kube.get(flows.cr_path(namespace, "toolarge"))) == (None, None)
    flows.wait_request(kube, namespace, "toolarge", timeout=120)
    assert len(issue_calls(admin, ca)) == 1


def test_a_changed_spec_arn_does_not_strand_a_request_in_flight(
    kube: KubeClient, controller: IssuerProcess, admin: AdminClient, namespace: str
) -> None:
    """Defect 6: the persisted ARN is polled on the CA it names, not on the issuer's new CA."""
    old_ca = ready_issuer(kube, admin, namespace)
    new_ca = str(admin.bootstrap(key_algorithm="EC_prime256v1")["subordinate_arn"])
    admin.configure(issuance_delay=6.0)
    try:
        key, _ = _request(kube, namespace, "moving")
        kube.wait_for(
            flows.cr_path(namespace, "moving"),
            lambda o: ARN in (o["metadata"].get("annotations") or {}),
            timeout=30,
            what="certificate ARN persisted",
        )
        kube.merge_patch(flows.issuer_path(KIND, namespace, "pca"), {"spec": {"arn": new_ca}})
        obj = flows.wait_request(kube, namespace, "moving", timeout=60)
    finally:
        admin.configure(issuance_delay=0.0)
    flows.verify_chain(obj, key)
    assert obj["metadata"]["annotations"][ARN].startswith(old_ca)
    assert len(issue_calls(admin, old_ca)) == 1
    assert issue_calls(admin, new_ca) == []


def test_an_api_outage_longer_than_the_idempotency_window_issues_once(
    control_plane: ControlPlane,
    kube: KubeClient,
    controller: IssuerProcess,
    admin: AdminClient,
    namespace: str,
) -> None:
    """Defect 5: the API server goes down while IssueCertificate is in flight and stays
    down longer than PCA's idempotency window; the ARN waits in memory until written."""
    ca = ready_issuer(kube, admin, namespace)
    issuing = controller.log_text().count("issuing certificate")
    admin.configure(idempotency_window=1.0, faults={"IssueCertificate": {"latency": 6.0}})
    try:
        _request(kube, namespace, "outage")
        deadline = time.monotonic() + 60
        while controller.log_text().count("issuing certificate") == issuing:
            assert time.monotonic() < deadline, "IssueCertificate never started"
            time.sleep(0.1)
        # IssueCertificate is in flight for 6 s: its answer finds the API server gone.
        control_plane.restart_apiserver(down_for=10.0)
        obj = flows.wait_request(kube, namespace, "outage", timeout=120)
    finally:
        admin.configure(idempotency_window=300.0, clear_faults=True)
    assert obj["metadata"]["annotations"][ARN]
    calls = issue_calls(admin, ca)
    assert len(calls) == 1, calls
