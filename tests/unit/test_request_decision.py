"""CertificateRequest gates and the outcome of each error class."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from issuer.api.certificaterequest import CertificateRequestView
from issuer.controllers.request_decision import (
    Gate,
    Outcome,
    decide_after_error,
    decide_gates,
    format_duration,
)
from issuer.errors import (
    IssuerControllerError,
    IssuerError,
    PendingError,
    PermanentError,
    RetryableError,
)

OURS = {"group": "awspca.cert-manager.io", "kind": "AWSPCAClusterIssuer", "name": "pca"}
APPROVED = {"type": "Approved", "status": "True", "reason": "cert-manager.io"}
DENIED = {"type": "Denied", "status": "True", "reason": "policy"}


def _ready(status: str, reason: str) -> dict[str, str]:
    return {"type": "Ready", "status": status, "reason": reason}


def _view(
    ref: dict[str, str] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    certificate: str = "",
) -> CertificateRequestView:
    return CertificateRequestView.from_obj(
        {
            "metadata": {"name": "r", "namespace": "n", "uid": "u"},
            "spec": {"issuerRef": OURS if ref is None else ref},
            "status": {"conditions": conditions or [], "certificate": certificate},
        }
    )


GATES: list[tuple[str, CertificateRequestView, bool, Gate]] = [
    ("cert-manager's own issuer", _view({"name": "x", "kind": "Issuer"}), True, Gate.NOT_OURS),
    ("empty group", _view({**OURS, "group": ""}), True, Gate.NOT_OURS),
    ("other group", _view({**OURS, "group": "cert-manager.io"}), True, Gate.NOT_OURS),
    ("similar group", _view({**OURS, "group": "awspca.cert-manager.io.evil"}), True, Gate.NOT_OURS),
    ("other kind", _view({**OURS, "kind": "AWSPCAIssuers"}), True, Gate.NOT_OURS),
    ("kind case", _view({**OURS, "kind": "awspcaissuer"}), True, Gate.NOT_OURS),
    ("no kind", _view({**OURS, "kind": ""}), True, Gate.NOT_OURS),
    ("not ours even if denied", _view({**OURS, "group": ""}, [DENIED]), True, Gate.NOT_OURS),
    ("namespaced kind", _view({**OURS, "kind": "AWSPCAIssuer"}, [APPROVED]), True, Gate.PROCEED),
    ("ready true", _view(None, [APPROVED, _ready("True", "Issued")]), True, Gate.TERMINAL),
    ("ready true no approval", _view(None, [_ready("True", "Issued")]), True, Gate.TERMINAL),
    ("failed", _view(None, [APPROVED, _ready("False", "Failed")]), True, Gate.TERMINAL),
    ("failed unapproved", _view(None, [_ready("False", "Failed")]), True, Gate.TERMINAL),
    ("denied marked", _view(None, [DENIED, _ready("False", "Denied")]), True, Gate.TERMINAL),
    (
        "denied marked, check off",
        _view(None, [DENIED, _ready("False", "Denied")]),
        False,
        Gate.TERMINAL,
    ),
    (
        "invalid request",
        _view(None, [APPROVED, {"type": "InvalidRequest", "status": "True"}]),
        True,
        Gate.TERMINAL,
    ),
    ("denied unmarked", _view(None, [DENIED]), True, Gate.MARK_DENIED),
    ("denied, pending", _view(None, [DENIED, _ready("False", "Pending")]), True, Gate.MARK_DENIED),
    ("denied, check off", _view(None, [DENIED]), False, Gate.MARK_DENIED),
    ("denied false", _view(None, [{**DENIED, "status": "False"}, APPROVED]), True, Gate.PROCEED),
    ("no approval", _view(None, []), True, Gate.WAIT_APPROVAL),
    ("approval false", _view(None, [{**APPROVED, "status": "False"}]), True, Gate.WAIT_APPROVAL),
    ("pending unapproved", _view(None, [_ready("False", "Pending")]), True, Gate.WAIT_APPROVAL),
    ("no approval, check off", _view(None, []), False, Gate.PROCEED),
    ("issued not ready", _view(None, [APPROVED], "Y2VydA=="), True, Gate.ALREADY_ISSUED),
    ("issued, check off", _view(None, [], "Y2VydA=="), False, Gate.ALREADY_ISSUED),
    ("unapproved with cert", _view(None, [], "Y2VydA=="), True, Gate.WAIT_APPROVAL),
    ("approved", _view(None, [APPROVED]), True, Gate.PROCEED),
    ("approved pending", _view(None, [APPROVED, _ready("False", "Pending")]), True, Gate.PROCEED),
    ("ready unknown", _view(None, [APPROVED, _ready("Unknown", "Pending")]), True, Gate.PROCEED),
]


@pytest.mark.parametrize(("case", "view", "check", "gate"), GATES, ids=[g[0] for g in GATES])
def test_gates(case: str, view: CertificateRequestView, check: bool, gate: Gate) -> None:
    assert decide_gates(view, approval_check=check) is gate, case


CREATED = datetime(2026, 1, 1, tzinfo=UTC)
EARLY = CREATED + timedelta(minutes=5)
LATE = CREATED + timedelta(hours=1, seconds=1)

OUTCOMES: list[tuple[str, IssuerControllerError, datetime, Outcome]] = [
    (
        "pending",
        PendingError("still issuing", retry_after=2.5),
        EARLY,
        Outcome("Pending", "still issuing", False, 2.5, False, "Pending", "Normal"),
    ),
    (
        "pending never exhausts",
        PendingError("still issuing", retry_after=1.0),
        LATE,
        Outcome("Pending", "still issuing", False, 1.0, False, "Pending", "Normal"),
    ),
    (
        "retryable",
        RetryableError("throttled"),
        EARLY,
        Outcome("Pending", "throttled", False, None, True, "RetryableError", "Warning"),
    ),
    (
        "retryable exhausted",
        RetryableError("throttled"),
        LATE,
        Outcome(
            "Failed",
            "retries exhausted after 1h0m1s: throttled",
            True,
            None,
            False,
            "RetriesExhausted",
            "Warning",
        ),
    ),
    (
        "permanent",
        PermanentError("AWS PCA refused the CSR: bad"),
        EARLY,
        Outcome(
            "Failed", "AWS PCA refused the CSR: bad", True, None, False, "PermanentError", "Warning"
        ),
    ),
    (
        "issuer",
        IssuerError("CA is DISABLED"),
        EARLY,
        Outcome(
            "Pending",
            "issuer pca is not ready: CA is DISABLED",
            False,
            None,
            True,
            "WaitingForIssuer",
            "Warning",
        ),
    ),
    (
        "issuer exhausted",
        IssuerError("CA is DISABLED"),
        LATE,
        Outcome(
            "Failed",
            "retries exhausted after 1h0m1s: issuer pca is not ready: CA is DISABLED",
            True,
            None,
            False,
            "RetriesExhausted",
            "Warning",
        ),
    ),
    (
        "unclassified base error is retried",
        IssuerControllerError("odd"),
        EARLY,
        Outcome("Pending", "odd", False, None, True, "RetryableError", "Warning"),
    ),
]


@pytest.mark.parametrize(("case", "err", "now", "expected"), OUTCOMES, ids=[o[0] for o in OUTCOMES])
def test_decide_after_error(
    case: str, err: IssuerControllerError, now: datetime, expected: Outcome
) -> None:
    got = decide_after_error(
        err, created=CREATED, now=now, max_retry_seconds=3600.0, issuer_name="pca"
    )
    assert got == expected, case
    assert got.ready_reason in ("Pending", "Failed")  # cert-manager's Ready reasons


@pytest.mark.parametrize(
    ("elapsed", "max_retry", "failed"),
    [(3599.0, 3600.0, False), (3600.0, 3600.0, False), (3600.5, 3600.0, True), (1.0, 0.0, True)],
)
def test_retry_budget_boundary(elapsed: float, max_retry: float, failed: bool) -> None:
    got = decide_after_error(
        RetryableError("x"),
        created=CREATED,
        now=CREATED + timedelta(seconds=elapsed),
        max_retry_seconds=max_retry,
    )
    assert got.mark_failed is failed
    assert got.backoff is not failed


def test_issuer_without_name() -> None:
    got = decide_after_error(
        IssuerError("no creds"), created=CREATED, now=EARLY, max_retry_seconds=3600
    )
    assert got.ready_message == "the issuer is not ready: no creds"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45.9, "45s"), (750, "12m30s"), (3600, "1h0m0s"), (90061, "25h1m1s"), (-5, "0s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
