"""Every Prometheus metric of the controller, defined in one place.

Names follow controller-runtime where a metric exists there (reconcile and
workqueue metrics), so existing dashboards keep working. Labels have bounded
cardinality: controller names, operations, result codes, issuer identities.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Info

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

RECONCILE_TOTAL = Counter(
    "controller_runtime_reconcile_total",
    "Reconciliations per controller and result.",
    ["controller", "result"],
)
RECONCILE_ERRORS = Counter(
    "controller_runtime_reconcile_errors_total",
    "Reconciliations that raised, per controller.",
    ["controller"],
)
RECONCILE_TIME = Histogram(
    "controller_runtime_reconcile_time_seconds",
    "Time per reconciliation.",
    ["controller"],
    buckets=_BUCKETS,
)
ACTIVE_WORKERS = Gauge(
    "controller_runtime_active_workers", "Workers busy reconciling.", ["controller"]
)

WORKQUEUE_DEPTH = Gauge("workqueue_depth", "Keys waiting in the queue.", ["name"])
WORKQUEUE_ADDS = Counter("workqueue_adds_total", "Keys added to the queue.", ["name"])
WORKQUEUE_RETRIES = Counter("workqueue_retries_total", "Rate-limited re-adds.", ["name"])
WORKQUEUE_QUEUE_DURATION = Histogram(
    "workqueue_queue_duration_seconds",
    "Time a key waits in the queue.",
    ["name"],
    buckets=_BUCKETS,
)
WORKQUEUE_WORK_DURATION = Histogram(
    "workqueue_work_duration_seconds", "Time a key is processed.", ["name"], buckets=_BUCKETS
)

PCA_CALLS = Counter(
    "awspca_issuer_pca_api_calls_total",
    "AWS Private CA API calls by operation and result code (OK or the AWS error code).",
    ["operation", "code"],
)
PCA_LATENCY = Histogram(
    "awspca_issuer_pca_api_duration_seconds",
    "Latency of AWS Private CA API calls.",
    ["operation"],
    buckets=_BUCKETS,
)
PCA_RATE_LIMIT_WAIT = Histogram(
    "awspca_issuer_pca_rate_limiter_wait_seconds",
    "Time spent waiting for the client-side PCA rate limiter.",
    ["operation"],
    buckets=_BUCKETS,
)
REQUESTS = Counter(
    "awspca_issuer_certificaterequests_total",
    "CertificateRequest reconcile outcomes (issued, failed, denied, pending, retry).",
    ["issuer_kind", "outcome"],
)
ISSUER_READY = Gauge(
    "awspca_issuer_issuer_ready",
    "1 when the issuer is Ready, else 0.",
    ["kind", "namespace", "name"],
)
LEADER = Gauge("awspca_issuer_leader", "1 while this replica holds the leader Lease.")
BUILD_INFO = Info("awspca_issuer_build", "Build information.")


class QueueMetrics:
    """A workqueue observer that records controller-runtime's workqueue metrics."""

    def __init__(self, name: str) -> None:
        self.name = name
        WORKQUEUE_DEPTH.labels(name).set(0)
        WORKQUEUE_ADDS.labels(name)
        WORKQUEUE_RETRIES.labels(name)

    def on_add(self) -> None:
        WORKQUEUE_ADDS.labels(self.name).inc()

    def on_depth(self, depth: int) -> None:
        WORKQUEUE_DEPTH.labels(self.name).set(depth)

    def on_queue_latency(self, seconds: float) -> None:
        WORKQUEUE_QUEUE_DURATION.labels(self.name).observe(seconds)

    def on_work_duration(self, seconds: float) -> None:
        WORKQUEUE_WORK_DURATION.labels(self.name).observe(seconds)

    def on_retry(self) -> None:
        WORKQUEUE_RETRIES.labels(self.name).inc()


TIME_TO_READY = Histogram(
    "awspca_issuer_certificaterequest_ready_seconds",
    "Time from CertificateRequest creation to Ready=True (Issued).",
    ["issuer_kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
)
