"""The Helm chart rendered by the real helm: lint, defaults, upstream values, schema, RBAC, install.yaml.

Uses the pinned helm binary (hack/versions.env); no cluster and no chart
repository is involved. ``python -m tests.e2e.test_chart_render`` rewrites
manifests/install.yaml (``make manifests``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from awspca_devstack import tools

from issuer.cli import parse_config

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "aws-privateca-issuer"
UPSTREAM_VALUES = CHART / "ci" / "upstream-values.yaml"
INSTALL_YAML = ROOT / "manifests" / "install.yaml"
INSTALL_NAMESPACE = "aws-privateca-issuer"
RELEASE = "aws-privateca-issuer"
pytestmark = pytest.mark.e2e

SCHEMA_ERROR = "values don't meet the specifications of the schema"

Obj = dict[str, Any]

_HELM_HOME = Path(tempfile.gettempdir()) / f"awspca-helm-{os.getuid()}"


def helm_env(kubeconfig: Path | None = None) -> dict[str, str]:
    """helm with its own cache/config/data dirs: no repositories, nothing from the user's setup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    for part in ("cache", "config", "data"):
        d = _HELM_HOME / part
        d.mkdir(parents=True, exist_ok=True)
        env[f"HELM_{part.upper()}_HOME"] = str(d)
    env.pop("KUBECONFIG", None)
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return env


def helm(
    *args: str, check: bool = True, kubeconfig: Path | None = None
) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        [str(tools.binary("helm")), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=helm_env(kubeconfig),
        check=False,
    )
    if check and res.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}")
    return res


def template_args(
    values: Sequence[Path] = (),
    sets: Sequence[str] = (),
    *,
    namespace: str = INSTALL_NAMESPACE,
    release: str = RELEASE,
) -> list[str]:
    argv = ["template", release, str(CHART), "--namespace", namespace]
    for v in values:
        argv += ["--values", str(v)]
    for s in sets:
        flag, _, expr = s.partition(" ") if s.startswith("--") else ("--set", "", s)
        argv += [flag, expr]
    return argv


def render(
    values: Sequence[Path] = (),
    sets: Sequence[str] = (),
    *,
    namespace: str = INSTALL_NAMESPACE,
    release: str = RELEASE,
) -> list[Obj]:
    """The chart's objects for these values (``sets``: ``k=v`` or ``--set-json k=v``)."""
    out = helm(*template_args(values, sets, namespace=namespace, release=release)).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def render_install_yaml() -> str:
    """manifests/install.yaml: a Namespace, the CRDs and the chart with its default values."""
    out = helm(
        *template_args(namespace=INSTALL_NAMESPACE, release=RELEASE), "--include-crds"
    ).stdout
    header = (
        "# aws-privateca-issuer (Python): CRDs, RBAC and controller, rendered from\n"
        "# charts/aws-privateca-issuer with its default values by `make manifests`.\n"
        "# Do not edit; a test checks it is in sync with the chart.\n"
        "#   kubectl apply --server-side -f manifests/install.yaml\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: Namespace\n"
        "metadata:\n"
        f"  name: {INSTALL_NAMESPACE}\n"
    )
    return header + out


def by_kind(objs: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objs if o["kind"] == kind]


def one(objs: list[Obj], kind: str) -> Obj:
    (obj,) = by_kind(objs, kind)
    return obj


def container(objs: list[Obj]) -> Obj:
    c: Obj = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    return c


# --- lint and defaults --------------------------------------------------------------------


@pytest.mark.parametrize("values", [(), (UPSTREAM_VALUES,)], ids=["defaults", "upstream-values"])
def test_helm_lint_strict(values: tuple[Path, ...]) -> None:
    argv = ["lint", str(CHART), "--strict"]
    for v in values:
        argv += ["--values", str(v)]
    res = helm(*argv)
    assert "1 chart(s) linted, 0 chart(s) failed" in res.stdout


def test_chart_has_no_dependencies() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["name"] == "aws-privateca-issuer"  # same chart name as the Go issuer's
    assert "dependencies" not in chart, "helm must never reach a chart repository"


def test_defaults_render_the_expected_objects() -> None:
    objs = render()
    kinds = sorted(o["kind"] for o in objs)
    assert kinds == sorted(
        [
            "ClusterRole",
            "ClusterRole",
            "ClusterRoleBinding",
            "ClusterRoleBinding",
            "Deployment",
            "PodDisruptionBudget",
            "Role",
            "RoleBinding",
            "Service",
            "ServiceAccount",
        ]
    )
    names = {o["metadata"]["name"] for o in objs if o["kind"] in ("Deployment", "ServiceAccount")}
    assert names == {RELEASE}  # same object and ServiceAccount names as the Go chart
    for o in objs:
        if o["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert o["metadata"]["namespace"] == INSTALL_NAMESPACE


def test_pod_is_hardened_and_probed_on_the_health_port() -> None:
    objs = render()
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    c = container(objs)
    psc, sc = pod["securityContext"], c["securityContext"]
    assert psc["runAsNonRoot"] is True
    assert psc["runAsUser"] == 65532
    assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert sc["runAsNonRoot"] is True
    assert sc["runAsUser"] == 65532
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": 8080, "health": 8081}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert c["resources"]["limits"]["memory"] == "256Mi"
    assert c["resources"]["requests"]["memory"] == "128Mi"


@pytest.mark.parametrize(
    ("sets", "leader"),
    [
        ((), True),
        (("replicaCount=1", "leaderElection.enabled=false"), False),
        (("replicaCount=2", "leaderElection.enabled=false"), True),
        (("replicaCount=1", "leaderElection.enabled=false", "autoscaling.enabled=true"), True),
    ],
    ids=["default", "single-replica-opt-out", "replicas-force-it", "autoscaling-forces-it"],
)
def test_leader_election_is_on_whenever_more_than_one_pod_can_run(
    sets: tuple[str, ...], leader: bool
) -> None:
    args = container(render(sets=sets))["args"]
    assert ("--leader-elect" in args) is leader
    assert (f"--leader-election-namespace={INSTALL_NAMESPACE}" in args) is leader


def test_rendered_args_are_the_controllers_flags() -> None:
    """The Deployment's args parse with the controller's own CLI into the intended config."""
    cfg = parse_config(container(render())["args"])
    assert cfg.leader_elect is True
    assert cfg.leader_election_namespace == INSTALL_NAMESPACE
    assert cfg.cluster_resource_namespace == INSTALL_NAMESPACE
    assert (cfg.log_format, cfg.log_level) == ("json", "info")
    assert cfg.metrics_bind_address == ":8080"
    assert cfg.health_probe_bind_address == ":8081"
    assert cfg.disable_approved_check is False
    cfg = parse_config(
        container(
            render(
                sets=(
                    "workers=4",
                    "awsThreads=8",
                    "pcaRateLimits.issueCertificate=12.5",
                    "pcaRateLimits.getCertificate=30",
                    "pcaRateLimits.describeCertificateAuthority=5",
                    "maxRetryDuration=90m",
                    "issuerRecheckInterval=30s",
                    "clusterResourceNamespace=pki",
                    "kubeApi.qps=50",
                    "kubeApi.burst=100",
                    "logLevel=debug",
                    "logFormat=text",
                    "disableApprovedCheck=true",
                    "disableClientSideRateLimiting=true",
                    "extraArgs={--leader-election-id=custom}",
                )
            )
        )["args"]
    )
    assert (cfg.workers, cfg.aws_threads) == (4, 8)
    limits = cfg.pca_rate_limits
    assert (limits.issue_certificate, limits.get_certificate) == (12.5, 30)
    assert limits.describe_certificate_authority == 5
    assert cfg.max_retry_duration_seconds == 5400
    assert cfg.issuer_recheck_seconds == 30
    assert cfg.cluster_resource_namespace == "pki"
    assert (cfg.kube_api_qps, cfg.kube_api_burst) == (50, 100)
    assert (cfg.log_level, cfg.log_format) == ("debug", "text")
    assert cfg.disable_approved_check
    assert cfg.disable_client_side_rate_limiting
    assert cfg.leader_election_id == "custom"  # extra args come last and win


# --- upstream values keep their meaning ------------------------------------------------------


def test_upstream_values_file_keeps_its_meaning() -> None:
    objs = render(values=(UPSTREAM_VALUES,), namespace="pki", release="r")
    up = yaml.safe_load(UPSTREAM_VALUES.read_text())
    dep = one(objs, "Deployment")
    pod = dep["spec"]["template"]["spec"]
    c = container(objs)
    assert dep["metadata"]["name"] == "pca-issuer"  # fullnameOverride
    assert dep["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "pca"  # nameOverride
    assert "replicas" not in dep["spec"]  # autoscaling.enabled owns the replica count
    assert dep["spec"]["revisionHistoryLimit"] == 3
    assert c["image"] == f"{up['image']['repository']}@{up['image']['digest']}"
    assert c["imagePullPolicy"] == "Always"
    assert "--disable-approved-check" in c["args"]
    assert "--disable-client-side-rate-limiting" in c["args"]
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["serviceAccountName"] == "pca-issuer-sa"
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["nodeSelector"] == up["nodeSelector"]
    assert pod["tolerations"] == up["tolerations"]
    assert pod["topologySpreadConstraints"] == up["topologySpreadConstraints"]
    node_affinity = pod["affinity"]["nodeAffinity"]
    assert node_affinity == up["affinity"]["nodeAffinity"]
    assert pod["securityContext"]["runAsUser"] == 65532
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["resources"] == up["resources"]
    assert {"name": "AWS_REGION", "value": "eu-west-1"} in c["env"]
    assert dep["spec"]["template"]["metadata"]["annotations"] == up["podAnnotations"]
    assert dep["spec"]["template"]["metadata"]["labels"]["example.com/owner"] == "pki"
    assert up["volumes"][0] in pod["volumes"]
    assert up["volumeMounts"][0] in c["volumeMounts"]
    assert pod["containers"][1] == up["extraContainers"][0]
    sa = one(objs, "ServiceAccount")
    assert sa["metadata"]["name"] == "pca-issuer-sa"
    assert sa["metadata"]["annotations"] == up["serviceAccount"]["annotations"]
    svc = one(objs, "Service")
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"][0]["port"] == 9090
    pdb = one(objs, "PodDisruptionBudget")["spec"]
    assert pdb["minAvailable"] == 1
    assert "maxUnavailable" not in pdb
    hpa = one(objs, "HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)
    targets = {
        m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["metrics"]
    }
    assert targets == {"cpu": 70, "memory": 75}
    approver = [o for o in objs if o["metadata"]["name"].startswith("cm-controller-approve:")]
    assert {o["kind"] for o in approver} == {"ClusterRole", "ClusterRoleBinding"}
    binding = next(o for o in approver if o["kind"] == "ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "cm", "namespace": "cm-system"}
    ]
    sm = one(objs, "ServiceMonitor")
    assert sm["metadata"]["labels"]["release"] == "prometheus"
    assert sm["metadata"]["annotations"] == up["serviceMonitor"]["annotations"]
    for crb in by_kind(objs, "ClusterRoleBinding"):
        if crb["metadata"]["name"] == "pca-issuer":
            assert crb["subjects"][0]["name"] == "pca-issuer-sa"


#: Upstream keys whose value in the upstream file equals our default (their effect is
#: checked by test_switches_of_the_go_chart instead).
_SAME_AS_DEFAULT = {"rbac", "podSecurityContext", "securityContext"}


def test_every_upstream_key_changes_the_rendering() -> None:
    """Each key of an upstream values file, set alone, changes what is rendered."""
    base = render()
    up = yaml.safe_load(UPSTREAM_VALUES.read_text())
    with tempfile.TemporaryDirectory() as d:
        for key, value in up.items():
            if key in _SAME_AS_DEFAULT:
                continue
            f = Path(d) / f"{key}.yaml"
            f.write_text(yaml.safe_dump({key: value}))
            assert render(values=(f,)) != base, f"upstream value {key!r} has no effect"


@pytest.mark.parametrize(
    ("sets", "gone"),
    [
        (("rbac.create=false",), {"Role", "RoleBinding"}),
        (("serviceAccount.create=false",), {"ServiceAccount"}),
        (("podDisruptionBudget=null",), {"PodDisruptionBudget"}),
    ],
)
def test_switches_of_the_go_chart(sets: tuple[str, ...], gone: set[str]) -> None:
    kinds = {o["kind"] for o in render(sets=sets)}
    assert not (gone & kinds)
    if "serviceAccount.create=false" in sets:
        objs = render(sets=sets)
        assert (
            one(objs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "default"
        )
    if "rbac.create=false" in sets:
        names = {o["metadata"]["name"] for o in render(sets=sets) if o["kind"] == "ClusterRole"}
        assert names == {"cert-manager-controller-approve:awspca-cert-manager-io"}
    objs = render(sets=("approverRole.enabled=false",))
    assert not [o for o in objs if "approve" in o["metadata"]["name"]]
    c = container(
        render(sets=("podSecurityContext.runAsUser=1000", "securityContext.privileged=false"))
    )
    assert c["securityContext"]["privileged"] is False


# --- schema ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "--set-string replicaCount=2",
        "replicas=2",  # unknown top-level key (typo of replicaCount)
        "image.registry=example.com",  # unknown key under image
        "image.pullPolicy=Sometimes",
        "--set-string disableApprovedCheck=yes",
        "service.port=70000",
        '--set-json serviceAccount.annotations={"a":1}',
        '--set-json env=[{"value":"x"}]',
        "workers=0",
        "--set-string awsThreads=many",
        "pcaRateLimits.issueCertificate=-1",
        "maxRetryDuration=forever",
        "logFormat=xml",
        "logLevel=trace",
        "--set-json extraArgs=[1]",
        '--set-json tolerations={"key":"x"}',
        "autoscaling.enabled=maybe",
    ],
)
def test_schema_refuses_bad_values(bad: str) -> None:
    res = helm(*template_args(sets=(bad,)), check=False)
    assert res.returncode != 0, f"{bad!r} was accepted"
    assert SCHEMA_ERROR in res.stderr, res.stderr


# --- RBAC ----------------------------------------------------------------------------------------


def _rules(objs: list[Obj], kind: str) -> list[Obj]:
    return [r for o in by_kind(objs, kind) for r in o.get("rules", [])]


@pytest.mark.parametrize("values", [(), (UPSTREAM_VALUES,)], ids=["defaults", "upstream-values"])
def test_rbac_is_least_privilege(values: tuple[Path, ...]) -> None:
    objs = render(values=values)
    rules = _rules(objs, "ClusterRole") + _rules(objs, "Role")
    for r in rules:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in r[field], r
        if "secrets" in r["resources"]:
            assert r["verbs"] == ["get"], "Secrets are read by name only"
        if "events" in r["resources"]:
            assert r["verbs"] == ["create"]
        if any(res.startswith(("certificaterequests", "awspca")) for res in r["resources"]):
            assert not {"create", "update", "delete", "deletecollection"} & set(r["verbs"]), r
    role_resources = {res for r in _rules(objs, "Role") for res in r["resources"]}
    assert role_resources == {"leases"}
    cluster_resources = {res for r in _rules(objs, "ClusterRole") for res in r["resources"]}
    assert "leases" not in cluster_resources
    assert "configmaps" not in cluster_resources
    for role in by_kind(objs, "Role"):
        named = [r for r in role["rules"] if set(r["verbs"]) & {"get", "update"}]
        assert all(r.get("resourceNames") == ["b858308c.awspca.cert-manager.io"] for r in named)


# --- install.yaml ---------------------------------------------------------------------------


def test_install_yaml_is_the_chart_rendered_with_defaults() -> None:
    assert INSTALL_YAML.read_text() == render_install_yaml(), (
        "manifests/install.yaml is stale: run `make manifests`"
    )


def main() -> None:
    INSTALL_YAML.write_text(render_install_yaml())
    print(f"wrote {INSTALL_YAML.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()


def test_alerts_and_dashboard_ship_behind_values(tmp_path: Path) -> None:
    """Off by default; on, the PrometheusRule is monitoring/alerts.yaml and promtool accepts it."""
    assert not by_kind(render(), "PrometheusRule")
    objs = render(sets=("prometheusRule.create=true", "grafanaDashboard.create=true"))
    rule = one(objs, "PrometheusRule")
    shipped = yaml.safe_load((ROOT / "monitoring" / "alerts.yaml").read_text())
    assert rule["spec"] == shipped
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump(rule["spec"]))
    check = subprocess.run(
        [str(tools.binary("promtool")), "check", "rules", str(rules_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    dashboards = [
        o for o in by_kind(objs, "ConfigMap") if o["metadata"]["name"].endswith("-dashboard")
    ]
    assert len(dashboards) == 1
    assert dashboards[0]["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped_json = json.loads((ROOT / "monitoring" / "grafana-dashboard.json").read_text())
    assert json.loads(dashboards[0]["data"]["aws-privateca-issuer.json"]) == shipped_json
