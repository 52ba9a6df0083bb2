"""The pure decision of the issuer reconciler: the Ready condition from what was checked.

Precedence: spec problems, then the error met while loading credentials or
describing the CA, then the CA status. Ready is True only when the CA is
ACTIVE. Messages say what to fix.
"""

from __future__ import annotations

from issuer.api.certificaterequest import CONDITION_READY
from issuer.api.conditions import find_condition
from issuer.api.issuer import IssuerView
from issuer.errors import (
    IssuerControllerError,
    IssuerError,
    PendingError,
    PermanentError,
    Reason,
    RetryableError,
)

REASON_VERIFIED = Reason.VERIFIED
REASON_INVALID_SPEC = Reason.INVALID_SPEC
REASON_CREDENTIALS = Reason.CREDENTIALS
REASON_CA_NOT_ACTIVE = Reason.CA_NOT_ACTIVE
REASON_CA_UNREACHABLE = Reason.CA_UNREACHABLE
REASON_ISSUER_ERROR = Reason.ISSUER_ERROR
REASON_NOT_CHECKED = Reason.NOT_CHECKED
REASON_AMBIENT_DISABLED = Reason.AMBIENT_DISABLED

# Upstream v1.12's message, word for word: tools (and upstream's e2e suite) compare it.
AMBIENT_DISALLOWED_MESSAGE = "empty credentials; perhaps you meant to enable ambient credentials?"

CA_ACTIVE = "ACTIVE"

_CA_STATUS_HINTS = {
    "CREATING": "it is still being created; wait for it to finish",
    "PENDING_CERTIFICATE": "it has no CA certificate yet; sign and import its CA certificate",
    "DISABLED": "it is disabled; enable it in AWS Private CA",
    "EXPIRED": "its CA certificate has expired; renew it",
    "FAILED": "its creation failed; create a new CA and update spec.arn",
    "DELETED": "it is deleted (pending permanent deletion); restore it or update spec.arn",
}


def _credentials_hint(view: IssuerView, secret_namespace: str | None) -> str:
    ref = view.secret_ref
    if ref is not None:
        return (
            f"check the Secret {secret_namespace}/{ref.name} (keys {ref.access_key_id_key}, "
            f"{ref.secret_access_key_key})"
        )
    sa = view.service_account_ref
    if sa is not None:
        namespace = sa.namespace or view.namespace
        return (
            f"check that ServiceAccount {namespace}/{sa.name} exists, that the controller may "
            f"create its tokens (serviceaccounts/token), and that {view.role} trusts "
            f"system:serviceaccount:{namespace}:{sa.name}"
        )
    if view.role:
        return f"check that the controller may assume {view.role}"
    return "check the controller's ServiceAccount role (IRSA) or its AWS environment"


def decide_issuer_health(
    view: IssuerView,
    *,
    problems: list[str],
    ca_status: str | None,
    error: IssuerControllerError | None,
    secret_namespace: str | None = None,
) -> tuple[str, str, str]:
    """``(status, reason, message)`` of the issuer's Ready condition.

    ``secret_namespace`` is where the controller read the issuer's Secret from
    (for a cluster issuer without ``secretRef.namespace``, the cluster
    resource namespace), so a hint names the Secret that was really read.
    """
    if problems:
        return "False", REASON_INVALID_SPEC, "invalid spec: " + "; ".join(problems)
    if error is not None:
        if isinstance(error, IssuerError):
            if error.reason == REASON_AMBIENT_DISABLED:
                return "False", REASON_AMBIENT_DISABLED, AMBIENT_DISALLOWED_MESSAGE
            if error.reason == REASON_CREDENTIALS:
                return (
                    "False",
                    REASON_CREDENTIALS,
                    f"cannot authenticate to AWS: {error.message}; {_credentials_hint(view, secret_namespace)}",
                )
            reason = error.reason if error.reason != IssuerError.reason else REASON_ISSUER_ERROR
            return "False", reason, f"{error.message} (CA {view.arn})"
        if isinstance(error, PermanentError):
            return (
                "False",
                REASON_INVALID_SPEC,
                f"AWS rejected the issuer's configuration: {error.message}",
            )
        if isinstance(error, PendingError):
            return "False", REASON_NOT_CHECKED, f"check in progress: {error.message}"
        return (
            "False",
            REASON_CA_UNREACHABLE,
            f"cannot check CA {view.arn}, will retry: {error.message}",
        )
    if ca_status is None:
        return "False", REASON_NOT_CHECKED, f"CA {view.arn} has not been checked yet"
    if ca_status == CA_ACTIVE:
        return "True", REASON_VERIFIED, f"CA {view.arn} is ACTIVE and the credentials work"
    hint = _CA_STATUS_HINTS.get(ca_status, "it must be ACTIVE to issue certificates")
    return "False", REASON_CA_NOT_ACTIVE, f"CA {view.arn} is {ca_status}: {hint}"


def keeps_last_good_state(view: IssuerView, error: IssuerControllerError | None) -> bool:
    """Whether a failed check leaves the issuer as it was.

    Throttling says the service is there and busy, nothing about the CA or the
    credentials: an issuer Ready for its current generation stays Ready (no
    condition write, no Event), and the check is retried with backoff.
    """
    if not isinstance(error, RetryableError) or error.reason != Reason.THROTTLED:
        return False
    ready = find_condition(view.conditions, CONDITION_READY)
    return (
        ready is not None
        and ready.get("status") == "True"
        and ready.get("observedGeneration") == view.generation
    )
