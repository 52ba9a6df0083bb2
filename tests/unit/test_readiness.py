"""The per-CA ready-time estimate: when to poll GetCertificate after IssueCertificate."""

from __future__ import annotations

import heapq
import itertools
import math

import pytest

from issuer.signer import readiness as r
from issuer.signer.readiness import Readiness

CA = "ca-a"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("estimate", "want"),
    [(None, 0.0), (0.0, 0.0), (0.019, 0.0), (0.02, 0.02), (1.03, 1.03)],
)
def test_first_poll_delay(estimate: float | None, want: float) -> None:
    assert r.first_poll_delay(estimate) == want


@pytest.mark.parametrize(
    ("estimate", "elapsed", "floor", "want"),
    [
        (None, 1.04, None, 1.04),
        (None, 0.003, None, 0.003),
        (1.0, 1.2, None, 1.0 * (1 - r.DOWN)),
        (1.0, 1.2, 0.99, 0.99 * (1 + r.UP) + r.UP_ABSOLUTE),  # never below the floor's bound
    ],
)
def test_after_ready(
    estimate: float | None, elapsed: float, floor: float | None, want: float
) -> None:
    assert r.after_ready(estimate, elapsed, floor) == pytest.approx(want)


@pytest.mark.parametrize(
    ("estimate", "elapsed", "floor", "want"),
    [
        (1.0, 0.99, None, (0.99 * (1 + r.UP) + r.UP_ABSOLUTE, 0.99)),
        (1.0, 2.0, 0.5, (2.0 * (1 + r.UP) + r.UP_ABSOLUTE, 2.0)),
        (0.0, 0.0, None, (r.UP_ABSOLUTE, 0.0)),
        (1.2, 0.9, 0.95, (1.2, 0.95)),  # a poll that says less than known changes nothing
    ],
)
def test_after_not_ready_moves_past_what_was_seen(
    estimate: float, elapsed: float, floor: float | None, want: tuple[float, float]
) -> None:
    assert r.after_not_ready(estimate, elapsed, floor) == pytest.approx(want)


@pytest.mark.parametrize(
    ("floor", "age", "want"),
    [(None, 5.0, None), (1.0, 0.0, 1.0), (1.0, r.FLOOR_HALF_LIFE, 0.5), (1.0, -3.0, 1.0)],
)
def test_a_floor_fades(floor: float | None, age: float, want: float | None) -> None:
    assert r.faded(floor, age) == pytest.approx(want)


@pytest.mark.parametrize(
    ("estimate", "elapsed", "default", "want"),
    [
        (None, 0.01, 1.0, 1.0),  # nothing learned: as before
        (1.06, 1.0, 1.0, 0.212),  # a share of what is known
        (0.011, 0.005, 1.0, r.MIN_RETRY),  # never a busy loop
        (30.0, 1.0, 1.0, 1.0),  # never later than the classified delay
    ],
)
def test_retry_delay(estimate: float | None, elapsed: float, default: float, want: float) -> None:
    assert r.retry_delay(estimate, elapsed, default) == pytest.approx(want)


def test_steady_delay_converges_to_one_poll_per_certificate() -> None:
    """Delay 1 s, polls answered 10 ms late: after the first, ~1 poll per certificate."""
    clock, delay = Clock(), 1.0
    est = Readiness(clock)
    polls = 0
    for i in range(200):
        arn = f"cert-{i}"
        start = clock.now
        wait = est.issued(CA, arn)
        while True:
            clock.now += wait + 0.01  # the poll starts a little late
            polled_at = clock.now
            polls += 1
            clock.now += 0.03  # and takes a while
            if polled_at - start >= delay:
                est.ready(arn, polled_at)
                break
            wait = est.not_ready(arn, polled_at, 1.0)
        assert clock.now - start < delay + 0.3
    assert polls <= 200 * 1.1 + 2
    estimate = est.estimate(CA)
    assert estimate is not None
    assert 0.9 < estimate < 1.1


def test_delay_zero_keeps_polling_at_once() -> None:
    clock = Clock()
    est = Readiness(clock)
    for i in range(5):
        assert est.issued(CA, f"c{i}") == 0.0
        polled_at = clock.now + 0.001
        clock.now += 0.2  # a slow answer says nothing about when it was ready
        est.ready(f"c{i}", polled_at)
    assert est.issued(CA, "next") == 0.0


def test_estimates_are_per_ca_and_unknown_arns_change_nothing() -> None:
    clock = Clock()
    est = Readiness(clock)
    est.issued(CA, "slow")
    clock.now += 2.0
    est.ready("slow", clock.now)
    assert est.issued(CA, "x") == pytest.approx(2.0)
    assert est.issued("ca-b", "y") == 0.0
    est.ready("never-issued-here", clock.now)
    assert est.not_ready("never-issued-here", clock.now, 1.0) == 1.0
    assert est.estimate("ca-b") is None


def test_memory_is_bounded() -> None:
    est = Readiness()
    for i in range(r.MAX_TRACKED + 10):
        est.issued(f"ca-{i % (r.MAX_CAS + 5)}", f"cert-{i}")
        est.ready(f"cert-{i - 1}", est.now())
    assert len(est._issued) <= r.MAX_TRACKED
    assert len(est._cas) <= r.MAX_CAS


def test_a_burst_of_too_early_polls_raises_the_estimate_once() -> None:
    """25/s at a steady 1 s delay: too-early polls stay rare and do not compound."""
    clock, delay, rate = Clock(), 1.0, 25.0
    est = Readiness(clock)
    events: list[tuple[float, int, str, float]] = []  # (poll time, seq, arn, issued at)
    polls, n = 0, 2000
    seq = itertools.count(1)

    def poll_until(t: float) -> None:
        """Every poll due by ``t``: ready once the CA's delay has passed, else polled again."""
        nonlocal polls
        while events and events[0][0] <= t:
            at, _, arn, start = heapq.heappop(events)
            clock.now = at
            polls += 1
            if at - start >= delay:
                est.ready(arn, at)
            else:
                heapq.heappush(events, (at + est.not_ready(arn, at, 1.0), next(seq), arn, start))

    for i in range(n):
        issue_at = 100.0 + i / rate
        poll_until(issue_at)
        clock.now = issue_at
        due = issue_at + est.issued(CA, f"c{i}") + 0.01
        heapq.heappush(events, (due, next(seq), f"c{i}", issue_at))
        if i == 0:
            assert est.estimate(CA) is None
    poll_until(math.inf)
    estimate = est.estimate(CA)
    assert estimate is not None
    assert delay <= estimate < 1.1 * delay
    assert polls <= n * 1.05


def _sequential(est: Readiness, clock: Clock, delay: float, n: int, first: int = 0) -> list[int]:
    """``n`` certificates one after another at a steady ``delay``; the polls each took."""
    counts = []
    for i in range(first, first + n):
        arn, start, polls = f"s{i}", clock.now, 0
        wait = est.issued(CA, arn)
        while True:
            clock.now += wait
            polls += 1
            if clock.now - start >= delay:
                est.ready(arn, clock.now)
                break
            wait = est.not_ready(arn, clock.now, 1.0)
        clock.now += 0.01
        counts.append(polls)
    return counts


def test_a_delay_that_falls_to_zero_is_learned_within_a_few_certificates() -> None:
    clock = Clock()
    est = Readiness(clock)
    _sequential(est, clock, 1.0, 2 * r.PROBE_EVERY)
    assert (est.estimate(CA) or 0.0) > 0.9  # learned: about a second
    clock.now += r.PROBE_INTERVAL
    counts = _sequential(est, clock, 0.0, r.PROBE_EVERY + 10, first=1000)
    assert est.issued(CA, "now") == 0.0  # polled at once again
    assert sum(counts) == len(counts)  # and no poll came too early on the way down


def test_probes_at_a_steady_delay_cost_one_poll_in_probe_every(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    n, probes = 20 * r.PROBE_EVERY, 20
    runs = []
    for every in (r.PROBE_EVERY, 10 * n):  # with probes, then without
        monkeypatch.setattr(r, "PROBE_EVERY", every)
        clock = Clock()
        est = Readiness(clock)
        runs.append(sum(_sequential(est, clock, 1.0, n)))
        estimate = est.estimate(CA)
        assert estimate is not None
        assert 1.0 <= estimate < 1.1  # a probe found in progress teaches nothing wrong
    assert 0 < runs[0] - runs[1] <= probes + 1
