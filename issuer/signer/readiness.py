"""When to poll GetCertificate: per CA, how long after IssueCertificate a certificate is ready.

AWS PCA issues asynchronously; polling at once and then every second costs two
GetCertificate calls per request when the delay is about a second. This module
learns, per CA, the delay after which a certificate is usually ready and says
when to poll, so that one GetCertificate per request is the rule when the delay
is steady.

The estimate comes from censored observations. A poll that finds the
certificate ready says it was ready by then: the estimate creeps down by
``DOWN``. A poll that finds it still in progress says it was not: that time
becomes the CA's floor, and the estimate stays ``UP`` beyond the floor. The
floor fades with a half-life of ``FLOOR_HALF_LIFE`` seconds of wall time, so a
shorter delay is learned over minutes (a longer one at the first too-early
poll), and too-early polls stay rare whatever the
request rate (a burst of too-early polls answered together raises the estimate
once, not once per poll). An unknown or ~0 estimate means poll at once, as
before. Only the ARNs this process issued are observed (their issue time is
known); memory is bounded per process.

Callers run on one event loop and nothing here awaits, so no lock is needed.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

POLL_AT_ONCE_BELOW = 0.02  # seconds: an estimate below this is "ready at once"
DOWN = 0.0025  # relative decrease per poll that found the certificate ready
UP = 0.05  # the estimate stays this share beyond the floor (a too-early poll)
UP_ABSOLUTE = 0.01  # seconds added with UP, so a tiny estimate can grow
FLOOR_HALF_LIFE = 600.0  # seconds for a too-early poll's lesson to fade by half
MIN_RETRY = 0.05  # seconds: the shortest wait after a too-early poll
RETRY_FRACTION = 0.2  # after a too-early poll, wait this share of what is known
MAX_CAS = 1024  # estimates kept (least recently used dropped)
MAX_TRACKED = 4096  # issued ARNs whose issue time is kept (oldest dropped)


def beyond(floor: float | None) -> float:
    """The least estimate a floor (a poll that came too early) allows."""
    return 0.0 if floor is None else floor * (1.0 + UP) + UP_ABSOLUTE


def faded(floor: float | None, age: float) -> float | None:
    """A floor learned ``age`` seconds ago, as it counts now."""
    return None if floor is None else floor * 0.5 ** (max(age, 0.0) / FLOOR_HALF_LIFE)


def after_ready(estimate: float | None, elapsed: float, floor: float | None) -> float:
    """The new estimate after a poll ``elapsed`` seconds after issue found the certificate."""
    if estimate is None:
        return max(elapsed, beyond(floor))
    return max(estimate * (1.0 - DOWN), beyond(floor))


def after_not_ready(estimate: float, elapsed: float, floor: float | None) -> tuple[float, float]:
    """(new estimate, new floor) after a poll ``elapsed`` seconds after issue came too early."""
    new_floor = max(elapsed, floor or 0.0)
    return max(estimate, beyond(new_floor)), new_floor


def first_poll_delay(estimate: float | None) -> float:
    """Seconds from IssueCertificate to the first GetCertificate; 0 = poll at once."""
    if estimate is None or estimate < POLL_AT_ONCE_BELOW:
        return 0.0
    return estimate


def retry_delay(estimate: float | None, elapsed: float, default: float) -> float:
    """Seconds to the next poll after one ``elapsed`` seconds after issue came too early.

    With nothing learned yet, ``default`` (the classified error's delay, as
    before). Otherwise a share of what is known, never more than ``default``.
    """
    if estimate is None:
        return default
    wanted = max(estimate - elapsed, RETRY_FRACTION * max(estimate, elapsed))
    return min(max(wanted, MIN_RETRY), default)


@dataclass(slots=True)
class _Issued:
    ca_arn: str
    at: float


@dataclass(slots=True)
class _CA:
    estimate: float | None = None
    floor: float | None = None
    floor_at: float = 0.0


class Readiness:
    """Per-CA ready-time estimates, fed by this process's own polls."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cas: OrderedDict[str, _CA] = OrderedDict()
        self._issued: OrderedDict[str, _Issued] = OrderedDict()

    def now(self) -> float:
        """The clock's time: a poll's start, passed back to ``ready``/``not_ready``."""
        return self._clock()

    def estimate(self, ca_arn: str) -> float | None:
        ca = self._cas.get(ca_arn)
        return None if ca is None else ca.estimate

    def _ca(self, ca_arn: str) -> _CA:
        ca = self._cas.get(ca_arn)
        if ca is None:
            ca = self._cas[ca_arn] = _CA()
        self._cas.move_to_end(ca_arn)
        while len(self._cas) > MAX_CAS:
            self._cas.popitem(last=False)
        return ca

    def issued(self, ca_arn: str, certificate_arn: str) -> float:
        """Note an IssueCertificate that just returned; the delay to the first poll."""
        self._issued[certificate_arn] = _Issued(ca_arn, self._clock())
        self._issued.move_to_end(certificate_arn)
        while len(self._issued) > MAX_TRACKED:
            self._issued.popitem(last=False)
        return first_poll_delay(self.estimate(ca_arn))

    def ready(self, certificate_arn: str, polled_at: float) -> None:
        """A poll started at ``polled_at`` found the certificate issued."""
        seen = self._issued.pop(certificate_arn, None)
        if seen is None:
            return
        ca = self._ca(seen.ca_arn)
        floor = faded(ca.floor, polled_at - ca.floor_at)
        ca.estimate = after_ready(ca.estimate, polled_at - seen.at, floor)

    def not_ready(self, certificate_arn: str, polled_at: float, default: float) -> float:
        """A poll started at ``polled_at`` found it in progress; the delay to the next poll.

        The poll's start, not its answer, is what is learned: whether a poll
        started that long after issue finds the certificate (the call's own
        latency must not make a CA that issues at once look slow).
        """
        seen = self._issued.get(certificate_arn)
        if seen is None:
            return default
        ca = self._ca(seen.ca_arn)
        if ca.estimate is None:
            return default
        elapsed = polled_at - seen.at
        floor = faded(ca.floor, polled_at - ca.floor_at)
        ca.estimate, ca.floor = after_not_ready(ca.estimate, elapsed, floor)
        ca.floor_at = polled_at
        return retry_delay(ca.estimate, elapsed, default)
