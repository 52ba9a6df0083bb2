"""Every Prometheus metric of the controller, defined in one place.

Names follow controller-runtime where a metric exists there (reconcile and
workqueue metrics), so existing dashboards keep working. Labels have bounded
cardinality: controller names, PCA operations, AWS result codes (a fixed set
per service model), classification reasons, issuer identities and CA ARNs (one
series per issuer / CA in the cluster, removed when the issuer is deleted or
moves to another CA). Tenants cannot mint series: a request is counted under
its issuer only once the issuer reconciler has seen that issuer exist (a
request naming a missing issuer adds no series), and every label value that
comes from an object is length-bounded.
Series whose label values are known in advance exist at zero from the start
(import time, controller/queue construction, or the first reconcile of an
issuer), so ``rate()``/``increase()`` see the first event.

The README's "Monitoring" section lists every metric; tests/unit/test_metrics.py
keeps the two in sync.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import OrderedDict
from collections.abc import Iterator

from prometheus_client import Counter, Gauge, Histogram, Info, disable_created_metrics
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

# controller-runtime (Go client) exposes no *_created series; neither do we.
disable_created_metrics()  # type: ignore[no-untyped-call]

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
_LONG_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)

#: The two issuer kinds (strings, not imported: this module imports nothing of the controller).
ISSUER_KINDS = ("AWSPCAIssuer", "AWSPCAClusterIssuer")
CLUSTER_ISSUER_KIND = "AWSPCAClusterIssuer"
#: PCA operations the controller calls.
PCA_OPERATIONS = ("DescribeCertificateAuthority", "IssueCertificate", "GetCertificate")
#: CertificateRequest outcomes of one reconcile.
OUTCOMES = ("issued", "failed", "denied", "pending", "retry")
_WAITING = frozenset({"pending", "retry"})
#: Reasons of retryable PCA errors (issuer.signer.classify).
RETRY_REASONS = ("Throttled", "QuotaExceeded", "AWSUnavailable", "NetworkError", "UnknownAWSError")
#: Why a Kubernetes Event was lost (issuer.kube.events).
EVENT_LOSS_CAUSES = ("queue_full", "write_failed")
#: controller-runtime's reconcile results.
RECONCILE_RESULTS = ("success", "error", "requeue", "requeue_after")

# --- controller-runtime: reconciles -----------------------------------------------

RECONCILE_TOTAL = Counter(
    "controller_runtime_reconcile_total",
    "Reconciliations per controller and result (success, error, requeue, requeue_after).",
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
MAX_CONCURRENT_RECONCILES = Gauge(
    "controller_runtime_max_concurrent_reconciles",
    "Workers of the controller (the most reconciles it runs at once).",
    ["controller"],
)

# --- controller-runtime: workqueue (labels name and controller, both the queue's name) --

_WQ_LABELS = ["name", "controller"]
WORKQUEUE_DEPTH = Gauge("workqueue_depth", "Keys waiting in the queue.", _WQ_LABELS)
WORKQUEUE_ADDS = Counter("workqueue_adds_total", "Keys added to the queue.", _WQ_LABELS)
WORKQUEUE_RETRIES = Counter(
    "workqueue_retries_total", "Keys re-added with per-key backoff.", _WQ_LABELS
)
WORKQUEUE_QUEUE_DURATION = Histogram(
    "workqueue_queue_duration_seconds",
    "Time a key waits in the queue before a worker takes it.",
    _WQ_LABELS,
    buckets=_BUCKETS,
)
WORKQUEUE_WORK_DURATION = Histogram(
    "workqueue_work_duration_seconds",
    "Time a worker holds a key.",
    _WQ_LABELS,
    buckets=_BUCKETS,
)

# --- AWS Private CA API ------------------------------------------------------------

PCA_CALLS = Counter(
    "awspca_issuer_pca_api_calls_total",
    "AWS Private CA API calls by operation and result code (OK or the AWS error code).",
    ["operation", "code"],
)
PCA_LATENCY = Histogram(
    "awspca_issuer_pca_api_duration_seconds",
    "Latency of AWS Private CA API calls (any result).",
    ["operation"],
    buckets=_BUCKETS,
)
PCA_THROTTLED = Counter(
    "awspca_issuer_pca_api_throttled_total",
    "AWS Private CA API calls the service throttled.",
    ["operation"],
)
PCA_RETRIES = Counter(
    "awspca_issuer_pca_api_retries_total",
    "AWS Private CA API calls that failed with a retryable error (retried with backoff).",
    ["operation", "reason"],
)
PCA_RATE_LIMIT_WAIT = Histogram(
    "awspca_issuer_pca_rate_limiter_wait_seconds",
    "Time spent waiting for the client-side PCA rate limiter (token bucket per CA).",
    ["operation"],
    buckets=(0, *_BUCKETS),
)

# --- Kubernetes Events -----------------------------------------------------------------

EVENTS_LOST = Counter(
    "awspca_issuer_events_lost_total",
    "Kubernetes Events not recorded, by cause: queue_full (1,000 already waiting, dropped "
    "as client-go drops them) or write_failed (the API server did not take it).",
    ["cause"],
)

# --- CertificateRequests -------------------------------------------------------------

_ISSUER_LABELS = ["issuer_kind", "issuer_namespace", "issuer_name"]
REQUESTS = Counter(
    "awspca_issuer_certificaterequests_total",
    "CertificateRequest reconcile outcomes per issuer: issued, failed, denied (once per "
    "request), pending (certificate not ready yet), retry (retryable error, backing off).",
    [*_ISSUER_LABELS, "outcome"],
)
TIME_TO_READY = Histogram(
    "awspca_issuer_certificaterequest_ready_seconds",
    "Time from CertificateRequest creation to Ready=True (Issued).",
    ["issuer_kind"],
    buckets=_LONG_BUCKETS,
)
ISSUANCE_TIME = Histogram(
    "awspca_issuer_certificate_issuance_seconds",
    "Time from a successful IssueCertificate to the certificate being available "
    "(GetCertificate returned it), as seen by this process.",
    ["issuer_kind"],
    buckets=_LONG_BUCKETS,
)

# --- issuers, CAs, process -----------------------------------------------------------

ISSUER_READY = Gauge(
    "awspca_issuer_issuer_ready",
    "1 when the issuer is Ready, else 0 (its Ready condition, as this replica last saw it).",
    _ISSUER_LABELS,
)
CA_NOT_AFTER = Gauge(
    "awspca_issuer_ca_not_after_timestamp_seconds",
    "NotAfter of the CA certificate (Unix seconds), from DescribeCertificateAuthority.",
    ["ca_arn"],
)
LEADER = Gauge("awspca_issuer_leader", "1 while this replica is the leader (runs controllers).")
BUILD_INFO = Info("awspca_issuer_build", "Build information.")

# --- helpers ---------------------------------------------------------------------------

_CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,63}$")


def normalize_code(code: str) -> str:
    """An AWS error code or exception class name as a label value (bounded, well-formed)."""
    return code if _CODE_RE.match(code) else "Unknown"


def pca_call(operation: str, code: str, seconds: float, *, throttled: bool = False) -> None:
    """Record one PCA API call: its result code (``OK`` or the AWS code) and latency.

    ``throttled`` is the caller's classification (issuer.signer.classify is the
    one table of throttling codes).
    """
    code = normalize_code(code)
    PCA_CALLS.labels(operation, code).inc()
    PCA_LATENCY.labels(operation).observe(seconds)
    if throttled:
        PCA_THROTTLED.labels(operation).inc()


def pca_retry(operation: str, reason: str) -> None:
    """A PCA call failed with a retryable error of ``reason`` (Throttled, AWSUnavailable...)."""
    PCA_RETRIES.labels(operation, reason).inc()


def init_controller(name: str, workers: int) -> None:
    """Create a controller's series at zero (controller-runtime does the same)."""
    for result in RECONCILE_RESULTS:
        RECONCILE_TOTAL.labels(name, result)
    RECONCILE_ERRORS.labels(name)
    RECONCILE_TIME.labels(name)
    ACTIVE_WORKERS.labels(name).set(0)
    MAX_CONCURRENT_RECONCILES.labels(name).set(workers)


#: Longest label values taken from objects: a DNS-1123 subdomain (names), a
#: label (namespaces), an ACM PCA ARN (the service model's maximum).
MAX_NAME_LABEL = 253
MAX_NAMESPACE_LABEL = 63
MAX_ARN_LABEL = 200


def _issuer_labels(kind: str, namespace: str, name: str) -> tuple[str, str, str]:
    kind = kind if kind in ISSUER_KINDS else "Unknown"
    namespace = "" if kind == CLUSTER_ISSUER_KIND else namespace[:MAX_NAMESPACE_LABEL]
    return (kind, namespace, name[:MAX_NAME_LABEL])


def init_issuer(kind: str, namespace: str, name: str) -> None:
    """The issuer exists: create its request series at zero (only issuers seen get series)."""
    labels = _issuer_labels(kind, namespace, name)
    for outcome in OUTCOMES:
        REQUESTS.labels(*labels, outcome)
    IN_PROGRESS.track_issuer(labels)


def forget_issuer(kind: str, namespace: str, name: str) -> None:
    """The issuer was deleted: drop its series (its Ready gauge would otherwise read 0)."""
    labels = _issuer_labels(kind, namespace, name)
    for outcome in OUTCOMES:
        _remove(REQUESTS, *labels, outcome)
    _remove(ISSUER_READY, *labels)
    IN_PROGRESS.untrack_issuer(labels)
    _CA_OF_ISSUER.release(labels)


def _remove(metric: Counter | Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        metric.remove(*labels)


class _CAOfIssuer:
    """Which CA ARN each issuer publishes, so a CA's series goes when no issuer uses it."""

    def __init__(self) -> None:
        self._arn: dict[tuple[str, str, str], str] = {}

    def use(self, issuer: tuple[str, str, str], ca_arn: str) -> None:
        previous = self._arn.get(issuer)
        self._arn[issuer] = ca_arn
        if previous is not None and previous != ca_arn:
            self._drop_if_unused(previous)

    def release(self, issuer: tuple[str, str, str]) -> None:
        previous = self._arn.pop(issuer, None)
        if previous is not None:
            self._drop_if_unused(previous)

    def _drop_if_unused(self, ca_arn: str) -> None:
        if ca_arn not in self._arn.values():
            _remove(CA_NOT_AFTER, ca_arn)


_CA_OF_ISSUER = _CAOfIssuer()


def issuer_uses_ca(kind: str, namespace: str, name: str, ca_arn: str) -> None:
    """The issuer's spec names ``ca_arn`` now: drop the CA it used before if no issuer uses it."""
    _CA_OF_ISSUER.use(_issuer_labels(kind, namespace, name), ca_arn[:MAX_ARN_LABEL])


def set_ca_not_after(kind: str, namespace: str, name: str, ca_arn: str, not_after: float) -> None:
    """Publish the NotAfter (Unix seconds) of the CA issuer ``kind/namespace/name`` uses.

    An issuer that moved to another CA stops publishing the old one: its series
    is removed once no issuer uses it. An ARN longer than the service allows is
    not published.
    """
    issuer_uses_ca(kind, namespace, name, ca_arn)
    if len(ca_arn) <= MAX_ARN_LABEL:
        CA_NOT_AFTER.labels(ca_arn).set(not_after)


def request_outcome(
    key: str,
    issuer_kind: str,
    namespace: str,
    issuer_name: str,
    outcome: str,
    *,
    created: float | None = None,
) -> None:
    """Count one reconcile outcome of request ``key`` (namespace/name).

    ``pending`` and ``retry`` mark the request as in progress since ``created``
    (Unix seconds); ``issued``, ``failed`` and ``denied`` end that. Only
    issuers that exist (``init_issuer``) are counted and exposed: the names a
    request's issuerRef carries are the tenant's, not ours to turn into series.
    """
    labels = _issuer_labels(issuer_kind, namespace, issuer_name)
    if labels in IN_PROGRESS.issuers:
        REQUESTS.labels(*labels, outcome).inc()
    if outcome in _WAITING:
        IN_PROGRESS.waiting(key, labels, time.time() if created is None else created)
    else:
        IN_PROGRESS.finished(key)


def request_gone(key: str) -> None:
    """Request ``key`` was deleted or needs nothing from us (terminal, unapproved, not ours)."""
    IN_PROGRESS.finished(key)


class _InProgress(Collector):
    """Requests we are still working on (pending or retrying), per issuer.

    Exposes ``awspca_issuer_certificaterequests_in_progress`` (how many) and
    ``awspca_issuer_certificaterequest_oldest_in_progress_seconds`` (age of the
    oldest, from its creation) for every existing issuer, zero when none.
    Requests waiting for an issuer that does not exist are tracked (they show
    once it appears) but not exposed. One entry per unfinished request:
    bounded by the requests in the cluster.
    """

    def __init__(self) -> None:
        self.issuers: set[tuple[str, str, str]] = set()
        self._items: dict[str, tuple[tuple[str, str, str], float]] = {}

    def track_issuer(self, labels: tuple[str, str, str]) -> None:
        self.issuers.add(labels)

    def untrack_issuer(self, labels: tuple[str, str, str]) -> None:
        self.issuers.discard(labels)

    def waiting(self, key: str, labels: tuple[str, str, str], created: float) -> None:
        self._items[key] = (labels, created)

    def finished(self, key: str) -> None:
        self._items.pop(key, None)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families({}, {})

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = time.time()
        count: dict[tuple[str, str, str], int] = dict.fromkeys(self.issuers, 0)
        oldest: dict[tuple[str, str, str], float] = dict.fromkeys(self.issuers, 0.0)
        for labels, created in list(self._items.values()):
            if labels not in count:
                continue
            count[labels] = count[labels] + 1
            oldest[labels] = max(oldest[labels], now - created)
        yield from self._families(count, oldest)

    @staticmethod
    def _families(
        count: dict[tuple[str, str, str], int], oldest: dict[tuple[str, str, str], float]
    ) -> Iterator[GaugeMetricFamily]:
        n = GaugeMetricFamily(
            "awspca_issuer_certificaterequests_in_progress",
            "CertificateRequests being worked on (pending or retrying), per issuer.",
            labels=_ISSUER_LABELS,
        )
        age = GaugeMetricFamily(
            "awspca_issuer_certificaterequest_oldest_in_progress_seconds",
            "Age (since creation) of the oldest CertificateRequest still in progress, per "
            "issuer; 0 when none.",
            labels=_ISSUER_LABELS,
        )
        for labels, value in sorted(count.items()):
            n.add_metric(list(labels), value)
            age.add_metric(list(labels), max(oldest.get(labels, 0.0), 0.0))
        yield n
        yield age


IN_PROGRESS = _InProgress()
REGISTRY.register(IN_PROGRESS)


class _IssuanceTimer:
    """IssueCertificate time per certificate ARN, until the certificate is available.

    In memory and bounded (oldest entries dropped first); a certificate whose
    IssueCertificate happened in another process (before a restart or a
    leader change) is simply not observed.
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._started: OrderedDict[str, float] = OrderedDict()

    def requested(self, certificate_arn: str) -> None:
        self._started[certificate_arn] = time.monotonic()
        self._started.move_to_end(certificate_arn)
        while len(self._started) > self.size:
            self._started.popitem(last=False)

    def available(self, certificate_arn: str, issuer_kind: str) -> None:
        started = self._started.pop(certificate_arn, None)
        if started is not None:
            ISSUANCE_TIME.labels(issuer_kind).observe(max(time.monotonic() - started, 0.0))

    def __len__(self) -> int:
        return len(self._started)


ISSUANCE_TIMER = _IssuanceTimer()


def certificate_requested(certificate_arn: str) -> None:
    """IssueCertificate returned ``certificate_arn``: start its issuance timer."""
    ISSUANCE_TIMER.requested(certificate_arn)


def certificate_available(certificate_arn: str, issuer_kind: str) -> None:
    """GetCertificate returned the certificate: observe the time since IssueCertificate."""
    ISSUANCE_TIMER.available(certificate_arn, issuer_kind)


class QueueMetrics:
    """A workqueue observer that records controller-runtime's workqueue metrics."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._labels = (name, name)
        WORKQUEUE_DEPTH.labels(*self._labels).set(0)
        WORKQUEUE_ADDS.labels(*self._labels)
        WORKQUEUE_RETRIES.labels(*self._labels)
        WORKQUEUE_QUEUE_DURATION.labels(*self._labels)
        WORKQUEUE_WORK_DURATION.labels(*self._labels)

    def on_add(self) -> None:
        WORKQUEUE_ADDS.labels(*self._labels).inc()

    def on_depth(self, depth: int) -> None:
        WORKQUEUE_DEPTH.labels(*self._labels).set(depth)

    def on_queue_latency(self, seconds: float) -> None:
        WORKQUEUE_QUEUE_DURATION.labels(*self._labels).observe(seconds)

    def on_work_duration(self, seconds: float) -> None:
        WORKQUEUE_WORK_DURATION.labels(*self._labels).observe(seconds)

    def on_retry(self) -> None:
        WORKQUEUE_RETRIES.labels(*self._labels).inc()


def _init_static() -> None:
    for op in PCA_OPERATIONS:
        PCA_CALLS.labels(op, "OK")
        PCA_CALLS.labels(op, "ThrottlingException")
        PCA_LATENCY.labels(op)
        PCA_THROTTLED.labels(op)
        PCA_RATE_LIMIT_WAIT.labels(op)
        for reason in RETRY_REASONS:
            PCA_RETRIES.labels(op, reason)
    PCA_CALLS.labels("GetCertificate", "RequestInProgressException")
    for cause in EVENT_LOSS_CAUSES:
        EVENTS_LOST.labels(cause)
    for kind in ISSUER_KINDS:
        TIME_TO_READY.labels(kind)
        ISSUANCE_TIME.labels(kind)
    LEADER.set(0)


_init_static()
