"""What one CertificateRequest costs in API calls, counted by the API server's own audit log.

The control plane audits every write and every GET of a CertificateRequest
(``AUDIT_POLICY`` in the dev stack), so these tests count what the controller
process really sent, with the emulator answering RequestInProgress first as
real PCA does.
"""

from __future__ import annotations

from typing import Any

from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import make_csr, new_key
from awspca_devstack.issuerproc import IssuerProcess
from awspca_emulator import AdminClient

from tests import flows

KIND = "AWSPCAIssuer"
CONTROLLER_AGENT = "awspca-issuer"


def ready_issuer(kube: KubeClient, admin: AdminClient, namespace: str) -> str:
    """A new CA hierarchy (so the call log is ours alone) and a Ready issuer for it."""
    ca = str(admin.bootstrap(key_algorithm="EC_prime256v1")["subordinate_arn"])
    flows.secret_issuer(kube, namespace, ca)
    return ca


def issue_in_progress(
    kube: KubeClient,
    admin: AdminClient,
    namespace: str,
    name: str,
    common_name: str,
    delay: float = 1.0,
) -> dict[str, Any]:
    """One request to issuer ``pca``, issued while the CA answers RequestInProgress for
    ``delay`` seconds (as real PCA does), its chain verified."""
    admin.configure(issuance_delay=delay)
    try:
        key = new_key("ec256")
        csr, _ = make_csr(common_name, key=key)
        flows.create_request(kube, namespace, name, csr, issuer_kind=KIND, issuer_name="pca")
        obj = flows.wait_request(kube, namespace, name, timeout=60)
    finally:
        admin.configure(issuance_delay=0.0)
    flows.verify_chain(obj, key)
    return obj


def controller_calls(cp: ControlPlane, namespace: str, name: str) -> list[dict[str, Any]]:
    """The controller's audited calls (writes and GETs) of one request, oldest first."""
    return [
        e
        for e in cp.audit_events()
        if e.get("stage") == "ResponseComplete"
        and str(e.get("userAgent", "")).startswith(CONTROLLER_AGENT)
        and (e.get("objectRef") or {}).get("namespace") == namespace
        and (e.get("objectRef") or {}).get("name") == name
    ]


def controller_writes(cp: ControlPlane, namespace: str, name: str) -> list[dict[str, Any]]:
    """The controller's audited writes of one request, oldest first."""
    return [e for e in controller_calls(cp, namespace, name) if e.get("verb") != "get"]


def issue_calls(admin: AdminClient, ca_arn: str) -> list[dict[str, Any]]:
    return [c for c in admin.calls("IssueCertificate") if c.get("ca_arn") == ca_arn]


def _ready_reason(write: dict[str, Any]) -> str | None:
    conds = ((write.get("requestObject") or {}).get("status") or {}).get("conditions") or []
    return next((c.get("reason") for c in conds if c.get("type") == "Ready"), None)


def test_one_certificate_costs_one_issue_three_writes_and_no_read(
    control_plane: ControlPlane,
    kube: KubeClient,
    controller: IssuerProcess,
    admin: AdminClient,
    namespace: str,
) -> None:
    ca = ready_issuer(kube, admin, namespace)
    issue_in_progress(kube, admin, namespace, "one", "writes.test")
    writes = controller_writes(control_plane, namespace, "one")
    summary = [
        (w["verb"], (w.get("objectRef") or {}).get("subresource", ""), w["responseStatus"]["code"])
        for w in writes
    ]
    assert [code for *_, code in summary if code == 409] == [], summary
    assert summary == [("update", "", 200), ("patch", "status", 200), ("patch", "status", 200)]
    assert [_ready_reason(w) for w in writes[1:]] == ["Pending", "Issued"]
    assert len(issue_calls(admin, ca)) == 1
    # Both reconciles (creation, then the poll) read the request as the watch
    # and our own writes left it, never with a GET.
    gets = [c for c in controller_calls(control_plane, namespace, "one") if c["verb"] == "get"]
    assert gets == []


def test_polls_that_find_the_certificate_still_in_progress_write_nothing(
    control_plane: ControlPlane,
    kube: KubeClient,
    controller: IssuerProcess,
    admin: AdminClient,
    namespace: str,
) -> None:
    """A new CA (nothing learned) that takes 3.5 s: polled at once, then about every
    second, each poll finds it in progress. The Pending condition is written once and
    announced by one Event; the polls that follow change nothing, so they write nothing."""
    ca = ready_issuer(kube, admin, namespace)
    issue_in_progress(kube, admin, namespace, "slow", "slow.writes.test", delay=3.5)
    polls = [
        c
        for c in admin.calls("GetCertificate")
        if c.get("ca_arn") == ca and c.get("result") == "RequestInProgressException"
    ]
    assert len(polls) >= 3, polls
    summary = [
        (w["verb"], (w.get("objectRef") or {}).get("subresource", ""), _ready_reason(w))
        for w in controller_writes(control_plane, namespace, "slow")
    ]
    assert summary == [
        ("update", "", None),
        ("patch", "status", "Pending"),
        ("patch", "status", "Issued"),
    ]
    pending = [e for e in flows.events_about(kube, namespace, "slow") if e["reason"] == "Pending"]
    assert sum(int(e.get("count") or 1) for e in pending) == 1, pending
