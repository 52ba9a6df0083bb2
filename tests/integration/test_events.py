"""EventRecorder against the real API server: distinct Events sent, a burst bounded."""

from __future__ import annotations

import uuid

from awspca_devstack import ControlPlane, KubeClient
from prometheus_client.core import REGISTRY

from issuer.api.names import events_path
from issuer.kube.client import KubeClient as AsyncKube
from issuer.kube.events import EventRecorder


def _lost(cause: str) -> float:
    value = REGISTRY.get_sample_value("awspca_issuer_events_lost_total", {"cause": cause})
    return value or 0.0


def _ref(namespace: str, name: str) -> dict[str, str]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "CertificateRequest",
        "namespace": namespace,
        "name": name,
        "uid": str(uuid.uuid4()),
    }


async def test_a_burst_of_events_is_bounded_and_the_rest_is_sent(
    control_plane: ControlPlane,
    kube: KubeClient,
    akube: AsyncKube,
    namespace: str,
) -> None:
    """More Events at once than the queue holds: the excess is dropped, the rest written."""
    recorder = EventRecorder(akube, "events-test", max_inflight=2, max_queued=5)
    full_before, failed_before = _lost("queue_full"), _lost("write_failed")
    accepted = [
        recorder.event(_ref(namespace, f"req-{i}"), "Normal", "Issued", f"certificate {i}")
        for i in range(50)
    ]
    # event() never yields: nothing was sent yet, so the queue took 5 and dropped 45
    assert accepted.count(True) == 5
    assert recorder.dropped == 45
    await recorder.drain(timeout=30)
    listed = kube.get(events_path(namespace))["items"]
    ours = sorted(
        e["involvedObject"]["name"] for e in listed if e["source"]["component"] == "events-test"
    )
    assert ours == [f"req-{i}" for i in range(5)]
    # once the queue has room again, Events are accepted again
    assert recorder.event(_ref(namespace, "later"), "Normal", "Issued", "certificate later")
    await recorder.drain(timeout=30)
    assert recorder.dropped == 45
    assert _lost("queue_full") - full_before == 45
    assert _lost("write_failed") == failed_before
    # an Event the API server refuses (its namespace does not exist) is counted too
    assert recorder.event(_ref(f"gone-{uuid.uuid4().hex[:6]}", "r"), "Normal", "Issued", "x")
    await recorder.drain(timeout=30)
    assert _lost("write_failed") - failed_before == 1
