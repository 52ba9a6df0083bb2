"""Leader election on a coordination.k8s.io/v1 Lease, as client-go does it.

The candidate acquires the Lease when it is free, expired or already its own,
renews it every ``retry_period``, and gives leadership up when it cannot renew
within ``renew_deadline``. On shutdown the leader releases the Lease (empty
holder, 1 s duration) so a successor takes over at once.

Expiry is judged as client-go judges it: from the moment *this* replica last
saw the Lease record change (its own monotonic clock), plus the Lease's
duration; the holder's ``renewTime`` is never compared with the local wall
clock, so clock skew between nodes cannot make two leaders.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

from issuer.api.names import lease_path
from issuer.kube.client import ApiError, Conflict, KubeClient, NotFound

log = logging.getLogger(__name__)


def _now_micro() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_identity() -> str:
    return f"{socket.gethostname()}_{uuid.uuid4()}"


class LeaderElector:
    def __init__(
        self,
        client: KubeClient,
        namespace: str,
        name: str,
        *,
        identity: str | None = None,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
    ) -> None:
        self.client = client
        self.path = lease_path(namespace)
        self.lease_path = lease_path(namespace, name)
        self.namespace = namespace
        self.name = name
        self.identity = identity or default_identity()
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.is_leader = asyncio.Event()
        self.lost = asyncio.Event()
        self._lease: dict[str, Any] | None = None
        self._observed: str | None = None  # the Lease record last seen, as compared
        self._observed_at = 0.0  # when this replica saw it change (monotonic)

    @staticmethod
    def _clock() -> float:
        return asyncio.get_running_loop().time()

    def _observe(self, spec: dict[str, Any]) -> float:
        """Note the Lease record; return seconds since this replica saw it change."""
        record = repr(sorted(spec.items()))
        now = self._clock()
        if record != self._observed:
            self._observed, self._observed_at = record, now
        return now - self._observed_at

    def _spec(self, acquire_time: str | None, transitions: int) -> dict[str, Any]:
        now = _now_micro()
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.lease_duration),
            "acquireTime": acquire_time or now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    async def _try_acquire_or_renew(self) -> bool:
        try:
            lease = await self.client.get(self.lease_path)
        except NotFound:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": self._spec(None, 0),
            }
            try:
                self._lease = await self.client.create(self.path, body)
            except Conflict:
                return False
            return True
        spec = lease.get("spec", {})
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
        expired = self._observe(spec) > duration
        if holder and holder != self.identity and not expired:
            self._lease = lease
            return False
        transitions = int(spec.get("leaseTransitions") or 0)
        mine = holder == self.identity
        lease["spec"] = self._spec(
            spec.get("acquireTime") if mine else None, transitions if mine else transitions + 1
        )
        try:
            self._lease = await self.client.update(self.lease_path, lease)
        except Conflict:
            return False
        self._observe(self._lease.get("spec", {}))
        return True

    async def _attempt(self) -> bool:
        try:
            return await asyncio.wait_for(self._try_acquire_or_renew(), self.renew_deadline)
        except (ApiError, OSError, TimeoutError) as e:
            log.warning("lease attempt failed", extra={"lease": self.name, "error": str(e)})
            return False
        except Exception as e:  # noqa: BLE001 - whatever went wrong: retry
            log.warning("lease attempt failed", extra={"lease": self.name, "error": repr(e)})
            return False

    async def acquire(self) -> None:
        """Block until this candidate is the leader."""
        while not await self._attempt():
            await asyncio.sleep(self.retry_period)
        log.info("became leader", extra={"lease": self.name, "identity": self.identity})
        self.is_leader.set()

    async def hold(self) -> None:
        """Renew until renewal fails for ``renew_deadline``; then set ``lost`` and return."""
        last_ok = asyncio.get_running_loop().time()
        while True:
            await asyncio.sleep(self.retry_period)
            if await self._attempt():
                last_ok = asyncio.get_running_loop().time()
            elif asyncio.get_running_loop().time() - last_ok > self.renew_deadline:
                log.error("lost leadership", extra={"lease": self.name})
                self.is_leader.clear()
                self.lost.set()
                return

    async def release(self) -> None:
        if not self.is_leader.is_set() or self._lease is None:
            return
        lease = dict(self._lease)
        spec = dict(lease.get("spec", {}))
        spec.update({"holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": _now_micro()})
        lease["spec"] = spec
        try:
            await self.client.update(self.lease_path, lease)
            log.info("released lease", extra={"lease": self.name})
        except Exception as e:  # noqa: BLE001 - best effort on the way out
            log.warning("lease release failed", extra={"error": str(e)})
        self.is_leader.clear()
