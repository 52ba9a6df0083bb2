"""Client-side token buckets for AWS PCA calls, per account, region and operation.

AWS counts PCA's request-rate quotas per account and region, not per CA: two
issuers on two CAs of one account share IssueCertificate's 25/s. So a call
takes its token from the bucket of the account and region its CA ARN names
(``quota_scope``), and many issuers on many CAs of one account stay under the
quota together instead of each spending it. The buckets themselves are
``issuer.ratelimit.TokenBucket`` (FIFO, no polling).
"""

from __future__ import annotations

import math

from issuer.config import PCARateLimits
from issuer.ratelimit import TokenBucket

ISSUE_CERTIFICATE = "IssueCertificate"
GET_CERTIFICATE = "GetCertificate"
DESCRIBE_CERTIFICATE_AUTHORITY = "DescribeCertificateAuthority"


def quota_scope(ca_arn: str) -> str:
    """``partition:region:account`` of a CA ARN: where AWS counts its quotas.

    Anything that does not parse as an ARN is its own scope (the spec
    validation refuses such ARNs before any call is made).
    """
    parts = ca_arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[3] and parts[4]:
        return f"{parts[1]}:{parts[3]}:{parts[4]}"
    return ca_arn


class RateLimiterRegistry:
    """One bucket per (account and region of the CA, operation), created on first use.

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

    def bucket(self, ca_arn: str, operation: str) -> TokenBucket | None:
        """The bucket of ``ca_arn``'s account and region for ``operation``; None when off."""
        if operation not in self._rates:
            raise ValueError(f"no rate limit for operation {operation!r}")
        rate = self._rates[operation]
        if rate <= 0:
            return None
        key = (quota_scope(ca_arn), operation)
        found = self._buckets.get(key)
        if found is None:
            found = TokenBucket(rate, max(1, math.ceil(rate)))
            self._buckets[key] = found
        return found

    async def acquire(self, ca_arn: str, operation: str) -> float:
        """Wait for a token of ``operation`` for ``ca_arn``; return the seconds waited."""
        bucket = self.bucket(ca_arn, operation)
        return 0.0 if bucket is None else await bucket.acquire()
