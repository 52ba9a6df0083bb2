"""The controller maps reconcile results onto the queue; a 429 waits its Retry-After."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from issuer.kube.client import api_error
from issuer.kube.workqueue import WorkQueue
from issuer.runtime.controller import DONE, Controller, Result


async def _run(
    reconcile: Callable[[str], Awaitable[Result]], queue: WorkQueue[str], until: asyncio.Event
) -> None:
    stop = asyncio.Event()
    ctrl = Controller("test", reconcile, queue, workers=1)
    task = asyncio.create_task(ctrl.run(stop))
    await asyncio.wait_for(until.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_too_many_requests_comes_back_after_retry_after() -> None:
    loop = asyncio.get_running_loop()
    seen: list[float] = []
    finished = asyncio.Event()

    async def reconcile(key: str) -> Result:
        seen.append(loop.time())
        if len(seen) == 1:
            raise api_error(429, {"message": "slow down"}, "GET", "/x", {"Retry-After": "0.3"})
        finished.set()
        return DONE

    queue: WorkQueue[str] = WorkQueue(base_delay=0.01)
    queue.add("k")
    await _run(reconcile, queue, finished)
    assert len(seen) == 2
    assert seen[1] - seen[0] >= 0.29  # not the 10 ms backoff
    assert queue.backoff_delay("k") == 0.01  # and no backoff spent


async def test_requeue_after_and_backoff() -> None:
    calls: list[str] = []
    finished = asyncio.Event()

    async def reconcile(key: str) -> Result:
        calls.append(key)
        if len(calls) == 1:
            return Result(requeue_after=0.01)
        if len(calls) == 2:
            return Result(backoff=True)
        finished.set()
        return DONE

    queue: WorkQueue[str] = WorkQueue(base_delay=0.01)
    queue.add("k")
    await _run(reconcile, queue, finished)
    assert calls == ["k", "k", "k"]
