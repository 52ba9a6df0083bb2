"""AWS credentials for one issuer: ambient (IRSA / default chain), a Secret, a role on top,
or a ServiceAccount's token exchanged for a role (``spec.serviceAccountRef``).

All clients share one botocore session (one model loader): each issuer only
adds a credential provider, so an additional issuer costs kilobytes, not the
tens of MiB a session costs. Refreshable credentials (web identity, assumed
roles) refresh themselves inside botocore before they expire.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.credentials
import botocore.session

from issuer.errors import IssuerError, Reason

_lock = threading.Lock()
_session: botocore.session.Session | None = None


def shared_session() -> botocore.session.Session:
    """The process-wide botocore session (model loader, default credential chain)."""
    global _session
    with _lock:
        if _session is None:
            _session = botocore.session.get_session()
        return _session


@dataclass(frozen=True)
class StaticKeys:
    """Keys read from a Secret. ``repr`` never shows them."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:
        return f"StaticKeys(access_key_id={self.access_key_id[:4]}..., secret=<redacted>)"

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for part in (self.access_key_id, self.secret_access_key, self.session_token or ""):
            h.update(part.encode())
            h.update(b"\0")
        return h.hexdigest()[:16]


# As upstream: the session name of roles assumed with a ServiceAccount's token.
WEB_IDENTITY_SESSION_NAME = "aws-privateca-issuer"


@dataclass(frozen=True)
class WebIdentity:
    """A ServiceAccount's token source; ``subject`` (namespace/name) identifies it.

    ``token`` is called (in an AWS worker thread) each time STS credentials are
    fetched or refreshed and returns a fresh token; it raises an
    IssuerControllerError when none can be had. The signer never talks to
    Kubernetes itself: the caller passes this in.
    """

    subject: str
    token: Callable[[], str] = field(compare=False, repr=False)


@dataclass(frozen=True)
class CredentialSpec:
    """What an issuer asks for: Secret keys, a ServiceAccount's token or ambient, plus a role.

    With ``web_identity`` the role is assumed with AssumeRoleWithWebIdentity
    (no base credentials); otherwise with AssumeRole on top of the base.
    """

    static: StaticKeys | None
    role_arn: str | None
    region: str
    web_identity: WebIdentity | None = None

    def fingerprint(self) -> str:
        if self.web_identity is not None:
            base = f"serviceaccount:{self.web_identity.subject}"
        else:
            base = self.static.fingerprint() if self.static else "ambient"
        return f"{base}|{self.role_arn or ''}|{self.region}"


def _base_credentials(spec: CredentialSpec) -> botocore.credentials.Credentials:
    if spec.static is not None:
        return botocore.credentials.Credentials(
            spec.static.access_key_id, spec.static.secret_access_key, spec.static.session_token
        )
    creds = shared_session().get_credentials()
    if creds is None:
        raise IssuerError(
            "no ambient AWS credentials: set up IRSA (AWS_ROLE_ARN and "
            "AWS_WEB_IDENTITY_TOKEN_FILE on the controller) or give the issuer a secretRef",
            reason=Reason.NO_CREDENTIALS,
        )
    return creds


def resolve(spec: CredentialSpec) -> botocore.credentials.Credentials:
    """Credentials for ``spec``; with a role, refreshable credentials of that role."""
    session = shared_session()
    if spec.web_identity is not None:
        if not spec.role_arn:
            raise IssuerError(
                "spec.role must be set when using serviceAccountRef", reason=Reason.CREDENTIALS
            )
        web = botocore.credentials.AssumeRoleWithWebIdentityCredentialFetcher(
            client_creator=_client_creator(session, spec.region),
            web_identity_token_loader=spec.web_identity.token,
            role_arn=spec.role_arn,
            extra_args={"RoleSessionName": WEB_IDENTITY_SESSION_NAME},
        )
        return botocore.credentials.DeferredRefreshableCredentials(
            method="assume-role-with-web-identity", refresh_using=web.fetch_credentials
        )
    base = _base_credentials(spec)
    if not spec.role_arn:
        return base
    fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
        client_creator=_client_creator(session, spec.region),
        source_credentials=base,
        role_arn=spec.role_arn,
        extra_args={"RoleSessionName": "awspca-issuer"},
    )
    return botocore.credentials.DeferredRefreshableCredentials(
        method="assume-role", refresh_using=fetcher.fetch_credentials
    )


def _client_creator(session: botocore.session.Session, region: str) -> Any:
    def create(service_name: str, **kwargs: Any) -> Any:
        kwargs.setdefault("region_name", region)
        return session.create_client(service_name, **kwargs)

    return create
