"""AWS credentials for one issuer: ambient (IRSA / default chain), a Secret, a role on top,
or a ServiceAccount's token exchanged for a role (``spec.serviceAccountRef``).

Keys read from a Secret are registered with the redaction layer and checked
(charset, length) before any use: a value no AWS credential can have (a line
break, a PEM private key a selector pointed at) is refused naming its key,
never its value, instead of reaching an HTTP header and an SDK error message.

All clients share one botocore session (one model loader, whose endpoints
document holds only the services we call: ``issuer.signer.botodata``): each
issuer only adds a credential provider, so an additional issuer costs
kilobytes, not the tens of MiB a session costs. Refreshable credentials (web identity, assumed
roles) refresh themselves inside botocore before they expire.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.credentials
import botocore.session

from issuer.errors import IssuerError, Reason
from issuer.observability.redaction import remember_secret
from issuer.signer import botodata

_lock = threading.Lock()
_session: botocore.session.Session | None = None


def shared_session() -> botocore.session.Session:
    """The process-wide botocore session (model loader, default credential chain)."""
    global _session
    with _lock:
        if _session is None:
            _session = botodata.session()
        return _session


@dataclass(frozen=True)
class StaticKeys:
    """Keys read from a Secret. ``repr`` never shows them."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:
        return "StaticKeys(<redacted>)"

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


# What AWS accepts: access key IDs are 16-128 word characters (IAM's
# AccessKeyId); secret keys and session tokens are printable ASCII without
# spaces (base64 in practice). Bounds keep hostile values out of headers.
_ACCESS_KEY_ID = re.compile(r"[A-Za-z0-9_]{16,128}")
_PRINTABLE = re.compile(r"[\x21-\x7e]+")
MAX_SECRET_ACCESS_KEY = 128
MAX_SESSION_TOKEN = 16384


def _what_is_wrong(value: str, *, max_len: int) -> str | None:
    """A description of why ``value`` is no credential, that never quotes it."""
    if any(c in "\r\n" for c in value):
        return "contains a line break"
    if any(c.isspace() for c in value):
        return "contains white space"
    if not value.isascii():
        return "contains non-ASCII characters"
    if not _PRINTABLE.fullmatch(value):
        return "contains control characters"
    if len(value) > max_len:
        return f"is longer than {max_len} characters"
    return None


def _decode(raw: object) -> str | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8").strip()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def static_keys_from_secret(
    data: Mapping[str, Any],
    *,
    access_key_id_key: str,
    secret_access_key_key: str,
    session_token_key: str,
    where: str,
) -> StaticKeys:
    """The keys in a Secret's ``data`` (base64 values), checked before any use.

    Every value read is first registered as a secret (``remember_secret``), so
    no later message can show it. Problems name the Secret (``where``) and
    the key, never a value: IssuerError with reason CredentialsError.
    """
    values = {k: _decode(data.get(k)) for k in (access_key_id_key, secret_access_key_key)}
    token = _decode(data.get(session_token_key))
    for value in (*values.values(), token):
        if value:
            remember_secret(value)
    problems: list[str] = []
    for key, value in values.items():
        if not value:
            problems.append(f"key {key} is missing, empty or not UTF-8 text")
    key_id, secret_key = values[access_key_id_key], values[secret_access_key_key]
    if key_id:
        wrong = _what_is_wrong(key_id, max_len=128)
        if wrong is None and not _ACCESS_KEY_ID.fullmatch(key_id):
            wrong = "is not an AWS access key ID (16 to 128 letters and digits)"
        if wrong:
            problems.append(f"key {access_key_id_key} {wrong}")
    if secret_key:
        wrong = _what_is_wrong(secret_key, max_len=MAX_SECRET_ACCESS_KEY)
        if wrong:
            problems.append(f"key {secret_access_key_key} {wrong}")
    if token:
        wrong = _what_is_wrong(token, max_len=MAX_SESSION_TOKEN)
        if wrong:
            problems.append(f"key {session_token_key} {wrong}")
    elif data.get(session_token_key):
        problems.append(f"key {session_token_key} is not UTF-8 text")
    if problems:
        raise IssuerError(
            f"Secret {where} does not hold usable AWS credentials: {'; '.join(problems)}",
            reason=Reason.CREDENTIALS,
        )
    assert key_id is not None
    assert secret_key is not None
    return StaticKeys(key_id, secret_key, token or None)


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
