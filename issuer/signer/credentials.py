"""AWS credentials for one issuer: ambient (IRSA / default chain), a Secret, and a role on top.

All clients share one botocore session (one model loader): each issuer only
adds a credential provider, so an additional issuer costs kilobytes, not the
tens of MiB a session costs. Refreshable credentials (web identity, assumed
roles) refresh themselves inside botocore before they expire.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Any

import botocore.credentials
import botocore.session

from issuer.errors import IssuerError

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


@dataclass(frozen=True)
class CredentialSpec:
    """What an issuer asks for: Secret keys or ambient, plus an optional role to assume."""

    static: StaticKeys | None
    role_arn: str | None
    region: str

    def fingerprint(self) -> str:
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
            reason="NoCredentials",
        )
    return creds


def resolve(spec: CredentialSpec) -> botocore.credentials.Credentials:
    """Credentials for ``spec``; with a role, refreshable credentials of that role."""
    base = _base_credentials(spec)
    if not spec.role_arn:
        return base
    session = shared_session()
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
