"""Nothing is issued twice: across a controller crash, under load, across a leader change."""

from __future__ import annotations

import collections
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import make_csr, new_key
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.stack import CONTROLLER_NS, DEFAULT_KEYS, start_controller
from awspca_emulator import AdminClient

from tests import flows

KIND = "AWSPCAIssuer"
ARN_ANNOTATION = "aws-privateca-issuer/certificate-arn"


def _issuer(kube: KubeClient, namespace: str, arn: str) -> None:
    flows.create_secret(kube, namespace, "aws", DEFAULT_KEYS)
    flows.create_issuer(kube, KIND, "pca", arn=arn, namespace=namespace, secret_ref={"name": "aws"})


def _fresh_ready_issuer(kube: KubeClient, admin: AdminClient, namespace: str) -> str:
    """A new CA hierarchy (so the call log is ours alone) and a Ready issuer for it."""
    ca = str(admin.bootstrap(key_algorithm="EC_prime256v1")["subordinate_arn"])
    _issuer(kube, namespace, ca)
    flows.wait_issuer_ready(kube, KIND, "pca", namespace)
    return ca


def _issue_calls(admin: AdminClient, ca_arn: str) -> list[dict[str, Any]]:
    return [c for c in admin.calls("IssueCertificate") if c.get("ca_arn") == ca_arn]


def _ok(call: dict[str, Any]) -> bool:
    return call.get("result") in ("OK", "Success", None, "")


def test_crash_after_issue_resumes_polling_without_issuing_again(
    kube: KubeClient,
    controller: IssuerProcess,
    admin: AdminClient,
    namespace: str,
) -> None:
    ca = _fresh_ready_issuer(kube, admin, namespace)
    admin.configure(issuance_delay=6.0)
    try:
        key = new_key("ec256")
        csr, _ = make_csr("crash.test", key=key)
        flows.create_request(kube, namespace, "crash", csr, issuer_kind=KIND, issuer_name="pca")
        kube.wait_for(
            flows.cr_path(namespace, "crash"),
            lambda o: ARN_ANNOTATION in o["metadata"].get("annotations", {}),
            timeout=30,
            what="certificate ARN persisted",
        )
        controller.kill()  # SIGKILL: no chance to clean up
        controller.start()
        obj = flows.wait_request(kube, namespace, "crash", timeout=60)
    finally:
        admin.configure(issuance_delay=0.0)
    flows.verify_chain(obj, key)
    calls = _issue_calls(admin, ca)
    assert len(calls) == 1, calls


def test_two_hundred_concurrent_requests_issue_once_each(
    kube: KubeClient,
    controller: IssuerProcess,
    admin: AdminClient,
    namespace: str,
) -> None:
    ca = _fresh_ready_issuer(kube, admin, namespace)
    csr, _ = make_csr("load.test")
    n = 200
    for i in range(n):
        flows.create_request(kube, namespace, f"r{i}", csr, issuer_kind=KIND, issuer_name="pca")
    kube.wait_for(
        flows.cr_path(namespace),
        lambda lst: sum(flows.ready_status(o)[1] == "Issued" for o in lst["items"]) == n,
        timeout=300,
        interval=2.0,
        what=f"{n} requests issued",
    )
    items = kube.get(flows.cr_path(namespace))["items"]
    arns = {o["metadata"]["annotations"][ARN_ANNOTATION] for o in items}
    assert len(arns) == n  # one distinct certificate per request
    ok_tokens = collections.Counter(
        c.get("idempotency_token") for c in _issue_calls(admin, ca) if _ok(c)
    )
    assert len(ok_tokens) == n
    assert set(ok_tokens.values()) == {1}, ok_tokens.most_common(3)


def _holder(kube: KubeClient) -> str:
    lease = kube.get(
        f"/apis/coordination.k8s.io/v1/namespaces/{CONTROLLER_NS}/leases/"
        "b858308c.awspca.cert-manager.io"
    )
    return str(lease["spec"].get("holderIdentity") or "")


def test_leader_election_hands_over_and_never_issues_twice(
    control_plane: ControlPlane,
    kube: KubeClient,
    emulator: Any,
    admin: AdminClient,
    workdir: Path,
    controller: IssuerProcess,
) -> None:
    controller.stop()  # it runs without leader election; keep it out of the way
    a = b = None
    try:
        ns = control_plane.new_namespace("leader")
        a = start_controller(control_plane, emulator, workdir, "replica-a", "--leader-elect")
        b = start_controller(control_plane, emulator, workdir, "replica-b", "--leader-elect")
        ca = _fresh_ready_issuer(kube, admin, ns)
        csr, _ = make_csr("leader.test")
        for i in range(10):
            flows.create_request(kube, ns, f"before-{i}", csr, issuer_kind=KIND, issuer_name="pca")
        for i in range(10):
            flows.wait_request(kube, ns, f"before-{i}")
        holder = _holder(kube)
        leader, standby = (a, b) if "certificate issued" in a.log_text() else (b, a)
        assert "certificate issued" not in standby.log_text(), "the standby reconciled"
        assert holder
        # Crash the leader: the standby takes over once the Lease expires (15 s).
        killed_at = datetime.now(UTC)
        leader.kill()
        for i in range(10):
            flows.create_request(kube, ns, f"after-{i}", csr, issuer_kind=KIND, issuer_name="pca")
        for i in range(10):
            flows.wait_request(kube, ns, f"after-{i}", timeout=60)
        handover = (datetime.now(UTC) - killed_at).total_seconds()
        assert _holder(kube) != holder
        assert handover < 15 + 2 + 20, handover  # lease + retry period + issuance slack
        ok = [c for c in _issue_calls(admin, ca) if _ok(c)]
        assert len(ok) == 20
        assert len({c.get("idempotency_token") for c in ok}) == 20
        # SIGTERM releases the Lease at once.
        assert standby.stop() == 0
        time.sleep(0.5)
        assert _holder(kube) == ""
    finally:
        for p in (a, b):
            if p is not None:
                p.stop()
        controller.start()
