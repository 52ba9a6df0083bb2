"""The pure decisions of the CertificateRequest reconciler: which gate applies, and the whole change.

``decide_gates`` applies cert-manager's issuer gates in order. ``plan_request``
turns (request view, what happened, now) into one ``Plan``: the annotations,
the status, the Events, the metric outcome and the queue result. The
reconciler applies a plan and decides nothing itself.

The Ready condition only ever uses cert-manager's reasons (Pending, Failed,
Issued, Denied); the finer classes go into Event reasons. Retry budget
(``max_retry_seconds`` from the request's creation) is spent only by
retryable AWS errors met with a Ready issuer, and never by throttling;
waiting for an issuer is a gate that never fails a request.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from issuer.api.certificaterequest import (
    CONDITION_APPROVED,
    CONDITION_DENIED,
    CONDITION_INVALID_REQUEST,
    CONDITION_READY,
    CertificateRequestView,
)
from issuer.api.conditions import (
    condition_is,
    conditions_equal_ignoring_time,
    find_condition,
    format_time,
    set_condition,
)
from issuer.api.names import GROUP, KINDS
from issuer.controllers.registry import Waiting
from issuer.errors import (
    IssuerControllerError,
    IssuerError,
    PendingError,
    PermanentError,
    Reason,
)
from issuer.runtime.controller import DONE, Result
from issuer.signer.signing import Issued, Pending

EVENT_NORMAL = "Normal"
EVENT_WARNING = "Warning"

#: A request waiting for its issuer is re-queued when the issuer turns Ready;
#: this slow re-check only covers a missed notification.
WAITING_RECHECK_SECONDS = 60.0

ISSUED_MESSAGE = "Certificate issued by AWS Private CA"
DENIED_MESSAGE = "The CertificateRequest was denied by an approval controller"


class Gate(enum.Enum):
    """What to do with a request before any AWS call, in the order the gates apply."""

    NOT_OURS = "NotOurs"  # issuerRef group is not ours: ignore
    TERMINAL = "Terminal"  # Ready True, Failed, Denied (marked) or InvalidRequest: nothing to do
    MARK_DENIED = "MarkDenied"  # Denied: set Ready=False reason Denied and failureTime
    WAIT_APPROVAL = "WaitApproval"  # not Approved yet (approval check on): wait for an update
    ALREADY_ISSUED = "AlreadyIssued"  # status.certificate is set: nothing to sign
    UNSUPPORTED_KIND = "UnsupportedKind"  # our group, a kind we do not serve: Failed, as v1.12
    PROCEED = "Proceed"  # sign (or resume polling the persisted certificate ARN)


def decide_gates(cr: CertificateRequestView, *, approval_check: bool) -> Gate:
    """The first gate that applies to ``cr``, in the Go issuer's order.

    An empty issuerRef group means cert-manager's own ``cert-manager.io``, so
    it is never ours. A request already Failed, or Denied and marked, or
    marked InvalidRequest by cert-manager, is terminal.
    """
    if cr.issuer_group != GROUP:
        return Gate.NOT_OURS
    conds = cr.conditions
    ready = find_condition(conds, CONDITION_READY)
    if ready is not None:
        if ready.get("status") == "True":
            return Gate.TERMINAL
        if ready.get("reason") in (Reason.FAILED, Reason.DENIED):
            return Gate.TERMINAL
    if condition_is(conds, CONDITION_INVALID_REQUEST, "True"):
        return Gate.TERMINAL
    if condition_is(conds, CONDITION_DENIED, "True"):
        return Gate.MARK_DENIED
    if approval_check and not condition_is(conds, CONDITION_APPROVED, "True"):
        return Gate.WAIT_APPROVAL
    if cr.has_certificate:
        return Gate.ALREADY_ISSUED
    if cr.issuer_kind not in KINDS:
        return Gate.UNSUPPORTED_KIND
    return Gate.PROCEED


@dataclass(frozen=True)
class EventSpec:
    type: str  # "Normal" or "Warning"
    reason: str
    message: str


@dataclass(frozen=True)
class Plan:
    """The whole change of one reconcile, applied by one writer in this order."""

    annotations: Mapping[str, str] = field(default_factory=dict)  # merged into metadata
    status: dict[str, Any] | None = None  # status fields to write; None: no status write
    events: tuple[EventSpec, ...] = ()
    outcome: str | None = None  # metric outcome: issued, pending, retry, failed, denied
    result: Result = DONE
    log_message: str = ""


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


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _ready(
    cr: CertificateRequestView,
    now: datetime,
    status: str,
    reason: str,
    message: str,
    *,
    failed: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any] | None, bool]:
    """The status to write (None when nothing changes) and whether the Ready condition changed."""
    conditions = set_condition(
        cr.conditions, type=CONDITION_READY, status=status, reason=reason, message=message, now=now
    )
    changed = not conditions_equal_ignoring_time(cr.conditions, conditions)
    if not changed and not failed and not extra:
        return None, False
    out: dict[str, Any] = {"conditions": conditions, **(extra or {})}
    if failed:
        out["failureTime"] = format_time(now)
    return out, changed


def _failed(
    cr: CertificateRequestView, now: datetime, message: str, event_reason: str, **kw: Any
) -> Plan:
    status, _ = _ready(cr, now, "False", Reason.FAILED, message, failed=True)
    return Plan(
        status=status,
        events=(EventSpec(EVENT_WARNING, event_reason, message),),
        outcome="failed",
        result=DONE,
        log_message="request failed",
        **kw,
    )


def plan_denied(cr: CertificateRequestView, now: datetime) -> Plan:
    denied = find_condition(cr.conditions, CONDITION_DENIED) or {}
    status, _ = _ready(cr, now, "False", Reason.DENIED, DENIED_MESSAGE, failed=True)
    return Plan(
        status=status,
        events=(
            EventSpec(EVENT_WARNING, Reason.DENIED, str(denied.get("message") or "request denied")),
        ),
        outcome="denied",
        log_message="request denied",
    )


def plan_unsupported_kind(cr: CertificateRequestView, now: datetime) -> Plan:
    """Our group but a kind we do not serve: Failed with the Go issuer's message.

    No metric outcome: the kind is the user's string, never a label value.
    """
    plan = _failed(cr, now, f"unsupported issuer kind: {cr.issuer_kind}", Reason.UNSUPPORTED_KIND)
    return replace(plan, outcome=None)


SignResult = Issued | Pending | Waiting | IssuerControllerError


def plan_request(
    cr: CertificateRequestView,
    what: SignResult,
    now: datetime,
    *,
    max_retry_seconds: float,
    annotations: Mapping[str, str] | None = None,
    notes: tuple[EventSpec, ...] = (),
) -> Plan:
    """The whole change after signing was attempted (or gated on the issuer).

    * Issued: status certificate/ca and Ready=True Issued; done.
    * Pending (certificate being issued) and PendingError: Ready=False
      Pending, poll again after its delay; no retry budget used.
    * Waiting (issuer missing or not Ready) and IssuerError (AWS says the
      issuer's credentials or CA are broken): Ready=False Pending; the request
      waits for its issuer and never fails for it.
    * PermanentError: Failed at once.
    * RetryableError: Ready=False Pending with backoff; Failed once more than
      ``max_retry_seconds`` have passed since creation, except for throttling,
      which never fails a request.

    ``annotations`` (a certificate ARN not yet on the object) are written
    first whatever the outcome; ``notes`` are extra Events (an ignored ARN).
    """
    kw: dict[str, Any] = {"annotations": dict(annotations or {})}
    if isinstance(what, Issued):
        status, _ = _ready(
            cr,
            now,
            "True",
            Reason.ISSUED,
            ISSUED_MESSAGE,
            extra={"certificate": _b64(what.chain_pem), "ca": _b64(what.ca_pem)},
        )
        events = [*notes, EventSpec(EVENT_NORMAL, Reason.ISSUED, "Certificate issued")]
        return Plan(
            status=status,
            events=tuple(events),
            outcome="issued",
            result=DONE,
            log_message="certificate issued",
            **kw,
        )
    if isinstance(what, PermanentError):
        return _failed(cr, now, what.message, Reason.PERMANENT, **kw)
    if isinstance(what, Pending | PendingError):
        message, delay = what.message, what.retry_after
        event = EventSpec(EVENT_NORMAL, Reason.PENDING, message)
        outcome, result = "pending", Result(requeue_after=max(delay, 0.0))
        log_message = "certificate not issued yet"
    elif isinstance(what, Waiting | IssuerError):
        message = what.message if isinstance(what, Waiting) else f"issuer is not ready: {what}"
        event = EventSpec(EVENT_NORMAL, Reason.WAITING_FOR_ISSUER, message)
        outcome = "pending"
        result = (
            Result(requeue_after=WAITING_RECHECK_SECONDS)
            if isinstance(what, Waiting)
            else Result(backoff=True)
        )
        log_message = "waiting for the issuer"
    else:
        message = what.message
        elapsed = (now - cr.creation_timestamp).total_seconds()
        if what.reason != Reason.THROTTLED and elapsed > max_retry_seconds:
            return _failed(
                cr,
                now,
                f"retries exhausted after {format_duration(elapsed)}: {message}",
                Reason.RETRIES_EXHAUSTED,
                **kw,
            )
        event = EventSpec(EVENT_WARNING, Reason.RETRYABLE, message)
        outcome, result = "retry", Result(backoff=True)
        log_message = "request not issued yet"
    status, changed = _ready(cr, now, "False", Reason.PENDING, message)
    # An Event per change of the condition; errors also repeat (the recorder
    # drops identical repeats), a steady Pending poll does not.
    events = [*notes]
    if changed or event.type == EVENT_WARNING:
        events.append(event)
    return Plan(
        status=status,
        events=tuple(events),
        outcome=outcome,
        result=result,
        log_message=log_message,
        **kw,
    )


def plan_write_refused(cr: CertificateRequestView, what: str, detail: str, now: datetime) -> Plan:
    """The API server refused a write (403, 413, 422...): say so, and retry with backoff.

    The retry is bounded by the queue's per-key backoff; a refused annotation
    never costs a new IssueCertificate (the ARN is kept until it is written).
    """
    message = f"the API server refused to write the {what}: {detail}"
    status, _ = _ready(cr, now, "False", Reason.PENDING, message)
    return Plan(
        status=status if what != "status" else None,
        events=(EventSpec(EVENT_WARNING, Reason.WRITE_REFUSED, message),),
        outcome="retry",
        result=Result(backoff=True),
        log_message="write refused",
    )
