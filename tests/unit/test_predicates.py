"""Which informer events queue a reconcile."""

from __future__ import annotations

from typing import Any

import pytest

from issuer.controllers.predicates import issuer_needs_reconcile, request_needs_reconcile

REF = {"group": "awspca.cert-manager.io", "kind": "AWSPCAIssuer", "name": "pca"}


def cr(*conds: tuple[str, str, str], ref: dict[str, str] | None = None, cert: bool = False) -> Any:
    return {
        "metadata": {"name": "r", "namespace": "ns"},
        "spec": {"issuerRef": ref or REF},
        "status": {
            "conditions": [{"type": t, "status": s, "reason": r} for t, s, r in conds],
            "hasCertificate": cert,
        },
    }


APPROVED = ("Approved", "True", "ok")
PENDING = ("Ready", "False", "Pending")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, cr(), True),  # new request
        (None, cr(ref={"group": "cert-manager.io", "kind": "Issuer", "name": "x"}), False),
        (None, cr(APPROVED, ("Ready", "True", "Issued")), False),  # finished
        (None, cr(APPROVED, ("Ready", "False", "Failed")), False),
        (cr(), cr(APPROVED), True),  # approval arrives
        (cr(APPROVED), cr(APPROVED, PENDING), False),  # our own status write
        (cr(APPROVED, PENDING), cr(APPROVED, ("Ready", "False", "Pending")), False),
        (cr(APPROVED), cr(APPROVED, ("Denied", "True", "no")), True),  # denial arrives
        (cr(APPROVED), cr(APPROVED, cert=True), False),
        (cr(APPROVED), None, False),
    ],
)
def test_request_events(old: Any, new: Any, expected: bool) -> None:
    assert request_needs_reconcile(old, new, approval_check=True) is expected


def test_issuer_events_follow_the_generation() -> None:
    a = {"metadata": {"generation": 1}, "status": {"conditions": []}}
    b = {"metadata": {"generation": 1}, "status": {"conditions": [{"type": "Ready"}]}}
    c = {"metadata": {"generation": 2}}
    assert issuer_needs_reconcile(None, a)
    assert not issuer_needs_reconcile(a, b)  # our own status write
    assert issuer_needs_reconcile(b, c)
    assert issuer_needs_reconcile(a, None)
