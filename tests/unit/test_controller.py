"""The controller maps reconcile results onto the queue; a 429 waits its Retry-After."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from issuer.kube.client import api_error
from issuer.kube.http import ConnectionClosed
from issuer.kube.workqueue import WorkQueue
from issuer.runtime.controller import DONE, Controller, Result, api_unavailable


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


async def test_an_unavailable_api_server_is_one_warning_line_and_a_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[str] = []
    finished = asyncio.Event()
    failures: list[Exception] = [
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 6443)"),
        api_error(503, {"message": "apiserver is shutting down"}, "PATCH", "/x/status", {}),
        ConnectionClosed("connection closed before the response head"),
        ValueError("a bug"),
    ]

    async def reconcile(key: str) -> Result:
        calls.append(key)
        if failures:
            raise failures.pop(0)
        finished.set()
        return DONE

    queue: WorkQueue[str] = WorkQueue(base_delay=0.001)
    queue.add("k")
    with caplog.at_level(logging.INFO, logger="issuer.runtime.controller"):
        await _run(reconcile, queue, finished)
    assert len(calls) == 5
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.levelname, r.exc_info is not None) for r in errors] == [
        ("WARNING", False),
        ("WARNING", False),
        ("WARNING", False),
        ("ERROR", True),  # anything else keeps its traceback
    ]
    assert "apiserver is shutting down" in errors[1].__dict__["error"]


def test_what_counts_as_an_unavailable_api_server() -> None:
    assert api_unavailable(TimeoutError())
    assert api_unavailable(api_error(500, None, "GET", "/x", {}))
    assert not api_unavailable(api_error(409, None, "PUT", "/x", {}))
    assert not api_unavailable(api_error(403, None, "PUT", "/x", {}))
    assert not api_unavailable(KeyError("x"))
