"""The request and issuer lifecycles: waiting, recovery, approval, denial, faults, refusals."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import make_csr, new_key
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.kubeclient import condition
from awspca_devstack.stack import DEFAULT_KEYS, instead_of
from awspca_emulator import AdminClient

from tests import flows

KIND = "AWSPCAIssuer"


def _secret_issuer(kube: KubeClient, namespace: str, arn: str, name: str = "pca") -> None:
    flows.issuer_on_secret(kube, namespace, name, arn=arn, secret=f"aws-{name}", data=DEFAULT_KEYS)


def _request(
    kube: KubeClient, namespace: str, name: str, issuer_name: str = "pca", **kw: Any
) -> Any:
    key = new_key("ec256")
    csr, _ = make_csr(f"{name}.test", key=key, dns=(f"{name}.test",))
    flows.create_request(
        kube, namespace, name, csr, issuer_kind=KIND, issuer_name=issuer_name, **kw
    )
    return key


def test_request_waits_for_its_issuer_then_is_issued(
    kube: KubeClient, controller: IssuerProcess, cas: dict[str, dict[str, str]], namespace: str
) -> None:
    key = _request(kube, namespace, "early")
    pending = flows.wait_request(kube, namespace, "early", reason="Pending")
    assert "not found" in flows.condition_message(pending)
    _secret_issuer(kube, namespace, cas["ec"]["subordinate_arn"])
    flows.verify_chain(flows.wait_request(kube, namespace, "early"), key)


def test_issuer_with_bad_credentials_recovers_when_fixed(
    kube: KubeClient, controller: IssuerProcess, cas: dict[str, dict[str, str]], namespace: str
) -> None:
    bad = {**DEFAULT_KEYS, "AWS_SECRET_ACCESS_KEY": "wrong-secret-0000000000000000000000000000"}
    arn = cas["ec"]["subordinate_arn"]
    flows.issuer_on_secret(kube, namespace, "pca", arn=arn, secret="aws-pca", data=bad)
    not_ready = kube.wait_for(
        flows.issuer_path(KIND, namespace, "pca"),
        lambda o: (
            (condition(o, "Ready") or {}).get("status") == "False"
            and (condition(o, "Ready") or {}).get("reason") != "NotChecked"
        ),
        timeout=30,
        what="issuer not Ready",
    )
    ready = condition(not_ready, "Ready") or {}
    assert ready["reason"] == "CredentialsError", ready
    assert ready["observedGeneration"] == not_ready["metadata"]["generation"]
    key = _request(kube, namespace, "waiting")
    flows.wait_request(kube, namespace, "waiting", reason="Pending")
    # Fix the Secret: the periodic re-check picks the new keys up.
    kube.merge_patch(
        f"/api/v1/namespaces/{namespace}/secrets/aws-pca",
        {"stringData": {"AWS_SECRET_ACCESS_KEY": DEFAULT_KEYS["AWS_SECRET_ACCESS_KEY"]}},
    )
    flows.wait_issuer_ready(kube, KIND, "pca", namespace, timeout=120)
    flows.verify_chain(flows.wait_request(kube, namespace, "waiting"), key)


def test_denied_request_is_marked_and_never_signed(
    kube: KubeClient, controller: IssuerProcess, cas: dict[str, dict[str, str]], namespace: str
) -> None:
    flows.secret_issuer(kube, namespace, cas["ec"]["subordinate_arn"])
    _request(kube, namespace, "denied", approve=False)
    flows.set_request_condition(kube, namespace, "denied", "Denied", "True", "policy", "no way")
    obj = flows.wait_request(kube, namespace, "denied", reason="Denied")
    assert obj["status"].get("failureTime")
    assert not obj["status"].get("certificate")
    assert "aws-privateca-issuer/certificate-arn" not in obj["metadata"].get("annotations", {})


def test_unapproved_request_waits_until_approved(
    kube: KubeClient, controller: IssuerProcess, cas: dict[str, dict[str, str]], namespace: str
) -> None:
    flows.secret_issuer(kube, namespace, cas["ec"]["subordinate_arn"])
    key = _request(kube, namespace, "unapproved", approve=False)
    time.sleep(3)
    obj = kube.get(flows.cr_path(namespace, "unapproved"))
    assert flows.ready_status(obj) == (None, None)
    assert "aws-privateca-issuer/certificate-arn" not in obj["metadata"].get("annotations", {})
    flows.set_request_condition(kube, namespace, "unapproved", "Approved", "True", "ok", "ok")
    flows.verify_chain(flows.wait_request(kube, namespace, "unapproved"), key)


def test_disable_approved_check_signs_unapproved_requests(
    control_plane: ControlPlane,
    kube: KubeClient,
    emulator: Any,
    cas: dict[str, dict[str, str]],
    workdir: Path,
    controller: IssuerProcess,
) -> None:
    ns = control_plane.new_namespace("noapproval")
    with instead_of(
        controller, control_plane, emulator, workdir, "noapproval", "--disable-approved-check"
    ):
        _secret_issuer(kube, ns, cas["ec"]["subordinate_arn"])
        key = _request(kube, ns, "unapproved", approve=False)
        flows.verify_chain(flows.wait_request(kube, ns, "unapproved"), key)


def test_transient_faults_end_in_issued(
    kube: KubeClient,
    controller: IssuerProcess,
    admin: AdminClient,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    flows.secret_issuer(kube, namespace, cas["ec"]["subordinate_arn"])
    admin.configure(
        issuance_delay=3.0,
        faults={
            "IssueCertificate": {"fail_next": 4, "fail_next_code": "ThrottlingException"},
            "GetCertificate": {"fail_next": 3, "fail_next_code": "ServiceUnavailable"},
        },
    )
    try:
        keys = [_request(kube, namespace, f"flaky-{i}") for i in range(3)]
        for i, key in enumerate(keys):
            flows.verify_chain(flows.wait_request(kube, namespace, f"flaky-{i}", timeout=120), key)
    finally:
        admin.configure(issuance_delay=0.0, faults={})
    events = kube.get(f"/api/v1/namespaces/{namespace}/events")["items"]
    reasons = {e["reason"] for e in events}
    assert {"Issued", "RetryableError"} <= reasons, reasons


def test_permanent_errors_fail_at_once_with_a_readable_message(
    kube: KubeClient, controller: IssuerProcess, cas: dict[str, dict[str, str]], namespace: str
) -> None:
    flows.secret_issuer(kube, namespace, cas["ec"]["subordinate_arn"])
    # Refused by our own CSR check, before any AWS call.
    weak, _ = make_csr("weak.test", key=new_key("rsa1024"))
    flows.create_request(kube, namespace, "weak", weak, issuer_kind=KIND, issuer_name="pca")
    # Refused by AWS: validity beyond the CA's own NotAfter.
    _request(kube, namespace, "too-long", duration=f"{24 * 365 * 30}h")
    weak_obj = flows.wait_request(kube, namespace, "weak", reason="Failed", timeout=30)
    assert "1024" in flows.condition_message(weak_obj)
    long_obj = flows.wait_request(kube, namespace, "too-long", reason="Failed", timeout=30)
    assert "validity" in flows.condition_message(long_obj).lower()
    for obj in (weak_obj, long_obj):
        assert obj["status"]["failureTime"]


def test_namespaced_issuer_cannot_read_another_namespaces_secret(
    control_plane: ControlPlane,
    kube: KubeClient,
    controller: IssuerProcess,
    cas: dict[str, dict[str, str]],
    namespace: str,
) -> None:
    other = control_plane.new_namespace("other")
    flows.create_secret(kube, other, "aws", DEFAULT_KEYS)
    flows.create_issuer(
        kube,
        KIND,
        "pca",
        arn=cas["ec"]["subordinate_arn"],
        namespace=namespace,
        secret_ref={"name": "aws", "namespace": other},
    )
    obj = kube.wait_for(
        flows.issuer_path(KIND, namespace, "pca"),
        lambda o: (condition(o, "Ready") or {}).get("reason") == "InvalidSpec",
        timeout=30,
        what="issuer refused",
    )
    message = flows.condition_message(obj)
    assert other in message
    assert "namespace" in message


def test_only_retryable_aws_errors_spend_the_retry_budget(
    control_plane: ControlPlane,
    kube: KubeClient,
    emulator: Any,
    admin: AdminClient,
    cas: dict[str, dict[str, str]],
    workdir: Path,
    controller: IssuerProcess,
) -> None:
    """Issue 10 defects 7 and 8: with a 4 s budget, waiting for a missing issuer and
    persistent throttling keep a request Pending; only 5xx on a Ready issuer fail it."""
    ns = control_plane.new_namespace("retries")
    with instead_of(
        controller, control_plane, emulator, workdir, "shortretry", "--max-retry-duration", "4s"
    ):
        _request(kube, ns, "orphan", issuer_name="missing")  # its issuer never appears
        flows.secret_issuer(kube, ns, cas["ec"]["subordinate_arn"])
        admin.configure(
            faults={
                "IssueCertificate": {"fail_next": 100_000, "fail_next_code": "ThrottlingException"}
            }
        )
        try:
            _request(kube, ns, "throttled")
            flows.wait_request(kube, ns, "throttled", reason="Pending", timeout=30)
            # Well past the budget, both still wait (a Failed one fails the wait at once).
            time.sleep(8)
            orphan = flows.wait_request(kube, ns, "orphan", reason="Pending", timeout=5)
            assert "not found" in flows.condition_message(orphan)
            throttled = flows.wait_request(kube, ns, "throttled", reason="Pending", timeout=5)
            assert "throttl" in flows.condition_message(throttled).lower()
            admin.configure(clear_faults=True)
            flows.wait_request(kube, ns, "throttled", timeout=60)  # issued once throttling ends
            admin.configure(
                faults={
                    "GetCertificate": {"fail_next": 100_000, "fail_next_code": "ServiceUnavailable"}
                }
            )
            _request(kube, ns, "unavailable")
            failed = flows.wait_request(kube, ns, "unavailable", reason="Failed", timeout=60)
            assert "retries exhausted" in flows.condition_message(failed)
        finally:
            admin.configure(clear_faults=True)
