"""Leader election against the real API server when the holder's clock is skewed (issue 11 item 5).

The other holder's ``renewTime`` is written an hour behind or ahead of this
machine's clock. Expiry must be judged from when this replica saw the Lease
change, as client-go does: a holder that keeps renewing is never overthrown,
whatever its clock says, and a holder that stopped renewing loses the Lease
one lease duration later, whatever its clock said.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from awspca_devstack import ControlPlane

from issuer.kube.client import KubeClient
from issuer.kube.config import from_kubeconfig
from issuer.kube.leaderelection import LeaderElector

DURATION = 2.0


def _stamp(skew: timedelta) -> str:
    return (datetime.now(UTC) + skew).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@contextlib.asynccontextmanager
async def _client(cp: ControlPlane) -> AsyncIterator[KubeClient]:
    client = KubeClient(await from_kubeconfig(str(cp.kubeconfig)), qps=None)
    try:
        yield client
    finally:
        await client.close()


async def _other_holds(client: KubeClient, ns: str, name: str, skew: timedelta) -> None:
    path = f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"
    await client.create(
        path,
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "holderIdentity": "other",
                "leaseDurationSeconds": int(DURATION),
                "acquireTime": _stamp(skew),
                "renewTime": _stamp(skew),
                "leaseTransitions": 0,
            },
        },
    )


async def _renew(client: KubeClient, ns: str, name: str, skew: timedelta) -> None:
    path = f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}"
    lease = await client.get(path)
    lease["spec"]["renewTime"] = _stamp(skew)
    await client.update(path, lease)


async def _elector(client: KubeClient, ns: str, name: str) -> LeaderElector:
    return LeaderElector(
        client,
        ns,
        name,
        identity="me",
        lease_duration=DURATION,
        renew_deadline=1.5,
        retry_period=0.2,
    )


async def test_a_renewing_holder_with_a_slow_clock_keeps_the_lease(
    control_plane: ControlPlane,
) -> None:
    ns = control_plane.new_namespace("lease-slow")
    skew = timedelta(hours=-1)  # its renewTime always looks an hour old here
    async with _client(control_plane) as client:
        await _other_holds(client, ns, "l", skew)
        elector = await _elector(client, ns, "l")
        acquire = asyncio.create_task(elector.acquire())
        try:
            for _ in range(int(3 * DURATION / 0.4)):  # well past one lease duration
                await _renew(client, ns, "l", skew)
                await asyncio.sleep(0.4)
                assert not elector.is_leader.is_set(), "took a Lease its holder keeps renewing"
            # The holder stops renewing: the Lease is ours one duration later.
            await asyncio.wait_for(acquire, timeout=DURATION + 10)
        finally:
            acquire.cancel()
        assert elector.is_leader.is_set()


async def test_a_dead_holder_with_a_fast_clock_loses_the_lease(control_plane: ControlPlane) -> None:
    ns = control_plane.new_namespace("lease-fast")
    async with _client(control_plane) as client:
        # Its last renewTime is an hour ahead: comparing clocks would wait an hour.
        await _other_holds(client, ns, "l", timedelta(hours=1))
        elector = await _elector(client, ns, "l")
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.wait_for(elector.acquire(), timeout=DURATION + 10)
        waited = loop.time() - start
        assert waited >= DURATION  # it waited one lease duration from its own observation
        lease = await client.get(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/l")
        assert lease["spec"]["holderIdentity"] == "me"
        assert lease["spec"]["leaseTransitions"] == 1
