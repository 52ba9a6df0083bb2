"""Issuer health: the Ready condition from spec problems, errors and the CA status."""

from __future__ import annotations

from typing import Any

import pytest

from issuer.api.issuer import IssuerView
from issuer.controllers.issuer_decision import decide_issuer_health, keeps_last_good_state
from issuer.errors import (
    IssuerControllerError,
    IssuerError,
    PendingError,
    PermanentError,
    RetryableError,
)

ARN = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/abc"


def _view(spec: dict[str, Any], kind: str = "AWSPCAIssuer") -> IssuerView:
    return IssuerView.from_obj(
        {"metadata": {"name": "pca", "namespace": "team-a", "generation": 1}, "spec": spec}, kind
    )


WITH_SECRET = _view({"arn": ARN, "secretRef": {"name": "creds"}})
WITH_ROLE = _view({"arn": ARN, "role": "arn:aws:iam::111122223333:role/r"})
PLAIN = _view({"arn": ARN})
WITH_SA = _view(
    {"arn": ARN, "role": "arn:aws:iam::111122223333:role/r", "serviceAccountRef": {"name": "sa"}}
)

CASES: list[
    tuple[str, IssuerView, list[str], str | None, IssuerControllerError | None, str, str, list[str]]
] = [
    ("active", PLAIN, [], "ACTIVE", None, "True", "Verified", ["ACTIVE", ARN]),
    ("not checked", PLAIN, [], None, None, "False", "NotChecked", ["not been checked"]),
    (
        "spec problems win",
        PLAIN,
        ["spec.arn is required", "no AWS region"],
        "ACTIVE",
        IssuerError("x"),
        "False",
        "InvalidSpec",
        ["spec.arn is required; no AWS region"],
    ),
    ("disabled", PLAIN, [], "DISABLED", None, "False", "CANotActive", ["DISABLED", "enable it"]),
    (
        "pending certificate",
        PLAIN,
        [],
        "PENDING_CERTIFICATE",
        None,
        "False",
        "CANotActive",
        ["import its CA certificate"],
    ),
    ("expired", PLAIN, [], "EXPIRED", None, "False", "CANotActive", ["renew"]),
    ("deleted", PLAIN, [], "DELETED", None, "False", "CANotActive", ["restore"]),
    ("unknown status", PLAIN, [], "SHINY", None, "False", "CANotActive", ["must be ACTIVE"]),
    (
        "bad secret credentials",
        WITH_SECRET,
        [],
        None,
        IssuerError("InvalidClientTokenId", reason="CredentialsError"),
        "False",
        "CredentialsError",
        ["team-a/creds", "AWS_ACCESS_KEY_ID"],
    ),
    (
        "bad role",
        WITH_ROLE,
        [],
        None,
        IssuerError("AccessDenied", reason="CredentialsError"),
        "False",
        "CredentialsError",
        ["assume arn:aws:iam::111122223333:role/r"],
    ),
    (
        "ambient credentials disabled: upstream's exact words",
        PLAIN,
        [],
        None,
        IssuerError("x", reason="AmbientCredentialsDisabled"),
        "False",
        "AmbientCredentialsDisabled",
        ["empty credentials; perhaps you meant to enable ambient credentials?"],
    ),
    (
        "service account token refused",
        WITH_SA,
        [],
        None,
        IssuerError("failed to request token", reason="CredentialsError"),
        "False",
        "CredentialsError",
        ["team-a/sa", "serviceaccounts/token", "system:serviceaccount:team-a:sa"],
    ),
    (
        "bad irsa",
        PLAIN,
        [],
        None,
        IssuerError("no creds", reason="CredentialsError"),
        "False",
        "CredentialsError",
        ["IRSA"],
    ),
    (
        "access denied",
        PLAIN,
        [],
        "ACTIVE",
        IssuerError("not allowed", reason="AccessDenied"),
        "False",
        "AccessDenied",
        ["not allowed", ARN],
    ),
    (
        "ca not found",
        PLAIN,
        [],
        None,
        IssuerError("gone", reason="CANotFound"),
        "False",
        "CANotFound",
        ["gone"],
    ),
    (
        "secret missing",
        WITH_SECRET,
        [],
        None,
        IssuerError("Secret team-a/creds not found", reason="SecretNotFound"),
        "False",
        "SecretNotFound",
        ["not found"],
    ),
    ("generic issuer error", PLAIN, [], None, IssuerError("?"), "False", "IssuerError", ["?"]),
    (
        "unreachable",
        PLAIN,
        [],
        None,
        RetryableError("timeout"),
        "False",
        "CAUnreachable",
        ["will retry", "timeout"],
    ),
    (
        "rejected config",
        PLAIN,
        [],
        None,
        PermanentError("bad arn"),
        "False",
        "InvalidSpec",
        ["bad arn"],
    ),
    ("pending", PLAIN, [], None, PendingError("wait"), "False", "NotChecked", ["wait"]),
]


@pytest.mark.parametrize(
    ("case", "view", "problems", "ca_status", "error", "status", "reason", "fragments"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_decide_issuer_health(
    case: str,
    view: IssuerView,
    problems: list[str],
    ca_status: str | None,
    error: IssuerControllerError | None,
    status: str,
    reason: str,
    fragments: list[str],
) -> None:
    got = decide_issuer_health(
        view, problems=problems, ca_status=ca_status, error=error, secret_namespace="team-a"
    )
    assert got[:2] == (status, reason), case
    for fragment in fragments:
        assert fragment in got[2], (case, got[2])


def test_ambient_refusal_is_upstreams_message_word_for_word() -> None:
    """Upstream's e2e suite compares the Ready message with ==; nothing may be appended."""
    error = IssuerError("anything", reason="AmbientCredentialsDisabled")
    assert decide_issuer_health(PLAIN, problems=[], ca_status=None, error=error) == (
        "False",
        "AmbientCredentialsDisabled",
        "empty credentials; perhaps you meant to enable ambient credentials?",
    )


def test_a_cluster_issuers_hint_names_the_namespace_its_secret_was_read_from() -> None:
    view = _view({"arn": ARN, "secretRef": {"name": "creds"}}, kind="AWSPCAClusterIssuer")
    error = IssuerError("InvalidClientTokenId", reason="CredentialsError")
    _, _, message = decide_issuer_health(
        view, problems=[], ca_status=None, error=error, secret_namespace="aws-privateca-issuer"
    )
    assert "check the Secret aws-privateca-issuer/creds" in message
    assert "<cluster resource namespace>" not in message


def _ready(generation: int, observed: int) -> IssuerView:
    return IssuerView.from_obj(
        {
            "metadata": {"name": "pca", "namespace": "team-a", "generation": generation},
            "spec": {"arn": ARN},
            "status": {
                "conditions": [{"type": "Ready", "status": "True", "observedGeneration": observed}]
            },
        },
        "AWSPCAIssuer",
    )


def test_only_throttling_of_a_ready_issuer_keeps_its_state() -> None:
    throttled = RetryableError("slow down", reason="Throttled")
    assert keeps_last_good_state(_ready(2, 2), throttled)
    assert not keeps_last_good_state(_ready(3, 2), throttled)  # the spec changed since
    assert not keeps_last_good_state(PLAIN, throttled)  # never Ready
    assert not keeps_last_good_state(_ready(2, 2), RetryableError("timeout"))
    assert not keeps_last_good_state(_ready(2, 2), IssuerError("bad", reason="CredentialsError"))
    assert not keeps_last_good_state(_ready(2, 2), None)
