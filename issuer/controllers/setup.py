"""Wiring: informers, queues, reconcilers and controllers for one controller process."""

from __future__ import annotations

from issuer.api.certificaterequest import compact_projection, is_finished
from issuer.api.names import (
    CLUSTER_ISSUER_KIND,
    GROUP,
    ISSUER_KIND,
    PLURALS,
    issuers_path,
    requests_path,
)
from issuer.config import Config
from issuer.controllers.held import HeldObjects
from issuer.controllers.issuers import IssuerReconciler
from issuer.controllers.predicates import (
    JSON,
    issuer_needs_reconcile,
    issuer_projection,
    request_needs_reconcile,
)
from issuer.controllers.registry import IssuerRegistry, issuer_key
from issuer.controllers.requests import RequestReconciler
from issuer.kube.client import KubeClient
from issuer.kube.events import EventRecorder
from issuer.kube.informer import Informer, object_key
from issuer.kube.workqueue import WorkQueue
from issuer.observability.metrics import QueueMetrics
from issuer.runtime.controller import Controller
from issuer.runtime.manager import Parts
from issuer.signer.pca import PCAClients
from issuer.signer.ratelimit import RateLimiterRegistry

COMPONENT = "awspca-issuer"
EVENTS_QPS, EVENTS_BURST = 20.0, 50
# Events are posted at 20/s at most: two connections carry them (each ~0.3 MiB).
EVENTS_POOL = 2


def build(config: Config, client: KubeClient) -> tuple[Parts, PCAClients]:
    # Events get their own client and QPS budget: under load they queue behind
    # each other, never in front of the writes that issue certificates.
    events = EventRecorder(
        KubeClient(client.access, qps=EVENTS_QPS, burst=EVENTS_BURST, pool_size=EVENTS_POOL),
        COMPONENT,
    )
    clients = PCAClients(
        threads=config.aws_threads,
        limits=RateLimiterRegistry(config.pca_rate_limits),
    )
    # Jitter: requests throttled together must not retry together, wave after wave.
    request_queue: WorkQueue[str] = WorkQueue(
        jitter=0.5, observer=QueueMetrics("certificaterequest")
    )
    issuer_queue: WorkQueue[str] = WorkQueue(
        base_delay=1.0, max_delay=120.0, observer=QueueMetrics("issuer")
    )
    registry = IssuerRegistry(request_queue.add)
    registry.recheck_issuer = issuer_queue.add
    approval_check = not config.disable_approved_check

    held = HeldObjects()

    def project_request(obj: JSON) -> JSON:
        # The cache keeps the projection; an unfinished request of ours is also
        # held whole, so that its reconcile need not GET what the watch just said.
        key = object_key(obj)
        ref = (obj.get("spec") or {}).get("issuerRef") or {}
        if ref.get("group") == GROUP and not is_finished(obj):
            held.offer(key, obj)
        else:
            held.forget(key)
        return compact_projection(obj)

    requests = Informer(
        client,
        requests_path(),
        name="certificaterequests",
        project=project_request,
    )

    issuer_rec = IssuerReconciler(config, client, clients, registry, events)
    request_rec = RequestReconciler(config, client, registry, events, held)

    def on_request(kind: str, old: JSON | None, new: JSON | None) -> None:
        if kind == "DELETED" and old is not None:
            request_rec.forget_request(object_key(old))
            return
        if new is not None and request_needs_reconcile(old, new, approval_check=approval_check):
            request_queue.add(object_key(new))

    requests.add_handler(on_request)

    informers = [requests]
    for kind in (ISSUER_KIND, CLUSTER_ISSUER_KIND):
        inf = Informer(
            client,
            issuers_path(kind),
            name=PLURALS[kind],
            project=issuer_projection,
        )

        def on_issuer(event: str, old: JSON | None, new: JSON | None, kind: str = kind) -> None:
            obj = new if new is not None else old
            if obj is None:
                return
            md = obj.get("metadata", {})
            key = issuer_key(kind, md.get("namespace", ""), md.get("name", ""))
            if event != "DELETED":
                # Known from the cache on: a request never hears "not found" for it.
                registry.set_seen(key)
            if event == "DELETED" or issuer_needs_reconcile(old, new):
                issuer_queue.add(key)

        inf.add_handler(on_issuer)
        informers.append(inf)

    controllers = [
        Controller(
            "issuer", issuer_rec.reconcile, issuer_queue, workers=max(2, config.workers // 4)
        ),
        Controller(
            "certificaterequest", request_rec.reconcile, request_queue, workers=config.workers
        ),
    ]
    return Parts(informers=informers, controllers=controllers, events=events), clients
