"""A token bucket for asyncio: FIFO, one timer per waiter, no polling.

``acquire`` reserves its token synchronously (the balance may go negative:
that is the queue) and then sleeps exactly until its turn, so callers are
served first come, first served. A waiter cancelled while sleeping gives its
token back. Used for PCA quotas (issuer.signer.ratelimit) and the Kubernetes
client's QPS (issuer.kube.client); importable from any layer.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; FIFO under contention."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number, got {rate}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def _refill(self) -> float:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        return now

    def try_acquire(self) -> bool:
        """Take a token if one is available now (never waits, never jumps the queue)."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    async def acquire(self) -> float:
        """Wait for a token; return the seconds waited."""
        self._refill()
        self._tokens -= 1.0
        if self._tokens >= 0.0:
            return 0.0
        wait = -self._tokens / self.rate
        try:
            await asyncio.sleep(wait)
        except asyncio.CancelledError:
            self._refill()
            self._tokens = min(float(self.burst), self._tokens + 1.0)
            raise
        return wait
