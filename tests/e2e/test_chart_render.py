"""The Helm chart rendered by the real helm: lint, defaults, upstream values, schema, RBAC, install.yaml.

Uses the pinned helm binary (hack/versions.env); no cluster and no chart
repository is involved. The Go issuer's chart (v1.12.0, from its module
source) is rendered beside ours with the same values: flags and the
Deployment's fields must come out as it renders them. ``python -m tests.e2e.test_chart_render`` rewrites
manifests/install.yaml (``make manifests``).
"""

from __future__ import annotations

import json
import os
import re
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
from tests.unit.test_chart_docs import UPSTREAM_KEYS

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "aws-privateca-issuer"
UPSTREAM_VALUES = CHART / "ci" / "upstream-values.yaml"
CRD_NAMES = {"awspcaissuers.awspca.cert-manager.io", "awspcaclusterissuers.awspca.cert-manager.io"}
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


def upstream_chart() -> Path:
    """The Go issuer's chart, v1.12.0, as its module source ships it."""
    return tools.upstream_module_dir() / "charts" / "aws-pca-issuer"


def template_args(
    values: Sequence[Path] = (),
    sets: Sequence[str] = (),
    *,
    namespace: str = INSTALL_NAMESPACE,
    release: str = RELEASE,
    chart: Path = CHART,
) -> list[str]:
    argv = ["template", release, str(chart), "--namespace", namespace]
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
    chart: Path = CHART,
) -> list[Obj]:
    """The chart's objects for these values (``sets``: ``k=v`` or ``--set-json k=v``)."""
    argv = template_args(values, sets, namespace=namespace, release=release, chart=chart)
    out = helm(*argv).stdout
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
            "CustomResourceDefinition",
            "CustomResourceDefinition",
            "Deployment",
            "PodDisruptionBudget",
            "Role",
            "Role",
            "RoleBinding",
            "RoleBinding",
            "Service",
            "ServiceAccount",
        ]
    )
    names = {o["metadata"]["name"] for o in objs if o["kind"] in ("Deployment", "ServiceAccount")}
    assert names == {RELEASE}  # same object and ServiceAccount names as the Go chart
    for o in objs:
        if o["kind"] not in ("ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"):
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
    # no client-side Kubernetes limit unless asked, as upstream v1.12 runs
    assert cfg.kube_api_qps is None
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
    assert c["image"] == f"{up['image']['repository']}:{up['image']['tag']}"
    assert c["imagePullPolicy"] == "Always"
    assert dep["metadata"]["annotations"] == up["deploymentAnnotations"]
    assert "-disable-approved-check" in c["args"]  # the Go chart's spelling
    assert "-disable-client-side-rate-limiting" in c["args"]
    assert "--cluster-issuer-ambient-credentials=false" in c["args"]
    assert "--issuer-ambient-credentials=true" in c["args"]
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
            assert not {"create", "delete", "deletecollection"} & set(r["verbs"]), r
        if "update" in r["verbs"] and "leases" not in r["resources"]:
            # the Go chart's verb for the certificate-ARN annotation
            assert r["resources"] == ["certificaterequests"], r
    role_resources = {res for r in _rules(objs, "Role") for res in r["resources"]}
    assert role_resources == {"leases", "serviceaccounts/token"}
    (token,) = [r for r in _rules(objs, "Role") if r["resources"] == ["serviceaccounts/token"]]
    sa = one(objs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"]
    assert token == {
        "apiGroups": [""],
        "resources": ["serviceaccounts/token"],
        "resourceNames": [sa],  # its own ServiceAccount only, as the Go chart grants
        "verbs": ["create"],
    }
    cluster_resources = {res for r in _rules(objs, "ClusterRole") for res in r["resources"]}
    assert "leases" not in cluster_resources
    assert "configmaps" not in cluster_resources
    for role in by_kind(objs, "Role"):
        named = [r for r in role["rules"] if set(r["verbs"]) & {"get", "update"}]
        assert named or role["metadata"]["name"].endswith("-tokenrequest")
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


# --- the Go chart v1.12.0, rendered beside ours --------------------------------------------------


def _flag_name(arg: str) -> str:
    return arg.lstrip("-").split("=", 1)[0]


def test_every_key_of_the_go_chart_is_known() -> None:
    """UPSTREAM_KEYS covers every value the Go chart's values.yaml sets and its templates read."""
    chart = upstream_chart()
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["name"] == "aws-privateca-issuer"
    values = yaml.safe_load((chart / "values.yaml").read_text())

    groups = {"image", "serviceAccount", "rbac", "service", "autoscaling", "approverRole"}
    groups.add("serviceMonitor")  # maps of values; every other map is passed through as is

    def leaves(node: dict[str, Any], prefix: str = "") -> set[str]:
        out: set[str] = set()
        for k, v in node.items():
            out |= leaves(v, prefix + k + ".") if prefix + k in groups else {prefix + k}
        return out

    read: set[str] = set()
    for tpl in (chart / "templates").glob("*"):
        read |= set(re.findall(r"\.Values((?:\.[A-Za-z0-9_]+)+)", tpl.read_text()))
    read_keys = {r.lstrip(".") for r in read}
    assert leaves(values) - set(UPSTREAM_KEYS) == set()
    assert read_keys - set(UPSTREAM_KEYS) == set()
    assert set(UPSTREAM_KEYS) - leaves(values) - read_keys == set()


_SWITCHES = (
    "disableApprovedCheck",
    "disableClientSideRateLimiting",
    "disableClusterIssuerAmbientCredentials",
    "enableIssuerAmbientCredentials",
)


@pytest.mark.parametrize(
    "case",
    ["no-values", "upstream-values", *_SWITCHES, "replicaCount-1"],
)
def test_flags_render_exactly_as_the_go_chart_renders_them(case: str, tmp_path: Path) -> None:
    """Same values file into both charts: the Go chart's args, in its order and spelling,
    open our container's args; what follows is ours and never repeats one of its flags."""
    values: list[Path] = []
    if case == "upstream-values":
        values = [UPSTREAM_VALUES]
    elif case != "no-values":
        f = tmp_path / "values.yaml"
        f.write_text(
            yaml.safe_dump({"replicaCount": 1} if case == "replicaCount-1" else {case: True})
        )
        values = [f]
    theirs = container(render(values=values, chart=upstream_chart()))["args"]
    ours = container(render(values=values))["args"]
    assert ours[: len(theirs)] == theirs
    assert not {_flag_name(a) for a in ours[len(theirs) :]} & {_flag_name(a) for a in theirs}
    if case in _SWITCHES:
        assert len(theirs) == 2, theirs  # --leader-elect and the switch's own flag


def test_rendered_switches_mean_what_the_go_chart_means() -> None:
    """Our controller parses the Go chart's spelling of each switch into the intended setting."""
    c = container(render(values=(UPSTREAM_VALUES,)))
    cfg = parse_config(c["args"])
    assert cfg.disable_approved_check is True
    assert cfg.disable_client_side_rate_limiting is True
    assert cfg.cluster_issuer_ambient_credentials is False
    assert cfg.issuer_ambient_credentials is True
    cfg = parse_config(container(render())["args"])
    assert cfg.cluster_issuer_ambient_credentials is True
    assert cfg.issuer_ambient_credentials is False


#: Deployment fields the Go chart renders from values; ours must render them the same.
_SAME_FIELDS = (
    ("metadata", "name"),
    ("metadata", "annotations"),
    ("spec", "revisionHistoryLimit"),
    ("spec", "selector"),
    ("spec", "template", "metadata", "annotations"),
    ("spec", "template", "spec", "serviceAccountName"),
    ("spec", "template", "spec", "imagePullSecrets"),
    ("spec", "template", "spec", "priorityClassName"),
    ("spec", "template", "spec", "nodeSelector"),
    ("spec", "template", "spec", "tolerations"),
    ("spec", "template", "spec", "affinity"),
    ("spec", "template", "spec", "topologySpreadConstraints"),
)


def _dig(obj: Obj, path: tuple[str, ...]) -> Any:
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def test_upstream_values_render_the_go_charts_objects_and_fields() -> None:
    theirs = render(values=(UPSTREAM_VALUES,), chart=upstream_chart(), namespace="pki")
    ours = render(values=(UPSTREAM_VALUES,), namespace="pki")
    names = {(o["kind"], o["metadata"]["name"]) for o in ours}
    missing = {(o["kind"], o["metadata"]["name"]) for o in theirs} - names
    assert missing == set(), "objects of the Go chart this chart does not create"
    dep_theirs, dep_ours = one(theirs, "Deployment"), one(ours, "Deployment")
    for path in _SAME_FIELDS:
        assert _dig(dep_ours, path) == _dig(dep_theirs, path), path
    labels = dep_theirs["spec"]["template"]["metadata"]["labels"]
    assert labels.items() <= dep_ours["spec"]["template"]["metadata"]["labels"].items()
    c_theirs, c_ours = container(theirs), container(ours)
    for field in ("image", "imagePullPolicy", "env", "resources"):
        assert c_ours[field] == c_theirs[field], field
    assert all(m in c_ours["volumeMounts"] for m in c_theirs["volumeMounts"])
    pod_theirs = dep_theirs["spec"]["template"]["spec"]
    pod_ours = dep_ours["spec"]["template"]["spec"]
    assert all(v in pod_ours["volumes"] for v in pod_theirs["volumes"])
    assert pod_ours["containers"][1:] == pod_theirs["containers"][1:]  # extraContainers
    for kind in ("Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ServiceMonitor"):
        assert one(ours, kind)["spec"] == one(theirs, kind)["spec"], kind


def test_schema_accepts_the_go_charts_own_values_file() -> None:
    """The Go chart's values.yaml, every key at its default, passes our schema; only its
    64Mi memory limit is refused, by the memory check and not the schema."""
    go_values = upstream_chart() / "values.yaml"
    objs = render(values=(go_values,), sets=("resources.limits.memory=256Mi",))
    assert one(objs, "Deployment")
    res = helm(*template_args(values=(go_values,)), check=False)
    assert res.returncode != 0
    assert SCHEMA_ERROR not in res.stderr
    assert "resources.limits.memory=64Mi is below 128Mi" in res.stderr


# --- the memory limit ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "refused"),
    [
        ("64Mi", True),
        ("100M", True),
        ("0.1Gi", True),
        ("--set-json resources.limits.memory=67108864", True),
        ("127Mi", True),
        ("128Mi", False),
        ("134217728", False),
        ("1Gi", False),
        ("200M", False),
    ],
)
def test_memory_limit_below_what_the_controller_needs_is_refused(limit: str, refused: bool) -> None:
    s = limit if limit.startswith("--") else f"resources.limits.memory={limit}"
    res = helm(*template_args(sets=(s,)), check=False)
    assert (res.returncode != 0) is refused, res.stderr
    if refused:
        assert "is below 128Mi, the least this Python controller runs in" in res.stderr
        assert "62 MiB with 100 issuers" in res.stderr  # the measured figure, not a guess


def test_memory_request_or_no_limit_is_not_judged() -> None:
    for sets in (
        ("resources.requests.memory=64Mi",),
        ("resources.limits=null",),
        ("resources=null",),
    ):
        assert one(render(sets=sets), "Deployment")


# --- CRDs as templates -----------------------------------------------------------------------


def test_crds_are_templates_kept_on_uninstall_and_equal_to_manifests() -> None:
    crds = by_kind(render(), "CustomResourceDefinition")
    assert {c["metadata"]["name"] for c in crds} == CRD_NAMES
    shipped = {
        d["metadata"]["name"]: d
        for f in (ROOT / "manifests" / "crds").glob("*.yaml")
        for d in yaml.safe_load_all(f.read_text())
        if d
    }
    for crd in crds:
        name = crd["metadata"]["name"]
        assert crd["spec"] == shipped[name]["spec"]
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert crd["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    unkept = by_kind(render(sets=("crds.keep=false",)), "CustomResourceDefinition")
    assert len(unkept) == 2
    assert all(
        "helm.sh/resource-policy" not in (c["metadata"].get("annotations") or {}) for c in unkept
    )
    assert by_kind(render(sets=("crds.enabled=false",)), "CustomResourceDefinition") == []


def _grants(objs: list[Obj]) -> dict[str, set[str]]:
    """resource -> verbs, over the controller's ClusterRole and Roles (not the approver's)."""
    out: dict[str, set[str]] = {}
    for o in objs:
        if o["kind"] not in ("ClusterRole", "Role") or "approve" in o["metadata"]["name"]:
            continue
        for r in o["rules"]:
            for res in r["resources"]:
                out.setdefault(res, set()).update(r["verbs"])
    return out


def test_rbac_is_the_go_charts_or_narrower() -> None:
    """Every verb we grant on a resource, the Go chart grants too; on CertificateRequests
    we grant exactly its verbs (a ClusterRole copied from it is enough for the controller)."""
    ours = _grants(render(values=(UPSTREAM_VALUES,)))
    theirs = _grants(render(values=(UPSTREAM_VALUES,), chart=upstream_chart()))
    wider = {res: verbs - theirs.get(res, set()) for res, verbs in ours.items()}
    assert {res: v for res, v in wider.items() if v} == {}
    assert ours["certificaterequests"] == theirs["certificaterequests"]
    assert ours["serviceaccounts/token"] == theirs["serviceaccounts/token"] == {"create"}
