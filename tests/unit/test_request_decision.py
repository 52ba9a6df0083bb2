"""CertificateRequest gates and the plan of each outcome (status, events, result)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from issuer.api.certificaterequest import CertificateRequestView
from issuer.controllers.registry import Waiting
from issuer.controllers.request_decision import (
    WAITING_RECHECK_SECONDS,
    Gate,
    Plan,
    SignResult,
    decide_gates,
    format_duration,
    plan_request,
    plan_unsupported_kind,
    plan_write_refused,
)
from issuer.errors import (
    IssuerControllerError,
    IssuerError,
    PendingError,
    PermanentError,
    Reason,
    RetryableError,
)
from issuer.runtime.controller import DONE, Result
from issuer.signer.signing import Issued, Pending

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
    # v1.12: our group with a kind we do not serve is Failed, after the other gates.
    (
        "other kind",
        _view({**OURS, "kind": "AWSPCAIssuers"}, [APPROVED]),
        True,
        Gate.UNSUPPORTED_KIND,
    ),
    ("kind case", _view({**OURS, "kind": "awspcaissuer"}, [APPROVED]), True, Gate.UNSUPPORTED_KIND),
    ("no kind", _view({**OURS, "kind": ""}), False, Gate.UNSUPPORTED_KIND),
    ("other kind unapproved", _view({**OURS, "kind": "X"}), True, Gate.WAIT_APPROVAL),
    (
        "other kind failed",
        _view({**OURS, "kind": "X"}, [_ready("False", "Failed")]),
        True,
        Gate.TERMINAL,
    ),
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


def _created_view(conditions: list[dict[str, Any]] | None = None) -> CertificateRequestView:
    return CertificateRequestView.from_obj(
        {
            "metadata": {
                "name": "r",
                "namespace": "n",
                "uid": "u",
                "creationTimestamp": "2026-01-01T00:00:00Z",
            },
            "spec": {"issuerRef": OURS},
            "status": {"conditions": [APPROVED, *(conditions or [])]},
        }
    )


def _summary(plan: Plan) -> tuple[str | None, str | None, bool, Result, str | None, str | None]:
    """(Ready reason, message, failureTime set, result, first event reason, its type)."""
    status = plan.status or {}
    ready: dict[str, Any] = next(
        (c for c in status.get("conditions", []) if c["type"] == "Ready"), {}
    )
    event = plan.events[0] if plan.events else None
    return (
        ready.get("reason"),
        ready.get("message"),
        "failureTime" in status,
        plan.result,
        event.reason if event else None,
        event.type if event else None,
    )


BACKOFF = Result(backoff=True)
PLANS: list[tuple[str, SignResult, datetime, tuple[Any, ...]]] = [
    (
        "pending error",
        PendingError("still issuing", retry_after=2.5),
        EARLY,
        ("Pending", "still issuing", False, Result(requeue_after=2.5), "Pending", "Normal"),
    ),
    (
        "pending never exhausts",
        Pending("arn", "still issuing", 1.0),
        LATE,
        ("Pending", "still issuing", False, Result(requeue_after=1.0), "Pending", "Normal"),
    ),
    (
        "retryable",
        RetryableError("5xx", reason=Reason.AWS_UNAVAILABLE),
        EARLY,
        ("Pending", "5xx", False, BACKOFF, "RetryableError", "Warning"),
    ),
    (
        "retryable exhausted",
        RetryableError("5xx", reason=Reason.AWS_UNAVAILABLE),
        LATE,
        (
            "Failed",
            "retries exhausted after 1h0m1s: 5xx",
            True,
            DONE,
            "RetriesExhausted",
            "Warning",
        ),
    ),
    # Issue 10 defect 7: throttling never spends the retry budget.
    (
        "throttling never exhausts",
        RetryableError("slow down", reason=Reason.THROTTLED),
        LATE,
        ("Pending", "slow down", False, BACKOFF, "RetryableError", "Warning"),
    ),
    (
        "permanent",
        PermanentError("AWS PCA refused the CSR: bad"),
        EARLY,
        ("Failed", "AWS PCA refused the CSR: bad", True, DONE, "PermanentError", "Warning"),
    ),
    (
        "issuer error",
        IssuerError("CA is DISABLED"),
        EARLY,
        (
            "Pending",
            "issuer is not ready: CA is DISABLED",
            False,
            BACKOFF,
            "WaitingForIssuer",
            "Normal",
        ),
    ),
    # Issue 10 defect 8: waiting for an issuer never fails a request.
    (
        "issuer error never exhausts",
        IssuerError("CA is DISABLED"),
        LATE,
        (
            "Pending",
            "issuer is not ready: CA is DISABLED",
            False,
            BACKOFF,
            "WaitingForIssuer",
            "Normal",
        ),
    ),
    (
        "waiting for a missing issuer never exhausts",
        Waiting("AWSPCAClusterIssuer pca not found"),
        LATE,
        (
            "Pending",
            "AWSPCAClusterIssuer pca not found",
            False,
            Result(requeue_after=WAITING_RECHECK_SECONDS),
            "WaitingForIssuer",
            "Normal",
        ),
    ),
    (
        "unclassified base error is retried",
        IssuerControllerError("odd"),
        EARLY,
        ("Pending", "odd", False, BACKOFF, "RetryableError", "Warning"),
    ),
    (
        "issued",
        Issued("arn", "LEAF", "ROOT"),
        LATE,
        ("Issued", "Certificate issued by AWS Private CA", False, DONE, "Issued", "Normal"),
    ),
]


@pytest.mark.parametrize(("case", "what", "now", "expected"), PLANS, ids=[p[0] for p in PLANS])
def test_plan_request(
    case: str, what: SignResult, now: datetime, expected: tuple[Any, ...]
) -> None:
    plan = plan_request(_created_view(), what, now, max_retry_seconds=3600.0)
    assert _summary(plan) == expected, case
    assert plan.annotations == {}


def test_issued_plan_carries_the_chain() -> None:
    plan = plan_request(_created_view(), Issued("arn", "LEAF", "ROOT"), EARLY, max_retry_seconds=1)
    assert plan.status is not None
    assert base64.b64decode(plan.status["certificate"]) == b"LEAF"
    assert base64.b64decode(plan.status["ca"]) == b"ROOT"
    assert plan.outcome == "issued"


@pytest.mark.parametrize(
    "what",
    [Pending("a", "m", 1.0), Waiting("AWSPCAIssuer n/pca not found")],
    ids=["pending", "waiting"],
)
def test_an_unchanged_pending_condition_is_not_written_again(what: Pending | Waiting) -> None:
    first = plan_request(_created_view(), what, EARLY, max_retry_seconds=1)
    assert first.status is not None
    assert len(first.events) == 1
    # The next reconcile reads the condition back as JSON, as the API server returns it
    # (a StrEnum reason we wrote is a plain string then).
    again = CertificateRequestView.from_obj(
        {
            "metadata": {"name": "r", "namespace": "n", "uid": "u"},
            "spec": {"issuerRef": OURS},
            "status": json.loads(json.dumps({"conditions": first.status["conditions"]})),
        }
    )
    second = plan_request(again, what, LATE, max_retry_seconds=1)
    assert second.status is None  # no write
    assert second.events == ()  # no Event per poll
    assert second.result == first.result


def test_annotations_are_planned_whatever_the_outcome() -> None:
    ann = {"aws-privateca-issuer/certificate-arn": "x"}
    for what in (RetryableError("r"), Pending("x", "m", 1.0), PermanentError("p")):
        plan = plan_request(_created_view(), what, EARLY, max_retry_seconds=1, annotations=ann)
        assert plan.annotations == ann


@pytest.mark.parametrize(
    ("elapsed", "max_retry", "failed"),
    [(3599.0, 3600.0, False), (3600.0, 3600.0, False), (3600.5, 3600.0, True), (1.0, 0.0, True)],
)
def test_retry_budget_boundary(elapsed: float, max_retry: float, failed: bool) -> None:
    plan = plan_request(
        _created_view(),
        RetryableError("x"),
        CREATED + timedelta(seconds=elapsed),
        max_retry_seconds=max_retry,
    )
    assert (plan.outcome == "failed") is failed
    assert plan.result.backoff is not failed


def test_unsupported_kind_fails_with_the_go_issuers_message() -> None:
    view = CertificateRequestView.from_obj(
        {
            "metadata": {"name": "r", "namespace": "n"},
            "spec": {"issuerRef": {**OURS, "kind": "Foo"}},
        }
    )
    plan = plan_unsupported_kind(view, EARLY)
    assert _summary(plan)[:3] == ("Failed", "unsupported issuer kind: Foo", True)


def test_write_refused_is_visible_and_retried_with_backoff() -> None:
    plan = plan_write_refused(_created_view(), "certificate ARN annotation", "forbidden", EARLY)
    assert _summary(plan)[0] == "Pending"
    assert "forbidden" in str(_summary(plan)[1])
    assert [e.reason for e in plan.events] == ["WriteRefused"]
    assert plan.result == BACKOFF
    status_refused = plan_write_refused(_created_view(), "status", "too large", EARLY)
    assert status_refused.status is None  # the status itself cannot be written


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45.9, "45s"), (750, "12m30s"), (3600, "1h0m0s"), (90061, "25h1m1s"), (-5, "0s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
