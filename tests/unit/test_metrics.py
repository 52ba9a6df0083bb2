"""The metrics module: names, bounded labels, series at zero, the in-progress and issuance trackers.

The registry is process-global, so each test uses its own issuer names and
compares values before and after.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, generate_latest

from issuer.observability import metrics

README = Path(__file__).resolve().parents[2] / "README.md"
OURS = ("awspca_issuer_", "controller_runtime_", "workqueue_")
#: Every label name a metric of ours may carry: all have bounded values.
BOUNDED_LABELS = {
    "controller",
    "result",
    "name",
    "operation",
    "code",
    "reason",
    "issuer_kind",
    "issuer_namespace",
    "issuer_name",
    "outcome",
    "ca_arn",
    "version",
    "cause",
    "le",
}


def exposed() -> dict[str, str]:
    """Metric family name -> type, as Prometheus sees them."""
    text = generate_latest().decode()
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))


def value(metric: str, /, **labels: str) -> float:
    got = REGISTRY.get_sample_value(metric, labels)
    assert got is not None, f"no sample {metric} {labels}"
    return got


def monitoring_section() -> str:
    text = README.read_text()
    assert "\n## Monitoring" in text, "README has no '## Monitoring' section"
    section = text.split("\n## Monitoring", 1)[1]
    return section.split("\n## ", 1)[0]


def test_every_metric_of_ours_is_documented_in_the_readme() -> None:
    section = monitoring_section()
    ours = [n for n in exposed() if n.startswith(OURS)]
    assert len(ours) >= 20
    missing = [n for n in ours if f"`{n}`" not in section]
    assert not missing, f"README Monitoring section lacks {missing}"
    # ...and the README lists nothing that does not exist.
    listed = set(re.findall(r"`((?:awspca_issuer|controller_runtime|workqueue)_[a-z_]+)`", section))
    assert listed <= set(exposed()), listed - set(exposed())


def test_process_and_build_metrics_are_exposed() -> None:
    names = exposed()
    for n in ("process_resident_memory_bytes", "process_cpu_seconds_total", "python_info"):
        assert n in names
    assert names["awspca_issuer_build_info"] == "gauge"
    assert "_created" not in generate_latest().decode()


def test_labels_have_bounded_cardinality() -> None:
    for family in REGISTRY.collect():
        if not family.name.startswith(OURS):
            continue
        for sample in family.samples:
            assert set(sample.labels) <= BOUNDED_LABELS, (family.name, sample.labels)


def test_controller_runtime_names_and_labels() -> None:
    metrics.init_controller("unit-ctrl", 7)
    for result in ("success", "error", "requeue", "requeue_after"):
        assert (
            value("controller_runtime_reconcile_total", controller="unit-ctrl", result=result) == 0
        )
    assert value("controller_runtime_reconcile_errors_total", controller="unit-ctrl") == 0
    assert value("controller_runtime_active_workers", controller="unit-ctrl") == 0
    assert value("controller_runtime_max_concurrent_reconciles", controller="unit-ctrl") == 7
    assert value("controller_runtime_reconcile_time_seconds_count", controller="unit-ctrl") == 0


def test_queue_metrics_start_at_zero_and_count() -> None:
    q = metrics.QueueMetrics("unit-queue")
    labels = {"name": "unit-queue", "controller": "unit-queue"}
    assert value("workqueue_depth", **labels) == 0
    assert value("workqueue_adds_total", **labels) == 0
    assert value("workqueue_retries_total", **labels) == 0
    assert value("workqueue_queue_duration_seconds_count", **labels) == 0
    q.on_add()
    q.on_add()
    q.on_retry()
    q.on_depth(3)
    q.on_queue_latency(0.2)
    q.on_work_duration(0.4)
    assert value("workqueue_adds_total", **labels) == 2
    assert value("workqueue_retries_total", **labels) == 1
    assert value("workqueue_depth", **labels) == 3
    assert value("workqueue_queue_duration_seconds_sum", **labels) == pytest.approx(0.2)
    assert value("workqueue_work_duration_seconds_count", **labels) == 1


def test_pca_series_exist_at_zero_from_import() -> None:
    for op in metrics.PCA_OPERATIONS:
        assert value("awspca_issuer_pca_api_calls_total", operation=op, code="OK") >= 0
        assert value("awspca_issuer_pca_api_throttled_total", operation=op) >= 0
        assert value("awspca_issuer_pca_api_duration_seconds_count", operation=op) >= 0
        assert value("awspca_issuer_pca_rate_limiter_wait_seconds_count", operation=op) >= 0
        for reason in metrics.RETRY_REASONS:
            assert value("awspca_issuer_pca_api_retries_total", operation=op, reason=reason) >= 0
    for kind in metrics.ISSUER_KINDS:
        assert value("awspca_issuer_certificaterequest_ready_seconds_count", issuer_kind=kind) >= 0
        assert value("awspca_issuer_certificate_issuance_seconds_count", issuer_kind=kind) >= 0


def test_pca_call_counts_codes_latency_and_throttling() -> None:
    op = "DescribeCertificateAuthority"
    before_ok = value("awspca_issuer_pca_api_calls_total", operation=op, code="OK")
    before_thr = value("awspca_issuer_pca_api_throttled_total", operation=op)
    before_n = value("awspca_issuer_pca_api_duration_seconds_count", operation=op)
    metrics.pca_call(op, "OK", 0.1)
    metrics.pca_call(op, "ThrottlingException", 0.2, throttled=True)
    metrics.pca_call(op, "TooManyRequestsException", 0.2, throttled=True)
    metrics.pca_call(op, "weird code with spaces <script>", 0.2)
    assert value("awspca_issuer_pca_api_calls_total", operation=op, code="OK") == before_ok + 1
    assert value("awspca_issuer_pca_api_throttled_total", operation=op) == before_thr + 2
    assert value("awspca_issuer_pca_api_duration_seconds_count", operation=op) == before_n + 4
    assert value("awspca_issuer_pca_api_calls_total", operation=op, code="Unknown") >= 1
    before = value("awspca_issuer_pca_api_retries_total", operation=op, reason="AWSUnavailable")
    metrics.pca_retry(op, "AWSUnavailable")
    after = value("awspca_issuer_pca_api_retries_total", operation=op, reason="AWSUnavailable")
    assert after == before + 1


def test_normalize_code_keeps_aws_codes_and_bounds_the_rest() -> None:
    assert metrics.normalize_code("ThrottlingException") == "ThrottlingException"
    assert metrics.normalize_code("EndpointConnectionError") == "EndpointConnectionError"
    assert metrics.normalize_code("") == "Unknown"
    assert metrics.normalize_code("x" * 100) == "Unknown"
    assert metrics.normalize_code("a b") == "Unknown"


def test_issuer_series_start_at_zero_and_go_with_the_issuer() -> None:
    metrics.init_issuer("AWSPCAIssuer", "unit-ns", "zero")
    metrics.ISSUER_READY.labels("AWSPCAIssuer", "unit-ns", "zero").set(1)
    labels = {"issuer_kind": "AWSPCAIssuer", "issuer_namespace": "unit-ns", "issuer_name": "zero"}
    for outcome in metrics.OUTCOMES:
        assert value("awspca_issuer_certificaterequests_total", **labels, outcome=outcome) == 0
    assert value("awspca_issuer_certificaterequests_in_progress", **labels) == 0
    assert value("awspca_issuer_certificaterequest_oldest_in_progress_seconds", **labels) == 0
    assert value("awspca_issuer_issuer_ready", **labels) == 1
    metrics.forget_issuer("AWSPCAIssuer", "unit-ns", "zero")
    assert REGISTRY.get_sample_value("awspca_issuer_issuer_ready", labels) is None
    for outcome in metrics.OUTCOMES:
        assert (
            REGISTRY.get_sample_value(
                "awspca_issuer_certificaterequests_total", {**labels, "outcome": outcome}
            )
            is None
        )
    assert (
        REGISTRY.get_sample_value("awspca_issuer_certificaterequests_in_progress", labels) is None
    )
    metrics.forget_issuer("AWSPCAIssuer", "unit-ns", "zero")  # twice is fine


def test_cluster_issuer_labels_have_no_namespace() -> None:
    metrics.init_issuer("AWSPCAClusterIssuer", "ignored-ns", "cluster-unit")
    labels = {
        "issuer_kind": "AWSPCAClusterIssuer",
        "issuer_namespace": "",
        "issuer_name": "cluster-unit",
    }
    assert value("awspca_issuer_certificaterequests_total", **labels, outcome="issued") == 0


def test_request_outcomes_and_requests_in_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    labels = {"issuer_kind": "AWSPCAIssuer", "issuer_namespace": "unit-ns", "issuer_name": "prog"}
    args = ("AWSPCAIssuer", "unit-ns", "prog")
    metrics.init_issuer(*args)  # the issuer reconciler saw it exist
    metrics.request_outcome("unit-ns/a", *args, "pending", created=900.0)
    metrics.request_outcome("unit-ns/a", *args, "pending", created=900.0)
    metrics.request_outcome("unit-ns/b", *args, "retry", created=990.0)
    assert value("awspca_issuer_certificaterequests_total", **labels, outcome="pending") == 2
    assert value("awspca_issuer_certificaterequests_total", **labels, outcome="retry") == 1
    assert value("awspca_issuer_certificaterequests_total", **labels, outcome="failed") == 0
    assert value("awspca_issuer_certificaterequests_in_progress", **labels) == 2
    oldest = "awspca_issuer_certificaterequest_oldest_in_progress_seconds"
    assert value(oldest, **labels) == 100
    metrics.request_outcome("unit-ns/a", *args, "issued")
    assert value("awspca_issuer_certificaterequests_in_progress", **labels) == 1
    assert value(oldest, **labels) == 10
    now[0] = 1030.0
    assert value(oldest, **labels) == 40
    metrics.request_gone("unit-ns/b")
    assert value("awspca_issuer_certificaterequests_in_progress", **labels) == 0
    assert value(oldest, **labels) == 0
    metrics.request_outcome("unit-ns/c", *args, "failed")
    metrics.request_outcome("unit-ns/d", *args, "denied")
    assert value("awspca_issuer_certificaterequests_total", **labels, outcome="failed") == 1
    assert value("awspca_issuer_certificaterequests_total", **labels, outcome="denied") == 1
    assert value("awspca_issuer_certificaterequests_in_progress", **labels) == 0


def test_issuance_timer_observes_once_and_is_bounded() -> None:
    kind = "AWSPCAClusterIssuer"
    before = value("awspca_issuer_certificate_issuance_seconds_count", issuer_kind=kind)
    metrics.certificate_requested("arn:cert/1")
    metrics.certificate_available("arn:cert/1", kind)
    metrics.certificate_available("arn:cert/1", kind)  # a second poll: not observed again
    metrics.certificate_available("arn:cert/never-requested", kind)  # issued by another process
    after = value("awspca_issuer_certificate_issuance_seconds_count", issuer_kind=kind)
    assert after == before + 1
    timer = metrics._IssuanceTimer(size=3)
    for i in range(10):
        timer.requested(f"arn:cert/{i}")
    assert len(timer) == 3
    timer.available("arn:cert/0", kind)  # evicted: nothing observed, nothing raised
    assert len(timer) == 3
    timer.available("arn:cert/9", kind)
    assert len(timer) == 2


def _series_count() -> int:
    return sum(len(f.samples) for f in REGISTRY.collect() if f.name.startswith(("awspca_issuer_",)))


def test_requests_naming_missing_issuers_add_no_series() -> None:
    """400 requests naming 400 issuers that do not exist (one name 60,000 characters long)
    leave /metrics as it was; their in-progress entries go with the requests."""
    before_series = _series_count()
    for i in range(400):
        name = "x" * 60_000 if i == 0 else f"ghost-{i}"
        for outcome in ("pending", "retry"):
            metrics.request_outcome(f"tenant/r{i}", "AWSPCAIssuer", "tenant", name, outcome)
    assert _series_count() == before_series
    text = generate_latest().decode()
    assert "ghost-" not in text
    assert "x" * 300 not in text
    # The issuer appears: its waiting requests show, under a bounded name.
    metrics.init_issuer("AWSPCAIssuer", "tenant", "x" * 60_000)
    labels = {
        "issuer_kind": "AWSPCAIssuer",
        "issuer_namespace": "tenant",
        "issuer_name": "x" * metrics.MAX_NAME_LABEL,
    }
    assert value("awspca_issuer_certificaterequests_in_progress", **labels) == 1
    for i in range(400):
        metrics.request_gone(f"tenant/r{i}")
    assert value("awspca_issuer_certificaterequests_in_progress", **labels) == 0
    metrics.forget_issuer("AWSPCAIssuer", "tenant", "x" * 60_000)
    assert _series_count() == before_series
    assert not any(k.startswith("tenant/") for k in metrics.IN_PROGRESS._items)


def test_ca_expiry_series_follow_the_issuers_that_use_them() -> None:
    old = "arn:aws:acm-pca:us-east-1:1:certificate-authority/old-ca"
    new = "arn:aws:acm-pca:us-east-1:1:certificate-authority/new-ca"
    metric = "awspca_issuer_ca_not_after_timestamp_seconds"
    metrics.set_ca_not_after("AWSPCAIssuer", "ns-a", "one", old, 1.8e9)
    metrics.set_ca_not_after("AWSPCAClusterIssuer", "", "two", old, 1.8e9)
    # "one" moves to another CA (even before that CA answers): "two" still uses the old one.
    metrics.issuer_uses_ca("AWSPCAIssuer", "ns-a", "one", new)
    assert value(metric, ca_arn=old) == 1.8e9
    metrics.set_ca_not_after("AWSPCAIssuer", "ns-a", "one", new, 1.9e9)
    # "two" moves too: nobody uses the old CA, its series (and its alerts) go.
    metrics.set_ca_not_after("AWSPCAClusterIssuer", "", "two", new, 1.9e9)
    assert REGISTRY.get_sample_value(metric, {"ca_arn": old}) is None
    metrics.forget_issuer("AWSPCAIssuer", "ns-a", "one")
    assert value(metric, ca_arn=new) == 1.9e9
    metrics.forget_issuer("AWSPCAClusterIssuer", "", "two")
    assert REGISTRY.get_sample_value(metric, {"ca_arn": new}) is None
    # An ARN longer than PCA allows is never a label value.
    metrics.set_ca_not_after("AWSPCAIssuer", "ns-a", "three", new + "x" * 300, 1.9e9)
    assert REGISTRY.get_sample_value(metric, {"ca_arn": new + "x" * 300}) is None
    metrics.forget_issuer("AWSPCAIssuer", "ns-a", "three")


def test_ca_not_after_gauge() -> None:
    metrics.set_ca_not_after(
        "AWSPCAIssuer",
        "unit",
        "ca-gauge",
        "arn:aws:acm-pca:us-east-1:1:certificate-authority/unit",
        1.9e9,
    )
    assert (
        value(
            "awspca_issuer_ca_not_after_timestamp_seconds",
            ca_arn="arn:aws:acm-pca:us-east-1:1:certificate-authority/unit",
        )
        == 1.9e9
    )


def test_retry_reasons_and_throttling_codes_match_the_classification() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    from issuer.errors import RetryableError
    from issuer.signer import classify

    codes = set(classify._THROTTLING) | set(classify._UNAVAILABLE)
    codes |= {"LimitExceededException", "SomeCodeNobodyKnows"}
    excs: list[Exception] = [
        ClientError({"Error": {"Code": c, "Message": "m"}}, "IssueCertificate") for c in codes
    ]
    excs.append(EndpointConnectionError(endpoint_url="https://acm-pca.example"))
    reasons = set()
    for exc in excs:
        err = classify.classify_exception(exc)
        if isinstance(err, RetryableError):
            reasons.add(err.reason)
    assert reasons == set(metrics.RETRY_REASONS)
