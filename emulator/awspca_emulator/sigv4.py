"""AWS Signature Version 4 verification of incoming requests.

Recomputes the canonical request, string to sign and signature from the
request as received and compares it with the Authorization header. Failures
raise `AuthError` with a protocol-neutral `kind`; the PCA and STS adapters map
it to their own error codes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import quote, unquote

from .identity import Credential, CredentialStore

ALGORITHM = "AWS4-HMAC-SHA256"
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<sh>[^,\s]+),"
    r"\s*Signature=(?P<sig>[0-9a-f]{64})\s*$"
)


class AuthError(Exception):
    """kind: missing | malformed | unknown_key | invalid_token | expired | bad_signature | skew."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Authenticated:
    credential: Credential
    region: str
    service: str


@lru_cache(maxsize=256)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, region.encode(), hashlib.sha256).digest()
    k = hmac.new(k, service.encode(), hashlib.sha256).digest()
    return hmac.new(k, b"aws4_request", hashlib.sha256).digest()


def canonical_query(raw_query: str) -> str:
    if not raw_query:
        return ""
    pairs = []
    for part in raw_query.split("&"):
        k, _, v = part.partition("=")
        pairs.append((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~")))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    signed_headers: list[str],
    payload_hash: str,
) -> str:
    lines = []
    for name in signed_headers:
        values = headers.getall(name, []) if hasattr(headers, "getall") else [headers.get(name, "")]
        joined = ",".join(" ".join(str(v).split()) for v in values)
        lines.append(f"{name}:{joined}\n")
    path = quote(unquote(raw_path or "/"), safe="/~")
    return "\n".join(
        [
            method,
            path,
            canonical_query(raw_query),
            "".join(lines),
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def verify(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    store: CredentialStore,
    now: float,
    max_skew: float,
    check_signature: bool = True,
    service: str | None = None,
) -> Authenticated:
    """Authenticate a request signed with SigV4 in the Authorization header."""
    auth = headers.get("Authorization")
    if not auth:
        raise AuthError("missing", "Missing Authentication Token")
    m = _AUTH_RE.match(auth)
    if m is None:
        raise AuthError("malformed", "Authorization header is not a valid AWS4-HMAC-SHA256 header.")
    scope_parts = m.group("cred").split("/")
    if len(scope_parts) != 5 or scope_parts[4] != "aws4_request":
        raise AuthError("malformed", "Credential scope is not valid.")
    key_id, date, region, scope_service, _ = scope_parts
    if service is not None and scope_service != service:
        raise AuthError(
            "bad_signature", f"Credential should be scoped to correct service: '{service}'."
        )
    cred = store.lookup(key_id)
    if cred is None:
        raise AuthError("unknown_key", "The security token included in the request is invalid.")
    if cred.session_token is not None:
        if headers.get("X-Amz-Security-Token") != cred.session_token:
            raise AuthError(
                "invalid_token", "The security token included in the request is invalid."
            )
        if cred.expiration is not None and now >= cred.expiration:
            raise AuthError("expired", "The security token included in the request is expired")
    amz_date = headers.get("X-Amz-Date", "")
    try:
        when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError as exc:
        raise AuthError("malformed", "X-Amz-Date is missing or not valid.") from exc
    if not amz_date.startswith(date):
        raise AuthError("bad_signature", "Credential date does not match X-Amz-Date.")
    if abs(now - when) > max_skew:
        raise AuthError(
            "skew", "Signature expired: the request time is too far from the server time."
        )
    if check_signature:
        signed = m.group("sh").split(";")
        payload_hash = headers.get("X-Amz-Content-SHA256") or hashlib.sha256(body).hexdigest()
        if payload_hash != "UNSIGNED-PAYLOAD" and payload_hash != hashlib.sha256(body).hexdigest():
            raise AuthError("bad_signature", "The provided X-Amz-Content-SHA256 does not match.")
        creq = canonical_request(method, raw_path, raw_query, headers, signed, payload_hash)
        scope = f"{date}/{region}/{scope_service}/aws4_request"
        to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
        expected = hmac.new(
            signing_key(cred.secret, date, region, scope_service), to_sign.encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, m.group("sig")):
            raise AuthError(
                "bad_signature",
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method.",
            )
    return Authenticated(credential=cred, region=region, service=scope_service)
