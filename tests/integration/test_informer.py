"""The informer against the real API server: list, watch, bookmarks, reconnect, relist on 410."""

from __future__ import annotations

import asyncio
import contextlib

from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import make_csr

from issuer.api.certificaterequest import compact_projection
from issuer.kube.client import KubeClient as AsyncKube
from issuer.kube.informer import Informer
from tests import flows


async def _until(cond: object, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)


async def test_informer_follows_changes_across_apiserver_restarts(
    control_plane: ControlPlane, kube: KubeClient, akube: AsyncKube, namespace: str
) -> None:
    csr, _ = make_csr()
    flows.create_request(
        kube, namespace, "before", csr, issuer_kind="AWSPCAIssuer", issuer_name="x", approve=False
    )
    events: list[tuple[str, str]] = []
    inf = Informer(akube, flows.cr_path(namespace), name="crs", project=compact_projection)
    inf.add_handler(
        lambda kind, old, new: events.append((kind, str((new or old or {})["metadata"]["name"])))
    )
    task = asyncio.create_task(inf.run())
    try:
        await asyncio.wait_for(inf.synced.wait(), 20)
        assert ("ADDED", "before") in events
        cached = inf.get(f"{namespace}/before")
        assert cached is not None
        assert "request" not in cached.get("spec", {}), "the cache keeps no CSR bodies"

        flows.create_request(
            kube,
            namespace,
            "during",
            csr,
            issuer_kind="AWSPCAIssuer",
            issuer_name="x",
            approve=False,
        )
        await _until(lambda: ("ADDED", "during") in events)

        # The API server goes away and comes back: the informer reconnects by itself.
        await asyncio.to_thread(control_plane.restart_apiserver, 1.0)
        flows.create_request(
            kube,
            namespace,
            "after",
            csr,
            issuer_kind="AWSPCAIssuer",
            issuer_name="x",
            approve=False,
        )
        kube.delete(flows.cr_path(namespace, "before"))
        await _until(lambda: ("ADDED", "after") in events, timeout=60)
        await _until(lambda: ("DELETED", "before") in events, timeout=30)
        assert inf.get(f"{namespace}/before") is None

        # A resourceVersion the server no longer has: 410 Gone, then a full relist.
        # The restart breaks the watch; if the informer's re-watch lands while the
        # server still answers 503 (paths not installed yet), it relists for that
        # reason and drops the stale version before any 410: then try again.
        relists = inf.relists
        for _attempt in range(4):
            inf._rv = "1"
            await asyncio.to_thread(control_plane.restart_apiserver, 0.0)
            with contextlib.suppress(TimeoutError):
                await _until(lambda: inf.relists > relists or inf._rv != "1", timeout=60)
            if inf.relists > relists:
                break
        assert inf.relists > relists, "no 410 relist after four restarts with a stale version"
        flows.create_request(
            kube,
            namespace,
            "relisted",
            csr,
            issuer_kind="AWSPCAIssuer",
            issuer_name="x",
            approve=False,
        )
        await _until(lambda: ("ADDED", "relisted") in events, timeout=30)
        assert len(inf) == 3
        for name in ("after", "during", "relisted"):
            assert inf.get(f"{namespace}/{name}") is not None, name
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
