"""The pure decisions of the CertificateRequest reconciler: which gate applies, what an error means.

``decide_gates`` applies cert-manager's issuer gates in order; ``decide_after_error``
turns a classified error into the Ready condition, requeue and event to write.
The Ready condition only ever uses cert-manager's reasons (Pending, Failed,
Issued, Denied); the finer error classes go into event reasons.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from issuer.api.certificaterequest import (
    CONDITION_APPROVED,
    CONDITION_DENIED,
    CONDITION_INVALID_REQUEST,
    CONDITION_READY,
    GROUP,
    KINDS,
    REASON_DENIED,
    REASON_FAILED,
    REASON_PENDING,
    CertificateRequestView,
)
from issuer.api.conditions import condition_is, find_condition
from issuer.errors import (
    IssuerControllerError,
    IssuerError,
    PendingError,
    PermanentError,
)

EVENT_NORMAL = "Normal"
EVENT_WARNING = "Warning"

EVENT_PENDING = "Pending"
EVENT_RETRYABLE = "RetryableError"
EVENT_PERMANENT = "PermanentError"
EVENT_WAITING_FOR_ISSUER = "WaitingForIssuer"
EVENT_RETRIES_EXHAUSTED = "RetriesExhausted"


class Gate(enum.Enum):
    """What to do with a request before any AWS call, in the order the gates apply."""

    NOT_OURS = "NotOurs"  # issuerRef is not one of our kinds in our group: ignore
    TERMINAL = "Terminal"  # Ready True, Failed, Denied (marked) or InvalidRequest: nothing to do
    MARK_DENIED = "MarkDenied"  # Denied: set Ready=False reason Denied and failureTime
    WAIT_APPROVAL = "WaitApproval"  # not Approved yet (approval check on): wait for an update
    ALREADY_ISSUED = "AlreadyIssued"  # status.certificate is set: nothing to sign
    PROCEED = "Proceed"  # sign (or resume polling the persisted certificate ARN)


def decide_gates(cr: CertificateRequestView, *, approval_check: bool) -> Gate:
    """The first gate that applies to ``cr``.

    An empty issuerRef group means cert-manager's own ``cert-manager.io``, so
    it is never ours. A request already Failed, or Denied and marked, or
    marked InvalidRequest by cert-manager, is terminal.
    """
    if cr.issuer_group != GROUP or cr.issuer_kind not in KINDS:
        return Gate.NOT_OURS
    conds = cr.conditions
    ready = find_condition(conds, CONDITION_READY)
    if ready is not None:
        if ready.get("status") == "True":
            return Gate.TERMINAL
        if ready.get("reason") in (REASON_FAILED, REASON_DENIED):
            return Gate.TERMINAL
    if condition_is(conds, CONDITION_INVALID_REQUEST, "True"):
        return Gate.TERMINAL
    if condition_is(conds, CONDITION_DENIED, "True"):
        return Gate.MARK_DENIED
    if approval_check and not condition_is(conds, CONDITION_APPROVED, "True"):
        return Gate.WAIT_APPROVAL
    if cr.has_certificate:
        return Gate.ALREADY_ISSUED
    return Gate.PROCEED


@dataclass(frozen=True)
class Outcome:
    """What the reconciler writes and schedules after an error."""

    ready_reason: str  # cert-manager Ready reason: "Pending" or "Failed"
    ready_message: str
    mark_failed: bool  # also set status.failureTime
    requeue_after: float | None  # re-add after this delay, backoff reset
    backoff: bool  # re-add with the queue's per-key backoff
    event_reason: str
    event_type: str  # "Normal" or "Warning"


def format_duration(seconds: float) -> str:
    """A short human duration: ``45s``, ``12m30s``, ``1h0m0s``."""
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _failed(message: str, event_reason: str) -> Outcome:
    return Outcome(
        ready_reason=REASON_FAILED,
        ready_message=message,
        mark_failed=True,
        requeue_after=None,
        backoff=False,
        event_reason=event_reason,
        event_type=EVENT_WARNING,
    )


def decide_after_error(
    err: IssuerControllerError,
    *,
    created: datetime,
    now: datetime,
    max_retry_seconds: float,
    issuer_name: str | None = None,
) -> Outcome:
    """The outcome of ``err`` for a request created at ``created``.

    * PendingError: Ready=False Pending, requeue after ``err.retry_after``, no
      retry budget used, no failure.
    * PermanentError: Failed at once.
    * IssuerError: Ready=False Pending "issuer ... not ready", backoff.
    * RetryableError (and any other class): Ready=False Pending, backoff.

    Retryable and issuer errors fail the request once more than
    ``max_retry_seconds`` have passed since ``created``.
    """
    if isinstance(err, PendingError):
        return Outcome(
            ready_reason=REASON_PENDING,
            ready_message=err.message,
            mark_failed=False,
            requeue_after=max(err.retry_after, 0.0),
            backoff=False,
            event_reason=EVENT_PENDING,
            event_type=EVENT_NORMAL,
        )
    if isinstance(err, PermanentError):
        return _failed(err.message, EVENT_PERMANENT)
    if isinstance(err, IssuerError):
        who = f"issuer {issuer_name}" if issuer_name else "the issuer"
        message = f"{who} is not ready: {err.message}"
        event_reason = EVENT_WAITING_FOR_ISSUER
    else:
        message = err.message
        event_reason = EVENT_RETRYABLE
    elapsed = (now - created).total_seconds()
    if elapsed > max_retry_seconds:
        return _failed(
            f"retries exhausted after {format_duration(elapsed)}: {message}",
            EVENT_RETRIES_EXHAUSTED,
        )
    return Outcome(
        ready_reason=REASON_PENDING,
        ready_message=message,
        mark_failed=False,
        requeue_after=None,
        backoff=True,
        event_reason=event_reason,
        event_type=EVENT_WARNING,
    )
