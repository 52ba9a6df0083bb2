"""The IssueCertificate idempotency token of a CertificateRequest, and its ARN binding.

Derived from the request's UID and CSR, so a retry of the same request reuses
the same token (PCA returns the same certificate within its 5-minute window)
while a request recreated under the same name gets a new one. The Go issuer
hashes namespace/name instead, which can hand a recreated request an old
certificate.
"""

from __future__ import annotations

import hashlib

TOKEN_LENGTH = 36


def idempotency_token(uid: str, csr_pem: bytes) -> str:
    """Hex of sha256(uid, NUL, csr), truncated to 36 characters (PCA allows at most 36)."""
    digest = hashlib.sha256(uid.encode("utf-8") + b"\0" + csr_pem).hexdigest()
    return digest[:TOKEN_LENGTH]


BINDING_LENGTH = 40


def arn_binding(token: str, certificate_arn: str) -> str:
    """What ties a certificate ARN to the request it was issued for.

    Written beside the ARN annotation: hex of sha256(token, NUL, ARN). The
    token already binds the request's UID and CSR, so an ARN copied onto
    another request (another UID), or kept under a changed CSR, no longer
    matches its binding and is not resumed.
    """
    data = token.encode("ascii") + b"\0" + certificate_arn.encode("utf-8", errors="replace")
    return hashlib.sha256(data).hexdigest()[:BINDING_LENGTH]
