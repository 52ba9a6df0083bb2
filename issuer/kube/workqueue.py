"""An asyncio workqueue with controller-runtime semantics: dedup, delays, per-key backoff.

* A key queued several times is processed once (``dirty`` set).
* A key being processed is never handed to a second worker; an ``add`` during
  processing is remembered and the key is queued again on ``done``.
* ``add_after`` keeps the earliest due time per key; one event-loop timer
  serves all delayed keys.
* ``add_rate_limited`` backs off per key: ``base * 2**n`` capped at ``cap``
  (0.5 s doubling up to 300 s by default); ``forget`` resets it. With
  ``jitter`` (0..1) each delay is drawn from ``[d * (1 - jitter), d]``, so keys
  that failed together (a throttling burst) do not all retry in the same
  instant, wave after wave.
* Keys whose delay came due (a poll of a certificate in progress, a retry) go
  ahead of keys added for the first time: work already started finishes
  before new work starts, so a burst of thousands of new requests does not
  push every poll behind it (issuance would then run at the poll quota, not
  the issue quota). At most ``due_streak`` due keys in a row are handed out
  while new keys wait, so new work is never starved.
* ``shutdown``: new adds are ignored, ``get`` raises ``QueueShutDown`` (even if
  keys are still queued: an informer resync or the next leader re-adds them);
  keys in progress may still be marked ``done``.

Needs a running event loop only for ``get`` and ``add_after``.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections import deque
from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

K = TypeVar("K", bound=Hashable)


class QueueShutDown(Exception):
    """The queue was shut down; workers should exit."""


class QueueObserver(Protocol):
    """Metrics hooks; every method must be cheap and must not raise."""

    def on_add(self) -> None:
        """A key was added (after dedup), like client-go's workqueue_adds_total."""

    def on_depth(self, depth: int) -> None:
        """The number of keys waiting to be handed out changed."""

    def on_queue_latency(self, seconds: float) -> None:
        """A key waited ``seconds`` between being queued and handed to a worker."""

    def on_work_duration(self, seconds: float) -> None:
        """A worker held a key for ``seconds`` (from ``get`` to ``done``)."""

    def on_retry(self) -> None:
        """A key was re-added with backoff (``add_rate_limited``)."""


class NullObserver:
    """The default observer: records nothing."""

    def on_add(self) -> None:
        return None

    def on_depth(self, depth: int) -> None:
        return None

    def on_queue_latency(self, seconds: float) -> None:
        return None

    def on_work_duration(self, seconds: float) -> None:
        return None

    def on_retry(self) -> None:
        return None


class WorkQueue(Generic[K]):
    """Keys to reconcile, handed to workers one at a time per key."""

    def __init__(
        self,
        *,
        base_delay: float = 0.5,
        max_delay: float = 300.0,
        jitter: float = 0.0,
        due_streak: int = 8,
        observer: QueueObserver | None = None,
    ) -> None:
        if base_delay <= 0 or max_delay < base_delay:
            raise ValueError("need 0 < base_delay <= max_delay")
        if not 0.0 <= jitter <= 1.0:
            raise ValueError("need 0 <= jitter <= 1")
        if due_streak < 1:
            raise ValueError("need due_streak >= 1")
        self.due_streak = due_streak
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.jitter = jitter
        self._observer: QueueObserver = observer or NullObserver()
        self._queue: deque[K] = deque()  # keys added for the first time, or again
        self._due_lane: deque[K] = deque()  # keys whose delay came due: served first
        self._due_keys: set[K] = set()  # queued or pending keys that belong in _due_lane
        self._streak = 0  # due keys handed out in a row while new keys waited
        self._dirty: set[K] = set()
        self._processing: dict[K, float] = {}  # key -> time handed out
        self._queued_at: dict[K, float] = {}
        self._getters: deque[asyncio.Future[K]] = deque()
        self._failures: dict[K, int] = {}
        self._due: dict[K, float] = {}
        self._heap: list[tuple[float, int, K]] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._shutting_down = False

    # -- state ------------------------------------------------------------

    def __len__(self) -> int:
        """Keys waiting to be handed out (not counting delayed or in-progress keys)."""
        return len(self._queue) + len(self._due_lane)

    # -- adding -----------------------------------------------------------

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _clock(self) -> float:
        try:
            return self._now()
        except RuntimeError:
            return 0.0

    def add(self, key: K) -> None:
        """Queue ``key`` now (deduplicated; deferred to ``done`` if it is being processed)."""
        self._add(key, due=False)

    def _add(self, key: K, *, due: bool) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._observer.on_add()  # after de-duplication, as client-go counts adds
        self._dirty.add(key)
        if due:
            self._due_keys.add(key)
        if key in self._processing:
            return
        self._enqueue(key)

    def _enqueue(self, key: K) -> None:
        self._queued_at[key] = self._clock()
        (self._due_lane if key in self._due_keys else self._queue).append(key)
        self._dispatch()
        self._observer.on_depth(len(self))

    def add_after(self, key: K, delay: float) -> None:
        """Queue ``key`` after ``delay`` seconds; an earlier pending due time wins."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        due = self._now() + delay
        current = self._due.get(key)
        if current is not None and current <= due:
            return
        self._due[key] = due
        heapq.heappush(self._heap, (due, next(self._seq), key))
        self._arm_timer()

    def backoff_delay(self, key: K) -> float:
        """The delay the next ``add_rate_limited(key)`` would use."""
        exponent = self._failures.get(key, 0)
        if exponent >= 64:
            return self.max_delay
        return min(self.base_delay * (2.0**exponent), self.max_delay)

    def add_rate_limited(self, key: K) -> float:
        """Queue ``key`` after its per-key exponential backoff; return the delay used."""
        delay = self.backoff_delay(key)
        if self.jitter:
            delay *= 1.0 - self.jitter * random.random()
        self._failures[key] = self._failures.get(key, 0) + 1
        self._observer.on_retry()
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        """Reset ``key``'s backoff (after a success or a deliberate requeue_after)."""
        self._failures.pop(key, None)

    # -- timer for delayed keys ---------------------------------------------

    def _arm_timer(self) -> None:
        while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)  # stale entry: superseded or already fired
        if not self._heap:
            self._cancel_timer()
            return
        when = self._heap[0][0]
        if self._timer is not None and self._timer_at is not None and self._timer_at <= when:
            return
        self._cancel_timer()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_at(when, self._fire)
        self._timer_at = when

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        now = self._now()
        while self._heap and self._heap[0][0] <= now:
            due, _, key = heapq.heappop(self._heap)
            if self._due.get(key) == due:
                del self._due[key]
                self._add(key, due=True)
        if self._heap and not self._shutting_down:
            self._arm_timer()

    # -- handing out ----------------------------------------------------------

    def _pop(self) -> K:
        """The next key: a due one first, unless ``due_streak`` went ahead of waiting new keys."""
        if self._due_lane and (not self._queue or self._streak < self.due_streak):
            self._streak = self._streak + 1 if self._queue else 0
            key = self._due_lane.popleft()
            self._due_keys.discard(key)
            return key
        self._streak = 0
        return self._queue.popleft()

    def _hand_out(self, key: K) -> None:
        self._dirty.discard(key)
        now = self._clock()
        self._processing[key] = now
        queued = self._queued_at.pop(key, None)
        if queued is not None:
            self._observer.on_queue_latency(max(now - queued, 0.0))

    def _dispatch(self) -> None:
        while len(self) and self._getters:
            getter = self._getters.popleft()
            if getter.done():
                continue
            key = self._pop()
            self._hand_out(key)
            getter.set_result(key)

    def _give_back(self, key: K) -> None:
        """A getter was cancelled after ``key`` was handed to it: put the key back in front."""
        self._processing.pop(key, None)
        if self._shutting_down:
            self._dirty.discard(key)
            return
        self._dirty.add(key)
        self._queued_at[key] = self._clock()
        self._due_keys.add(key)  # it was handed out already: it goes first again
        self._due_lane.appendleft(key)
        self._dispatch()

    async def get(self) -> K:
        """Wait for a key; the caller must call ``done(key)`` when finished with it."""
        if self._shutting_down:
            raise QueueShutDown
        if len(self) and not self._getters:
            key = self._pop()
            self._hand_out(key)
            self._observer.on_depth(len(self))
            return key
        fut: asyncio.Future[K] = asyncio.get_running_loop().create_future()
        self._getters.append(fut)
        self._dispatch()
        try:
            key = await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self._give_back(fut.result())
            raise
        self._observer.on_depth(len(self))
        return key

    def done(self, key: K) -> None:
        """The worker finished ``key``; re-queue it if it was added meanwhile."""
        started = self._processing.pop(key, None)
        if started is None:
            return
        self._observer.on_work_duration(max(self._clock() - started, 0.0))
        if key in self._dirty and not self._shutting_down:
            self._enqueue(key)

    def shutdown(self) -> None:
        """Stop: ignore adds, drop delayed keys, make every ``get`` raise QueueShutDown."""
        self._shutting_down = True
        self._cancel_timer()
        self._due.clear()
        self._heap.clear()
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_exception(QueueShutDown())
