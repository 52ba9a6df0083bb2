"""Client-side token buckets for AWS PCA calls, per CA (or region) and operation.

The buckets themselves are ``issuer.ratelimit.TokenBucket`` (FIFO, no polling).
"""

from __future__ import annotations

import math

from issuer.config import PCARateLimits
from issuer.ratelimit import TokenBucket

ISSUE_CERTIFICATE = "IssueCertificate"
GET_CERTIFICATE = "GetCertificate"
DESCRIBE_CERTIFICATE_AUTHORITY = "DescribeCertificateAuthority"


class RateLimiterRegistry:
    """One bucket per (CA ARN or region, operation), created on first use.

    The burst is one second of rate (at least 1); a rate of 0 turns limiting
    of that operation off.
    """

    def __init__(self, limits: PCARateLimits) -> None:
        self._rates = {
            ISSUE_CERTIFICATE: limits.issue_certificate,
            GET_CERTIFICATE: limits.get_certificate,
            DESCRIBE_CERTIFICATE_AUTHORITY: limits.describe_certificate_authority,
        }
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    @property
    def operations(self) -> tuple[str, ...]:
        """The operations this registry limits."""
        return tuple(self._rates)

    def bucket(self, key: str, operation: str) -> TokenBucket | None:
        """The bucket for ``key`` and ``operation``; None when limiting is off for it."""
        if operation not in self._rates:
            raise ValueError(f"no rate limit for operation {operation!r}")
        rate = self._rates[operation]
        if rate <= 0:
            return None
        found = self._buckets.get((key, operation))
        if found is None:
            found = TokenBucket(rate, max(1, math.ceil(rate)))
            self._buckets[(key, operation)] = found
        return found

    async def acquire(self, key: str, operation: str) -> float:
        """Wait for a token of ``operation`` against ``key``; return the seconds waited."""
        bucket = self.bucket(key, operation)
        return 0.0 if bucket is None else await bucket.acquire()
