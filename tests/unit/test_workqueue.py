"""Workqueue semantics: dedup, exclusivity, delays, backoff, shutdown, metrics hooks."""

from __future__ import annotations

import asyncio
import random

import pytest

from issuer.kube.workqueue import QueueShutDown, WorkQueue


async def _get(q: WorkQueue[str], within: float = 1.0) -> str:
    return await asyncio.wait_for(q.get(), within)


async def _nothing(q: WorkQueue[str], within: float = 0.05) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(q.get(), within)


@pytest.mark.parametrize(
    ("adds", "expected_order"),
    [
        (["a"], ["a"]),
        (["a", "a", "a"], ["a"]),
        (["a", "b", "a", "c", "b"], ["a", "b", "c"]),
    ],
)
async def test_dedup_and_fifo(adds: list[str], expected_order: list[str]) -> None:
    q: WorkQueue[str] = WorkQueue()
    for key in adds:
        q.add(key)
    assert len(q) == len(expected_order)
    got = [await _get(q) for _ in expected_order]
    assert got == expected_order
    assert len(q) == 0
    await _nothing(q)


async def test_add_during_processing_requeues_after_done() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    key = await _get(q)
    q.add("a")
    q.add("a")
    assert len(q) == 0  # never handed to a second worker
    await _nothing(q)
    q.done(key)
    assert len(q) == 1
    assert await _get(q) == "a"
    q.done("a")
    await _nothing(q)


async def test_done_without_add_does_not_requeue() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    q.done(await _get(q))
    q.done("a")  # double done is harmless
    q.done("never-seen")
    assert len(q) == 0


async def test_get_blocks_until_add() -> None:
    q: WorkQueue[str] = WorkQueue()
    waiter = asyncio.create_task(q.get())
    await asyncio.sleep(0.02)
    assert not waiter.done()
    q.add("x")
    assert await asyncio.wait_for(waiter, 1) == "x"


async def test_concurrent_workers_never_share_a_key() -> None:
    rec = Recorder()
    q: WorkQueue[str] = WorkQueue(observer=rec)
    keys = [f"k{i}" for i in range(8)]
    active: set[str] = set()
    processed: list[str] = []
    overlaps: list[str] = []
    rng = random.Random(7)

    async def worker() -> None:
        while True:
            try:
                key = await q.get()
            except QueueShutDown:
                return
            if key in active:
                overlaps.append(key)
            active.add(key)
            await asyncio.sleep(rng.random() * 0.003)
            if rng.random() < 0.3:
                q.add(key)  # re-added while processing
            active.discard(key)
            processed.append(key)
            q.done(key)

    workers = [asyncio.create_task(worker()) for _ in range(6)]
    for _ in range(300):
        q.add(rng.choice(keys))
        if rng.random() < 0.3:
            await asyncio.sleep(0)
    while len(q) or len(rec.latencies) != len(rec.durations):  # queued or handed out
        await asyncio.sleep(0.005)
    q.shutdown()
    await asyncio.wait_for(asyncio.gather(*workers), 2)
    assert overlaps == []
    assert set(processed) == set(keys)
    assert len(processed) < 300  # dedup collapsed many adds


async def test_add_after_delays() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add_after("a", 0.08)
    assert len(q) == 0
    await _nothing(q, 0.03)
    assert await _get(q) == "a"


@pytest.mark.parametrize(
    ("delays", "expect_by"),
    [
        ([0.25, 0.03], 0.15),  # an earlier due time replaces a later one
        ([0.03, 0.25], 0.15),  # a later due time does not postpone an earlier one
    ],
)
async def test_add_after_keeps_earliest(delays: list[float], expect_by: float) -> None:
    q: WorkQueue[str] = WorkQueue()
    for d in delays:
        q.add_after("a", d)
    assert await _get(q, expect_by) == "a"
    q.done("a")
    await _nothing(q, 0.3)  # and it comes once only


@pytest.mark.parametrize("delay", [0.0, -1.0])
async def test_add_after_non_positive_is_add(delay: float) -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add_after("a", delay)
    assert len(q) == 1


async def test_delayed_keys_come_in_due_order() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add_after("late", 0.09)
    q.add_after("early", 0.03)
    q.add_after("mid", 0.06)
    got = [await _get(q) for _ in range(3)]
    assert got == ["early", "mid", "late"]


@pytest.mark.parametrize(
    ("base", "cap", "expected"),
    [
        (0.5, 300.0, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0, 300.0]),
        (1.0, 5.0, [1.0, 2.0, 4.0, 5.0, 5.0]),
        (0.1, 0.1, [0.1, 0.1, 0.1]),
    ],
)
async def test_backoff_sequence(base: float, cap: float, expected: list[float]) -> None:
    q: WorkQueue[str] = WorkQueue(base_delay=base, max_delay=cap)
    got = []
    for _ in expected:
        got.append(q.add_rate_limited("a"))
    assert got == expected
    assert q.backoff_delay("b") == base  # per key
    q.forget("a")
    assert q.backoff_delay("a") == base
    q.shutdown()


async def test_backoff_does_not_overflow() -> None:
    q: WorkQueue[str] = WorkQueue()
    for _ in range(2000):
        q.add_rate_limited("a")
    assert q.backoff_delay("a") == 300.0
    q.shutdown()


async def test_rate_limited_key_arrives_after_backoff() -> None:
    q: WorkQueue[str] = WorkQueue(base_delay=0.04, max_delay=1.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    q.add_rate_limited("a")
    assert await _get(q) == "a"
    first = loop.time() - start
    q.done("a")
    start = loop.time()
    q.add_rate_limited("a")
    assert await _get(q) == "a"
    second = loop.time() - start
    assert first >= 0.035
    assert second >= 0.075


@pytest.mark.parametrize("bad", [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0)])
def test_bad_backoff_parameters(bad: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="base_delay"):
        WorkQueue(base_delay=bad[0], max_delay=bad[1])


async def test_shutdown() -> None:
    q: WorkQueue[str] = WorkQueue()
    waiter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add_after("delayed", 0.01)
    q.shutdown()
    with pytest.raises(QueueShutDown):
        await asyncio.wait_for(waiter, 1)
    with pytest.raises(QueueShutDown):
        await q.get()
    q.add("a")
    q.add_after("b", 0.01)
    q.add_rate_limited("c")
    await asyncio.sleep(0.03)
    assert len(q) == 0


async def test_shutdown_with_key_in_progress() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    key = await _get(q)
    q.add("a")
    q.shutdown()
    q.done(key)  # allowed, and does not requeue
    assert len(q) == 0


async def test_cancelled_getter_gives_key_back() -> None:
    q: WorkQueue[str] = WorkQueue()
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("a")  # handed to the getter at once...
    getter.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await getter
    assert await _get(q) == "a"  # given back, not held by the cancelled getter


async def test_cancelled_waiting_getter_is_skipped() -> None:
    q: WorkQueue[str] = WorkQueue()
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    q.add("a")
    assert await asyncio.wait_for(second, 1) == "a"


class Recorder:
    def __init__(self) -> None:
        self.adds = 0
        self.depths: list[int] = []
        self.latencies: list[float] = []
        self.durations: list[float] = []
        self.retries = 0

    def on_add(self) -> None:
        self.adds += 1

    def on_depth(self, depth: int) -> None:
        self.depths.append(depth)

    def on_queue_latency(self, seconds: float) -> None:
        self.latencies.append(seconds)

    def on_work_duration(self, seconds: float) -> None:
        self.durations.append(seconds)

    def on_retry(self) -> None:
        self.retries += 1


async def test_observer_hooks() -> None:
    rec = Recorder()
    q: WorkQueue[str] = WorkQueue(base_delay=0.01, observer=rec)
    q.add("a")
    q.add("a")
    q.add("b")
    await asyncio.sleep(0.02)
    key = await _get(q)
    q.add(key)  # during processing: counted, as client-go does
    assert rec.adds == 3
    q.add(key)  # already dirty: not counted
    assert rec.adds == 3
    await asyncio.sleep(0.02)
    q.done(key)
    q.add_rate_limited("c")
    assert rec.adds == 3  # a, b and the re-add during processing
    assert rec.retries == 1
    assert rec.depths[:3] == [1, 2, 1]
    assert len(rec.latencies) == 1
    assert rec.latencies[0] >= 0.015
    assert len(rec.durations) == 1
    assert rec.durations[0] >= 0.015
    q.shutdown()


async def test_jitter_spreads_keys_that_failed_together() -> None:
    q: WorkQueue[str] = WorkQueue(base_delay=1.0, max_delay=300.0, jitter=0.5)
    rounds = [[q.add_rate_limited(f"k{i}") for i in range(50)] for _ in range(4)]
    for n, delays in enumerate(rounds):
        full = 2.0**n
        assert all(full * 0.5 <= d <= full for d in delays), (n, delays)
        assert len(set(delays)) > 40  # not one wave
    q.shutdown()


@pytest.mark.parametrize("jitter", [-0.1, 1.5])
def test_bad_jitter(jitter: float) -> None:
    with pytest.raises(ValueError, match="jitter"):
        WorkQueue(jitter=jitter)


async def _due_now(q: WorkQueue[str], *keys: str) -> None:
    """Make ``keys`` come due (in that order) and wait until their timer fired."""
    for key in keys:
        q.add_after(key, 0.001)
    before = len(q)
    for _ in range(200):
        if len(q) >= before + len(keys):
            return
        await asyncio.sleep(0.005)
    raise AssertionError("delayed keys never came due")


async def test_due_keys_go_ahead_of_new_keys() -> None:
    """A poll that came due is handed out before a backlog of new requests."""
    q: WorkQueue[str] = WorkQueue()
    for i in range(5):
        q.add(f"new-{i}")
    await _due_now(q, "poll-a", "poll-b")
    got = [await _get(q) for _ in range(7)]
    assert got == ["poll-a", "poll-b"] + [f"new-{i}" for i in range(5)]


async def test_new_keys_get_a_turn_after_a_streak_of_due_keys() -> None:
    q: WorkQueue[str] = WorkQueue(due_streak=3)
    q.add("new-0")
    q.add("new-1")
    await _due_now(q, *(f"poll-{i}" for i in range(7)))
    got = [await _get(q) for _ in range(9)]
    assert got == [
        "poll-0", "poll-1", "poll-2", "new-0",
        "poll-3", "poll-4", "poll-5", "new-1",
        "poll-6",
    ]  # fmt: skip


async def test_a_due_key_readded_while_processing_stays_due() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("poll")
    key = await _get(q)
    q.add("new")
    await _due_now(q, "other")
    q.add_after("poll", 0.001)
    await asyncio.sleep(0.05)  # the timer fires while "poll" is processed: deferred to done
    q.done(key)
    assert [await _get(q) for _ in range(3)] == ["other", "poll", "new"]


def test_bad_due_streak() -> None:
    with pytest.raises(ValueError, match="due_streak"):
        WorkQueue(due_streak=0)
