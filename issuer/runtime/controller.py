"""A controller: N async workers draining a workqueue into a reconcile function.

The reconcile returns a ``Result``; the controller maps it onto the queue the
way controller-runtime does: ``requeue_after`` -> forget the backoff and come
back later; ``backoff`` -> re-add with per-key exponential backoff; a 429 from
the API server -> come back after its Retry-After; any other exception ->
logged (one line when the API server is unavailable, with its traceback
otherwise), then backoff; otherwise -> forget. On ``stop`` the queue
shuts down and workers finish the reconcile they are in (drain) before
``run`` returns.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from issuer.kube.client import ApiError, TooManyRequests
from issuer.kube.workqueue import QueueShutDown, WorkQueue
from issuer.observability import metrics
from issuer.observability.logging import reconcile_context

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


_UNAVAILABLE_STATUSES = frozenset({500, 502, 503, 504})


def api_unavailable(err: BaseException) -> bool:
    """Whether ``err`` says the API server could not be reached or is not serving now.

    Transport failures (refused or reset connections, timeouts, answers cut
    short: ``issuer.kube.http`` raises OSErrors) and 500/502/503/504 answers.
    """
    if isinstance(err, ApiError):
        return err.status in _UNAVAILABLE_STATUSES
    return isinstance(err, OSError | TimeoutError)


@dataclass(frozen=True)
class Result:
    """What a reconcile asks of the queue."""

    requeue_after: float | None = None
    backoff: bool = False


DONE = Result()


class Controller(Generic[K]):
    def __init__(
        self,
        name: str,
        reconcile: Callable[[K], Awaitable[Result]],
        queue: WorkQueue[K],
        *,
        workers: int,
    ) -> None:
        self.name = name
        self.reconcile = reconcile
        self.queue = queue
        self.workers = workers
        self._active = 0
        metrics.init_controller(name, workers)

    async def run(self, stop: asyncio.Event) -> None:
        """Run workers until ``stop`` is set, then drain and return."""
        tasks = [
            asyncio.create_task(self._worker(i), name=f"{self.name}-worker-{i}")
            for i in range(self.workers)
        ]
        log.info("controller started", extra={"controller": self.name, "workers": self.workers})
        await stop.wait()
        self.queue.shutdown()
        await asyncio.gather(*tasks, return_exceptions=True)
        log.info("controller drained", extra={"controller": self.name})

    async def _worker(self, index: int) -> None:
        while True:
            try:
                key = await self.queue.get()
            except QueueShutDown:
                return
            self._active += 1
            metrics.ACTIVE_WORKERS.labels(self.name).set(self._active)
            try:
                await self._process(key)
            finally:
                self._active -= 1
                metrics.ACTIVE_WORKERS.labels(self.name).set(self._active)
                self.queue.done(key)

    async def _process(self, key: K) -> None:
        rid = uuid.uuid4().hex[:12]
        with reconcile_context(controller=self.name, key=str(key), reconcile_id=rid):
            start = asyncio.get_running_loop().time()
            try:
                result = await self.reconcile(key)
            except asyncio.CancelledError:
                raise
            except TooManyRequests as err:
                # The API server said when to come back: honour Retry-After.
                log.info("API server busy", extra={"retry_after": err.retry_after})
                metrics.RECONCILE_TOTAL.labels(self.name, "requeue_after").inc()
                self.queue.add_after(key, err.retry_after)
                return
            except Exception as err:
                if api_unavailable(err):
                    # A restarting or unreachable API server: expected, retried with
                    # backoff, worth one line and not a traceback per key.
                    log.warning(
                        "API server unavailable; reconcile retried with backoff",
                        extra={"error": str(err)},
                    )
                else:
                    log.exception("reconcile failed")
                metrics.RECONCILE_TOTAL.labels(self.name, "error").inc()
                metrics.RECONCILE_ERRORS.labels(self.name).inc()
                self.queue.add_rate_limited(key)
                return
            finally:
                metrics.RECONCILE_TIME.labels(self.name).observe(
                    asyncio.get_running_loop().time() - start
                )
            if result.requeue_after is not None:
                metrics.RECONCILE_TOTAL.labels(self.name, "requeue_after").inc()
                self.queue.forget(key)
                self.queue.add_after(key, result.requeue_after)
            elif result.backoff:
                metrics.RECONCILE_TOTAL.labels(self.name, "requeue").inc()
                self.queue.add_rate_limited(key)
            else:
                metrics.RECONCILE_TOTAL.labels(self.name, "success").inc()
                self.queue.forget(key)
