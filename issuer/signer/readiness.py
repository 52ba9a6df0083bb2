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

Polls at the estimate never see a delay that got shorter (a ready poll only
says "ready by then"), so now and then one certificate is a *probe*: polled
at once, as with nothing learned, at most once per ``PROBE_EVERY``
certificates and ``PROBE_INTERVAL`` seconds per CA (a steady delay pays one
extra GetCertificate per probe, and no latency: the probe's next poll is at
the estimate). A probe that finds the certificate ready proves the delay
(about) zero now: its time becomes the estimate and the floor is dropped, so
certificates are polled at once again from the next one on. A delay that
shrank but not to zero is still learned only as the estimate creeps down.

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
PROBE_PROOF = 0.5  # a probe ready before this share of the estimate proves it too long
PROBE_EVERY = 100  # certificates of a CA between two probes, at least
PROBE_INTERVAL = 10.0  # seconds between two probes of a CA, at least
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
    probe: bool = False


@dataclass(slots=True)
class _CA:
    estimate: float | None = None
    floor: float | None = None
    floor_at: float = 0.0
    since_probe: int = 0  # certificates issued since the last probe
    probe_after: float = 0.0  # no probe before this time


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
        now = self._clock()
        delay = first_poll_delay(self.estimate(ca_arn))
        probe = False
        if delay > 0:
            ca = self._ca(ca_arn)
            ca.since_probe += 1
            if ca.since_probe >= PROBE_EVERY and now >= ca.probe_after:
                probe, delay = True, 0.0
                ca.since_probe, ca.probe_after = 0, now + PROBE_INTERVAL
        self._issued[certificate_arn] = _Issued(ca_arn, now, probe)
        self._issued.move_to_end(certificate_arn)
        while len(self._issued) > MAX_TRACKED:
            self._issued.popitem(last=False)
        return delay

    def ready(self, certificate_arn: str, polled_at: float) -> None:
        """A poll started at ``polled_at`` found the certificate issued."""
        seen = self._issued.pop(certificate_arn, None)
        if seen is None:
            return
        ca = self._ca(seen.ca_arn)
        elapsed = polled_at - seen.at
        if seen.probe and ca.estimate is not None and elapsed < PROBE_PROOF * ca.estimate:
            # Ready well before the estimate: the delay is shorter now, and what
            # the floor says belongs to the longer one.
            ca.estimate, ca.floor = elapsed, None
            return
        floor = faded(ca.floor, polled_at - ca.floor_at)
        ca.estimate = after_ready(ca.estimate, elapsed, floor)

    def not_ready(self, certificate_arn: str, polled_at: float, default: float) -> float:
        """A poll started at ``polled_at`` found it in progress; the delay to the next poll.

        The poll's start, not its answer, is what is learned: whether a poll
        started that long after issue finds the certificate (the call's own
        latency must not make a CA that issues at once look slow).
        """
        seen = self._issued.get(certificate_arn)
        if seen is None:
            return default
        seen.probe = False  # the probe found it in progress: later polls are ordinary ones
        ca = self._ca(seen.ca_arn)
        if ca.estimate is None:
            return default
        elapsed = polled_at - seen.at
        floor = faded(ca.floor, polled_at - ca.floor_at)
        ca.estimate, ca.floor = after_not_ready(ca.estimate, elapsed, floor)
        ca.floor_at = polled_at
        return retry_delay(ca.estimate, elapsed, default)
