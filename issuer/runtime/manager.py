"""The manager: runs the parts of one controller process and shuts them down in order.

Every replica serves metrics and probes (the probe listener is already up
when the manager starts: it adds its readiness checks and /metrics to it). With leader election, only the
replica holding the Lease runs informers and controllers; losing the Lease
stops the process (exit code 1, as controller-runtime does) so that it never
reconciles without being leader. On SIGTERM/SIGINT: controllers drain their
current reconciles, informers stop, the Lease is released, servers close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from issuer.kube.client import KubeClient
from issuer.kube.events import EventRecorder
from issuer.kube.informer import Informer
from issuer.kube.leaderelection import LeaderElector
from issuer.observability import metrics
from issuer.observability.server import HealthChecks, Servers

log = logging.getLogger(__name__)

API_PROBE_INTERVAL = 5.0
API_UNREACHABLE_AFTER = 30.0


class Runnable(Protocol):
    name: str

    async def run(self, stop: asyncio.Event) -> None: ...


@dataclass
class Parts:
    informers: Sequence[Informer]
    controllers: Sequence[Runnable]
    events: EventRecorder | None = None


class Manager:
    def __init__(
        self,
        client: KubeClient,
        parts: Parts,
        servers: Servers,
        checks: HealthChecks,
        elector: LeaderElector | None,
    ) -> None:
        self.client = client
        self.parts = parts
        self.servers = servers
        self.checks = checks
        self.elector = elector
        self.stop = asyncio.Event()
        self._api_ok_at = 0.0
        self.exit_code = 0

    def _register_checks(self) -> None:
        loop = asyncio.get_running_loop()
        self.checks.liveness["ping"] = lambda: None

        def api() -> str | None:
            since = loop.time() - self._api_ok_at
            if since > API_UNREACHABLE_AFTER:
                return f"API server unreachable for {since:.0f}s"
            return None

        def synced() -> str | None:
            if self.elector is not None and not self.elector.is_leader.is_set():
                return None  # a standby replica is ready to take over
            waiting = [i.name for i in self.parts.informers if not i.synced.is_set()]
            return f"informers not synced: {', '.join(waiting)}" if waiting else None

        self.checks.readiness["apiserver"] = api
        self.checks.readiness["informers"] = synced
        self.checks.started()

    async def _probe_api(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self.client.request("GET", "/readyz", timeout=API_PROBE_INTERVAL)
                self._api_ok_at = loop.time()
            except Exception as e:  # noqa: BLE001 - any failure means "not reachable"
                log.debug("API server probe failed", extra={"error": repr(e)})
            await asyncio.sleep(API_PROBE_INTERVAL)

    async def run(self) -> int:
        self._register_checks()
        self._api_ok_at = asyncio.get_running_loop().time()
        await self.servers.start()
        probe = asyncio.create_task(self._probe_api(), name="api-probe")
        try:
            if self.elector is not None:
                acquire = asyncio.create_task(self.elector.acquire())
                stopper = asyncio.create_task(self.stop.wait())
                await asyncio.wait({acquire, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not acquire.done():
                    acquire.cancel()
                    return self.exit_code
            await self._lead()
        finally:
            probe.cancel()
            await self.servers.stop()
        return self.exit_code

    async def _lead(self) -> None:
        metrics.LEADER.set(1)
        informer_tasks = [
            asyncio.create_task(i.run(), name=f"informer-{i.name}") for i in self.parts.informers
        ]
        hold: asyncio.Task[None] | None = None
        if self.elector is not None:
            hold = asyncio.create_task(self.elector.hold(), name="lease-renew")
            hold.add_done_callback(lambda _: self._lost())
        # Start reconciling once every cache is filled (or we are told to stop);
        # until then a reconcile would see a partial world.
        synced = asyncio.create_task(self._all_synced())
        stopping = asyncio.create_task(self.stop.wait())
        await asyncio.wait({synced, stopping}, return_when=asyncio.FIRST_COMPLETED)
        synced.cancel()
        stopping.cancel()
        ctrl_stop = asyncio.Event()
        controller_tasks = [
            asyncio.create_task(c.run(ctrl_stop), name=f"controller-{c.name}")
            for c in self.parts.controllers
        ]
        await self.stop.wait()
        log.info("shutting down: draining controllers")
        ctrl_stop.set()
        await asyncio.gather(*controller_tasks, return_exceptions=True)
        for t in informer_tasks:
            t.cancel()
        await asyncio.gather(*informer_tasks, return_exceptions=True)
        if self.parts.events is not None:
            await self.parts.events.drain()
            await self.parts.events.client.close()
        if hold is not None:
            hold.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await hold
        if self.elector is not None and not self.elector.lost.is_set():
            await self.elector.release()
        metrics.LEADER.set(0)

    async def _all_synced(self) -> None:
        for i in self.parts.informers:
            await i.synced.wait()
        log.info("caches synced", extra={"informers": [i.name for i in self.parts.informers]})

    def _lost(self) -> None:
        if self.elector is not None and self.elector.lost.is_set():
            log.error("leadership lost: stopping")
            self.exit_code = 1
            self.stop.set()
