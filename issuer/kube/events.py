"""Kubernetes Events with distinct reasons, without one Event per poll.

An identical (object, type, reason, message) within ``dedup_seconds`` is not
sent again; a different reason or message always is. Sending is fire and
forget on a bounded number of tasks: an Event that cannot be written is
logged, never an error of the reconcile that asked for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from issuer.api.names import events_path
from issuer.kube.client import KubeClient
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
    ) -> None:
        self.client = client
        self.component = component
        self.dedup_seconds = dedup_seconds
        self._last: dict[str, tuple[str, float]] = {}
        self._sem = asyncio.Semaphore(max_inflight)
        self._tasks: set[asyncio.Task[None]] = set()

    def event(self, obj_ref: dict[str, Any], event_type: str, reason: str, message: str) -> bool:
        """Record an Event about ``obj_ref`` (apiVersion, kind, namespace, name, uid).

        Returns False when it was suppressed as a repeat.
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
        task = asyncio.get_running_loop().create_task(
            self._send(obj_ref, event_type, reason, message)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

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
        async with self._sem:
            try:
                await self.client.create(events_path(ns), body)
            except Exception as e:  # noqa: BLE001 - an Event is best effort by design
                log.warning("event not recorded", extra={"reason": reason, "error": str(e)})

    async def drain(self, timeout: float = 5.0) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
