"""The IssueCertificate idempotency token of a CertificateRequest.

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
