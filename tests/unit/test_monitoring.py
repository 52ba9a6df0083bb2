"""The shipped alerts and dashboard: promtool-valid, unit-tested, importable, on real metric names.

promtool comes from the Prometheus build of hack/build-tools.sh. Evaluating
every expression against a real Prometheus with data is
tests/e2e/test_observability.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from awspca_devstack import tools
from prometheus_client import REGISTRY

from issuer.observability import metrics

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"
RULES = MONITORING / "alerts.yaml"
RULE_TESTS = MONITORING / "alerts_test.yaml"
DASHBOARD = MONITORING / "grafana-dashboard.json"
CHART = REPO / "charts" / "aws-privateca-issuer"

REQUIRED_ALERTS = {
    "AWSPCAIssuerCertificateRequestsFailing",  # issuance failures
    "AWSPCAIssuerCertificateRequestsStuck",  # stuck pending requests
    "AWSPCAIssuerPCAThrottled",  # throttling
    "AWSPCAIssuerNotReady",  # issuer not ready
    "AWSPCAIssuerCAExpiringSoon",  # CA expiring within 30 days
    "AWSPCAIssuerNoLeader",  # no replica leads: nothing is signed
    "AWSPCAIssuerNoReconcileProgress",  # the leader has work but finishes nothing
}
PROMQL_WORDS = {
    "sum",
    "max",
    "min",
    "count",
    "avg",
    "by",
    "without",
    "rate",
    "irate",
    "increase",
    "histogram_quantile",
    "time",
    "vector",
    "or",
    "and",
    "unless",
    "on",
    "ignoring",
    "offset",
    "bool",
    "le",
    "label_values",
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tools.binary("promtool")), *args],
        capture_output=True,
        text=True,
        cwd=MONITORING,
        timeout=60,
        check=False,
    )


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def dashboard() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return doc


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


def exposed_series_names() -> set[str]:
    """Every series name the controller can expose (histogram parts included)."""
    names: set[str] = set()
    for family in REGISTRY.collect():
        for sample in family.samples:
            names.add(sample.name)
        if family.type == "histogram":
            names |= {f"{family.name}_{s}" for s in ("bucket", "count", "sum")}
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "info":
            names.add(f"{family.name}_info")
        names.add(family.name)
    return names


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects: identifiers that are not functions or keywords."""
    expr = re.sub(r'"[^"]*"', '""', expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "{}", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "[]", expr)  # ranges
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr))
    return {n for n in names if n not in PROMQL_WORDS}


def test_promtool_check_rules_passes() -> None:
    out = promtool("check", "rules", str(RULES))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(rules())} rules found" in out.stdout


def test_promtool_unit_tests_of_the_alerts_pass() -> None:
    out = promtool("test", "rules", str(RULE_TESTS))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout
    tested = {
        t["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for t in test["alert_rule_test"]
        if t["exp_alerts"]
    }
    assert tested >= REQUIRED_ALERTS


def test_the_required_alerts_exist_with_severity_and_explanations() -> None:
    by_name = {r["alert"]: r for r in rules()}
    assert set(by_name) >= REQUIRED_ALERTS
    for name, rule in by_name.items():
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"], name
        assert len(rule["annotations"]["description"]) > 60, name
    assert "30 * 24 * 3600" in by_name["AWSPCAIssuerCAExpiringSoon"]["expr"]


def test_rules_and_dashboard_use_only_metrics_the_controller_exposes() -> None:
    metrics.init_controller("unit-monitoring", 1)
    known = exposed_series_names()
    exprs = [r["expr"] for r in rules()] + dashboard_exprs()
    assert len(exprs) > 30
    for expr in exprs:
        names = metric_names(expr)
        assert names, expr
        unknown = names - known
        assert not unknown, f"{expr}: unknown metrics {unknown}"


def test_dashboard_is_importable_as_is() -> None:
    doc = dashboard()
    # Importable through the UI and through a sidecar-provisioned ConfigMap:
    # no __inputs placeholders, no fixed id, a stable uid, a datasource variable.
    assert "__inputs" not in doc
    assert doc["id"] is None
    assert doc["uid"] == "awspca-issuer"
    assert doc["title"]
    assert isinstance(doc["schemaVersion"], int)
    assert doc["schemaVersion"] >= 30
    variables = {v["name"]: v for v in doc["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["job"]["datasource"]["uid"] == "${datasource}"
    text = DASHBOARD.read_text()
    assert "${DS_" not in text
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in doc["panels"]:
        assert panel["type"] in ("row", "stat", "timeseries", "table"), panel["type"]
        pos = panel["gridPos"]
        assert pos["x"] >= 0
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"panel {panel['title']!r} overlaps another"
                cells.add((x, y))
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
        for t in panel["targets"]:
            assert t["datasource"] == panel["datasource"]
            assert 'job=~"$job"' in t["expr"], t["expr"]


def test_dashboard_answers_the_sre_questions() -> None:
    titles = {p["title"] for p in dashboard()["panels"]}
    # Are certificates being issued, how fast, why not, when does my CA expire?
    for title in (
        "Certificates issued",
        "Requests failed",
        "Request outcomes",
        "Time to Ready",
        "IssueCertificate to certificate available",
        "PCA calls by result",
        "Throttled and retried calls",
        "Issuer Ready",
        "CA certificate expiry",
        "Workqueue depth",
        "Reconciles",
    ):
        assert title in titles


@pytest.mark.parametrize(
    ("source", "shipped"),
    [
        (RULES, CHART / "files" / "alerts.yaml"),
        (DASHBOARD, CHART / "files" / "grafana-dashboard.json"),
    ],
)
def test_the_chart_ships_the_same_files(source: Path, shipped: Path) -> None:
    assert shipped.read_text() == source.read_text()
