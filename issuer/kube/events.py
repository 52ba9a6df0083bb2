"""Kubernetes Events with distinct reasons, without one Event per poll.

An identical (object, type, reason, message) within ``dedup_seconds`` is not
sent again; a different reason or message always is. Sending is fire and
forget: Events wait in a queue of at most ``max_queued`` (client-go's
broadcaster keeps 1,000 too) served by at most ``max_inflight`` sender tasks;
an Event that finds the queue full is dropped and counted (the
``awspca_issuer_events_lost_total`` metric, with Events the API server did not
take), as client-go drops it, so a burst of thousands of requests cannot pile up Events in memory
faster than the API server takes them. An Event that cannot be written is
logged, never an error of the reconcile that asked for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

from issuer.api.names import events_path
from issuer.kube.client import KubeClient
from issuer.observability import metrics
from issuer.observability.redaction import redact

log = logging.getLogger(__name__)

MAX_MESSAGE = 1024


class EventRecorder:
    def __init__(
        self,
        client: KubeClient,
        component: str,
        *,
        dedup_seconds: float = 600.0,
        max_inflight: int = 16,
        max_queued: int = 1000,
    ) -> None:
        self.client = client
        self.component = component
        self.dedup_seconds = dedup_seconds
        self.max_inflight = max_inflight
        self.max_queued = max_queued
        self.dropped = 0  # Events dropped because the queue was full
        self._last: dict[str, tuple[str, float]] = {}
        self._queue: deque[tuple[dict[str, Any], str, str, str]] = deque()
        self._tasks: set[asyncio.Task[None]] = set()

    def event(self, obj_ref: dict[str, Any], event_type: str, reason: str, message: str) -> bool:
        """Record an Event about ``obj_ref`` (apiVersion, kind, namespace, name, uid).

        Returns False when it was suppressed as a repeat or dropped (queue full).
        """
        message = redact(message)[:MAX_MESSAGE]
        uid = str(obj_ref.get("uid") or f"{obj_ref.get('namespace')}/{obj_ref.get('name')}")
        signature = f"{event_type}|{reason}|{message}"
        now = time.monotonic()
        prev = self._last.get(uid)
        if prev is not None and prev[0] == signature and now - prev[1] < self.dedup_seconds:
            return False
        self._last[uid] = (signature, now)
        if len(self._last) > 50_000:  # bounded memory: forget the oldest half
            for k in list(self._last)[:25_000]:
                del self._last[k]
        if len(self._queue) >= self.max_queued:
            self.dropped += 1
            metrics.EVENTS_LOST.labels("queue_full").inc()
            if self.dropped % self.max_queued == 1:  # the first, then one line per max_queued
                log.warning(
                    "event queue full; events dropped",
                    extra={"reason": reason, "dropped": self.dropped, "queued": len(self._queue)},
                )
            return False
        self._queue.append((obj_ref, event_type, reason, message))
        if len(self._tasks) < self.max_inflight:
            task = asyncio.get_running_loop().create_task(self._sender())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return True

    async def _sender(self) -> None:
        """Send queued Events until the queue is empty."""
        while self._queue:
            await self._send(*self._queue.popleft())

    async def _send(self, ref: dict[str, Any], event_type: str, reason: str, message: str) -> None:
        ns = ref.get("namespace") or "default"
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{ref.get('name')}.{uuid.uuid4().hex[:12]}",
                "namespace": ns,
            },
            "involvedObject": {
                k: ref[k]
                for k in ("apiVersion", "kind", "namespace", "name", "uid", "resourceVersion")
                if ref.get(k)
            },
            "type": event_type,
            "reason": reason,
            "message": message,
            "source": {"component": self.component},
            "reportingComponent": self.component,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            await self.client.create(events_path(ns), body)
        except Exception as e:  # noqa: BLE001 - an Event is best effort by design
            metrics.EVENTS_LOST.labels("write_failed").inc()
            log.warning("event not recorded", extra={"reason": reason, "error": str(e)})

    async def drain(self, timeout: float = 5.0) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
