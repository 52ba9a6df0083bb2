"""Per-operation token buckets per account+region, after the PCA request quotas.

A bucket holds up to `rate` tokens (one second of burst) and refills at `rate`
per second. Rates come from the live `EmulatorConfig`, so the admin API can
change them (or switch throttling off) at run time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .config import DEFAULT_OTHER_RATE, EmulatorConfig


class TokenBucket:
    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = now

    def take(self, now: float) -> bool:
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Throttler:
    def __init__(self, config: EmulatorConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}

    def rate_for(self, operation: str) -> float:
        return float(self.config.throttle_rates.get(operation, DEFAULT_OTHER_RATE))

    def allow(self, operation: str, account: str, region: str) -> bool:
        """Take one token; False means answer ThrottlingException."""
        if not self.config.throttling_enabled:
            return True
        rate = self.rate_for(operation)
        if rate <= 0:
            return False
        now = self.clock()
        key = (account, region, operation)
        bucket = self._buckets.get(key)
        if bucket is None or bucket.rate != rate:
            bucket = self._buckets[key] = TokenBucket(rate, now)
        return bucket.take(now)

    def reset(self) -> None:
        self._buckets.clear()
