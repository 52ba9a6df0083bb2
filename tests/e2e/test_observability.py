"""Observability end to end: a real Prometheus scrapes the controller during a real run.

One module-scoped run on its own control plane (so no other controller of the
session touches its requests and every count is exact): a cluster issuer on
IRSA and a namespaced issuer on a Secret + assumed role, both on a fresh CA
hierarchy of the emulator; requests that are issued (through RequestInProgress
polls and injected throttling), one that fails (validity beyond the CA) and
one that is denied. Prometheus (built by hack/build-tools.sh) scrapes the
controller every second and evaluates monitoring/alerts.yaml; the tests read
its HTTP API and compare with what the run implies, as recorded by the
emulator's call log. Then the dashboard's and the rules' PromQL run against
it, the failure alert fires, the probes flip while the API server is down,
and the whole debug log is searched for the run's credentials.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
import yaml
from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import make_csr
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.prometheus import Prometheus
from awspca_devstack.stack import ASSUMED_ROLE, DEFAULT_KEYS, start_controller
from awspca_emulator import DEFAULT_SECRET_ACCESS_KEY, AdminClient
from cryptography import x509

from issuer import __version__
from tests import flows

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"
CLUSTER = "AWSPCAClusterIssuer"
NAMESPACED = "AWSPCAIssuer"
ISSUER_NAME = "obs-pca"
NS = "obs"
ISSUED_CLUSTER = 3
ISSUED_NAMESPACED = 2


@dataclass
class Run:
    cp: ControlPlane
    kube: KubeClient
    admin: AdminClient
    controller: IssuerProcess
    prom: Prometheus
    ca_arn: str
    ca_not_after: float
    token_file: Path
    started: float


def _wait_prom(prom: Prometheus, expr: str, want: float, timeout: float = 30.0) -> None:
    prom.wait_for(
        expr,
        lambda v: len(v) == 1 and v[0][1] == want,
        timeout=timeout,
        what=f"{expr} == {want}",
    )


def _request(kube: KubeClient, ns: str, name: str, kind: str, **kw: Any) -> None:
    csr, _ = make_csr(f"{name}.example.com", dns=(f"{name}.example.com",))
    flows.create_request(
        kube,
        ns,
        name,
        csr,
        issuer_kind=kind,
        issuer_name=ISSUER_NAME,
        **kw,
    )


@pytest.fixture(scope="module")
def run(workdir: Path, emulator: Any, admin: AdminClient) -> Iterator[Run]:
    cp = ControlPlane(workdir, "obs")
    saved_delay = admin.get_config()["issuance_delay"]
    prom: Prometheus | None = None
    controller: IssuerProcess | None = None
    try:
        cp.start()
        admin.add_oidc_issuer(cp.issuer_url, ca_file=str(cp.ca_file))
        hierarchy = admin.bootstrap(key_algorithm="RSA_2048")
        ca_arn = str(hierarchy["subordinate_arn"])
        sub = x509.load_pem_x509_certificate(str(hierarchy["subordinate_certificate"]).encode())
        not_after = sub.not_valid_after_utc.replace(tzinfo=UTC).timestamp()
        started = time.time()
        controller = start_controller(cp, emulator, workdir, "obs-controller")
        prom = Prometheus(
            workdir,
            [f"127.0.0.1:{controller.metrics_port}"],
            name="obs-prometheus",
            rule_files=[MONITORING / "alerts.yaml"],
        ).start()
        prom.wait_scraped()
        kube = cp.admin
        _issue_and_fail(cp, kube, admin, prom, ca_arn)
        yield Run(
            cp,
            kube,
            admin,
            controller,
            prom,
            ca_arn,
            not_after,
            workdir / f"{cp.name}-obs-controller.token",
            started,
        )
    finally:
        admin.clear_faults()
        admin.configure(issuance_delay=saved_delay)
        if prom is not None:
            prom.stop()
        if controller is not None:
            controller.stop()
        cp.stop()


def _issue_and_fail(
    cp: ControlPlane, kube: KubeClient, admin: AdminClient, prom: Prometheus, ca_arn: str
) -> None:
    """The run: two issuers, five issued requests, one failed, one denied."""
    cp.ensure_namespace(NS)
    cp.ensure_namespace("cert-manager")
    flows.create_issuer(kube, CLUSTER, ISSUER_NAME, arn=ca_arn)  # IRSA (ambient)
    flows.create_secret(kube, NS, "aws-creds", DEFAULT_KEYS)
    flows.create_issuer(
        kube,
        NAMESPACED,
        ISSUER_NAME,
        arn=ca_arn,
        namespace=NS,
        secret_ref={"name": "aws-creds"},
        role=ASSUMED_ROLE,
    )
    flows.wait_issuer_ready(kube, CLUSTER, ISSUER_NAME)
    flows.wait_issuer_ready(kube, NAMESPACED, ISSUER_NAME, NS)
    # As in any real cluster, Prometheus has seen the issuers' series (at zero)
    # before their first request: increase() needs a sample before the first event.
    _wait_prom(prom, 'count(awspca_issuer_certificaterequests_total{outcome="failed"})', 2)
    # Certificates take a moment (RequestInProgress polls), and AWS throttles
    # the next two GetCertificate calls: both are retried, never failed.
    admin.configure(issuance_delay=1.5)
    admin.set_fault("GetCertificate", fail_next=2, fail_next_code="ThrottlingException")
    names = [(f"c{i}", CLUSTER) for i in range(ISSUED_CLUSTER)]
    names += [(f"n{i}", NAMESPACED) for i in range(ISSUED_NAMESPACED)]
    for name, kind in names:
        _request(kube, NS, name, kind)
    # Validity beyond the CA's NotAfter: PCA refuses, the request fails at once.
    _request(kube, NS, "too-long", CLUSTER, duration="876000h")
    # Denied by an approver.
    _request(kube, NS, "denied", CLUSTER, approve=False)
    flows.set_request_condition(kube, NS, "denied", "Denied", "True", "test.approver", "no")
    for name, _ in names:
        flows.wait_request(kube, NS, name, reason="Issued", timeout=60)
    flows.wait_request(kube, NS, "too-long", reason="Failed", timeout=60)
    flows.wait_request(kube, NS, "denied", reason="Denied", timeout=60)


def _calls(admin: AdminClient, ca_arn: str, operation: str, since: float) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in admin.calls(operation):
        if c.get("ca_arn") == ca_arn and c["time"] >= since:
            out[c["result"]] = out.get(c["result"], 0) + 1
    return out


def _sel(kind: str) -> str:
    ns = "" if kind == CLUSTER else NS
    return f'issuer_kind="{kind}",issuer_namespace="{ns}",issuer_name="{ISSUER_NAME}"'


def test_prometheus_sees_issuance_counters_and_histograms(run: Run) -> None:
    prom = run.prom
    total = "awspca_issuer_certificaterequests_total"
    # Wait for a scrape that saw the end of the run, then compare everything.
    _wait_prom(prom, f'sum({total}{{outcome="issued"}})', ISSUED_CLUSTER + ISSUED_NAMESPACED)
    _wait_prom(prom, f'sum({total}{{outcome=~"failed|denied"}})', 2)
    assert prom.value(f'{total}{{{_sel(CLUSTER)},outcome="issued"}}') == ISSUED_CLUSTER
    assert prom.value(f'{total}{{{_sel(NAMESPACED)},outcome="issued"}}') == ISSUED_NAMESPACED
    assert prom.value(f'{total}{{{_sel(CLUSTER)},outcome="failed"}}') == 1
    assert prom.value(f'{total}{{{_sel(CLUSTER)},outcome="denied"}}') == 1
    # Series exist at zero before anything happens to them.
    assert prom.value(f'{total}{{{_sel(NAMESPACED)},outcome="failed"}}') == 0
    assert prom.value(f'{total}{{{_sel(NAMESPACED)},outcome="denied"}}') == 0
    # Every issued certificate was polled at least once before it was ready.
    assert (prom.value(f'sum({total}{{outcome="pending"}})') or 0) >= ISSUED_CLUSTER
    # Histograms: one observation per issued request, per issuer kind.
    for kind, n in ((CLUSTER, ISSUED_CLUSTER), (NAMESPACED, ISSUED_NAMESPACED)):
        for hist in (
            "awspca_issuer_certificaterequest_ready_seconds",
            "awspca_issuer_certificate_issuance_seconds",
        ):
            assert prom.value(f'{hist}_count{{issuer_kind="{kind}"}}') == n, hist
            assert prom.value(f'{hist}_bucket{{issuer_kind="{kind}",le="+Inf"}}') == n, hist
    # The issuance delay is 1.5 s: IssueCertificate -> available takes at least that.
    p50 = prom.value(
        "histogram_quantile(0.5, sum by (le) (awspca_issuer_certificate_issuance_seconds_bucket))"
    )
    assert p50 is not None
    assert p50 >= 1.0
    ready_sum = prom.value("sum(awspca_issuer_certificaterequest_ready_seconds_sum)")
    assert ready_sum is not None
    assert ready_sum >= 1.5 * (ISSUED_CLUSTER + ISSUED_NAMESPACED)
    # Nothing in progress any more; both issuers known.
    in_progress = prom.vector("awspca_issuer_certificaterequests_in_progress")
    assert {(m["issuer_kind"], m.get("issuer_namespace", "")) for m, _ in in_progress} == {
        (CLUSTER, ""),
        (NAMESPACED, NS),
    }
    assert all(v == 0 for _, v in in_progress)


def test_prometheus_sees_pca_calls_as_the_emulator_logged_them(run: Run) -> None:
    prom = run.prom
    _wait_prom(
        prom,
        'awspca_issuer_pca_api_calls_total{operation="IssueCertificate",code="OK"}',
        ISSUED_CLUSTER + ISSUED_NAMESPACED,
    )
    for op in ("IssueCertificate", "GetCertificate"):
        logged = _calls(run.admin, run.ca_arn, op, run.started)
        for code, n in logged.items():
            got = prom.value(f'awspca_issuer_pca_api_calls_total{{operation="{op}",code="{code}"}}')
            assert got == n, (op, code, logged)
        total = prom.value(f'awspca_issuer_pca_api_duration_seconds_count{{operation="{op}"}}')
        assert total == sum(logged.values()), (op, logged)
    issued = _calls(run.admin, run.ca_arn, "IssueCertificate", run.started)
    # Exactly once: one IssueCertificate per issued request, one refused for validity.
    assert issued == {"OK": ISSUED_CLUSTER + ISSUED_NAMESPACED, "ValidationException": 1}
    gets = _calls(run.admin, run.ca_arn, "GetCertificate", run.started)
    assert gets.get("ThrottlingException") == 2
    assert gets.get("RequestInProgressException", 0) >= 1
    throttled = 'awspca_issuer_pca_api_throttled_total{operation="GetCertificate"}'
    assert prom.value(throttled) == 2
    retries = 'awspca_issuer_pca_api_retries_total{operation="GetCertificate",reason="Throttled"}'
    assert prom.value(retries) == 2
    assert prom.value('awspca_issuer_pca_api_throttled_total{operation="IssueCertificate"}') == 0
    # The client-side limiter is consulted once per call.
    waits = prom.value(
        'awspca_issuer_pca_rate_limiter_wait_seconds_count{operation="IssueCertificate"}'
    )
    assert waits == sum(issued.values())


def test_prometheus_sees_issuers_ca_expiry_and_controller_metrics(run: Run) -> None:
    prom = run.prom
    ca = prom.vector("awspca_issuer_ca_not_after_timestamp_seconds")
    assert [m["ca_arn"] for m, _ in ca] == [run.ca_arn]
    assert abs(ca[0][1] - run.ca_not_after) < 1.0
    ready = {
        (m["issuer_kind"], m.get("issuer_namespace", ""), m["issuer_name"]): v
        for m, v in prom.vector("awspca_issuer_issuer_ready")
    }
    assert ready == {(CLUSTER, "", ISSUER_NAME): 1.0, (NAMESPACED, NS, ISSUER_NAME): 1.0}
    assert prom.value("awspca_issuer_leader") == 1
    build = prom.vector("awspca_issuer_build_info")
    assert [m["version"] for m, _ in build] == [__version__]
    assert (prom.value("process_resident_memory_bytes") or 0) > 10 * 2**20
    # controller-runtime names and label sets.
    for ctrl in ("certificaterequest", "issuer"):
        results = {
            m["result"]: v
            for m, v in prom.vector(f'controller_runtime_reconcile_total{{controller="{ctrl}"}}')
        }
        assert set(results) == {"success", "error", "requeue", "requeue_after"}
        assert sum(results.values()) >= 1
        adds = prom.value(f'workqueue_adds_total{{name="{ctrl}",controller="{ctrl}"}}')
        assert adds is not None
        assert adds >= 1
        assert prom.value(f'workqueue_depth{{name="{ctrl}"}}') is not None
        assert prom.value(f'controller_runtime_max_concurrent_reconciles{{controller="{ctrl}"}}')
    reconciles = prom.value(
        'sum(controller_runtime_reconcile_total{controller="certificaterequest"})'
    )
    assert reconciles is not None
    assert reconciles >= ISSUED_CLUSTER + ISSUED_NAMESPACED + 2
    work = prom.value('workqueue_work_duration_seconds_count{name="certificaterequest"}')
    assert work == reconciles


# --- dashboard and rules against the real Prometheus -------------------------------------


def _dashboard_targets() -> list[tuple[str, str]]:
    doc = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    out = []
    for panel in doc["panels"]:
        for t in panel.get("targets", []):
            out.append((panel["title"], t["expr"]))
    return out


def _grafana_expr(expr: str, job: str) -> str:
    """What Grafana sends for an expression: variables and interval macros substituted."""
    return (
        expr.replace("$__rate_interval", "15s")
        .replace("$__range", "10m")
        .replace("$__interval", "5s")
        .replace("$job", job)
    )


KEY_PANELS = {
    "Certificates issued",
    "Requests failed",
    "Requests in progress",
    "Issuers not Ready",
    "Earliest CA expiry",
    "Leader replicas",
    "Request outcomes",
    "Outcomes by issuer",
    "Time to Ready",
    "IssueCertificate to certificate available",
    "Issuer Ready",
    "CA certificate expiry",
    "PCA calls by result",
    "PCA latency p95",
    "Reconciles",
    "Workers",
    "Workqueue depth",
    "Workqueue adds and retries",
    "Memory",
    "Build",
}


def test_every_dashboard_query_evaluates_and_key_panels_have_data(run: Run) -> None:
    prom = run.prom
    targets = _dashboard_targets()
    titles = {t for t, _ in targets}
    assert titles >= KEY_PANELS
    empty = []
    for title, expr in targets:
        result = prom.query(_grafana_expr(expr, prom.job))  # raises on any error or warning
        if title in KEY_PANELS and not result["result"]:
            empty.append((title, expr))
    assert not empty, f"key panels without data: {empty}"
    # The headline numbers are the run's.
    exprs = dict(targets)
    issued = prom.value(_grafana_expr(exprs["Certificates issued"], prom.job))
    assert issued is not None
    assert round(issued) >= ISSUED_CLUSTER + ISSUED_NAMESPACED
    assert prom.value(_grafana_expr(exprs["Issuers not Ready"], prom.job)) == 0


def _rule_exprs() -> list[tuple[str, str]]:
    doc = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    return [(r["alert"], r["expr"]) for g in doc["groups"] for r in g["rules"]]


def test_every_rule_expression_evaluates(run: Run) -> None:
    for name, expr in _rule_exprs():
        run.prom.query(expr)  # raises on any error or warning
        assert name
    # Prometheus loaded the same rules and evaluates them without error.
    health = {r["name"]: r["health"] for g in run.prom.rules() for r in g["rules"]}
    assert health == dict.fromkeys((name for name, _ in _rule_exprs()), "ok")


def test_failure_alert_fires_for_the_failed_request(run: Run) -> None:
    deadline = time.monotonic() + 30
    firing: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        firing = [
            a
            for a in run.prom.alerts()
            if a["labels"]["alertname"] == "AWSPCAIssuerCertificateRequestsFailing"
            and a["state"] == "firing"
        ]
        if firing:
            break
        time.sleep(0.5)
    assert [a["labels"].get("issuer_name") for a in firing] == [ISSUER_NAME]
    assert firing[0]["labels"]["issuer_kind"] == CLUSTER
    # Only the failure alert: the CA is valid for years, issuers are Ready, nothing is stuck.
    others = {a["labels"]["alertname"] for a in run.prom.alerts() if a["state"] == "firing"} - {
        "AWSPCAIssuerCertificateRequestsFailing"
    }
    assert not others


# --- probes --------------------------------------------------------------------------------


def _wait_probe(proc: IssuerProcess, path: str, status: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    last: tuple[int, str] = (0, "")
    while time.monotonic() < deadline:
        last = proc.probe(path)
        if last[0] == status:
            return last[1]
        # Liveness never depends on the API server: a restart would not help.
        assert proc.probe("/healthz")[0] == 200
        time.sleep(0.5)
    raise TimeoutError(f"{path} still {last} after {timeout}s")


def test_readyz_flips_while_the_api_server_is_down_healthz_does_not(run: Run) -> None:
    proc = run.controller
    assert proc.probe("/healthz") == (200, "ok")
    assert proc.probe("/readyz") == (200, "ok")
    run.cp.stop_apiserver()
    try:
        body = _wait_probe(proc, "/readyz", 503, timeout=60)
        assert "apiserver" in body
        assert "unreachable" in body
    finally:
        run.cp.start_apiserver()
    _wait_probe(proc, "/readyz", 200, timeout=60)
    assert proc.probe("/healthz") == (200, "ok")
    # Still working: a new request is signed after the outage.
    _request(run.kube, NS, "after-outage", CLUSTER)
    flows.wait_request(run.kube, NS, "after-outage", reason="Issued", timeout=60)
    _wait_prom(
        run.prom,
        f'awspca_issuer_certificaterequests_total{{{_sel(CLUSTER)},outcome="issued"}}',
        ISSUED_CLUSTER + 1,
    )


# --- logs -------------------------------------------------------------------------------


def _secrets(run: Run) -> dict[str, str]:
    """Every credential the run used, and parts of them long enough to be unmistakable."""
    out = {
        "static secret access key": DEFAULT_SECRET_ACCESS_KEY,
        "ServiceAccount token (IRSA)": run.token_file.read_text().strip(),
    }
    kubeconfig = yaml.safe_load(run.cp.kubeconfig.read_text())
    for user in kubeconfig.get("users", []):
        for field in ("client-key-data", "token"):
            value = (user.get("user") or {}).get(field)
            if value:
                out[f"kubeconfig {field}"] = value
                if field == "client-key-data":
                    pem = base64.b64decode(value).decode()
                    body = [ln for ln in pem.splitlines() if ln and not ln.startswith("-----")]
                    out["kubeconfig client key (PEM body)"] = body[1]
    token = out["ServiceAccount token (IRSA)"]
    out["ServiceAccount token signature"] = token.rsplit(".", 1)[-1]
    return out


def test_logs_are_structured_and_never_contain_credentials(run: Run) -> None:
    text = run.controller.log_text()
    for what, secret in _secrets(run).items():
        assert secret
        assert secret not in text, f"{what} found in the controller's log"
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    docs = [json.loads(ln) for ln in lines]
    assert len(docs) > 20
    reconcile_lines = [d for d in docs if d.get("controller") in ("certificaterequest", "issuer")]
    in_reconcile = [d for d in reconcile_lines if d["logger"].startswith("issuer.controllers")]
    assert in_reconcile, "no reconcile log lines"
    for d in in_reconcile:
        assert d.get("key"), d
        assert re.fullmatch(r"[0-9a-f]{12}", d.get("reconcile_id", "")), d
    issued = [d for d in in_reconcile if d["msg"] == "certificate issued"]
    assert {d["key"] for d in issued} >= {f"{NS}/c0", f"{NS}/n0"}
    assert {d["level"] for d in docs} <= {"debug", "info", "warning", "error", "critical"}
