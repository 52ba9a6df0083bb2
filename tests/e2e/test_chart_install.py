"""The chart installed for real: helm install/upgrade/uninstall against a real kube-apiserver.

A control plane of its own (no other controller may sign the requests of this
module, and cluster-scoped names of the releases must not collide with other
tests). Pods never run here (no kubelet), so the controller is started as a
local process **authenticated as the chart's ServiceAccount** (a TokenRequest
token), with the Deployment's own args and the IRSA role from the
ServiceAccount's annotation: a certificate signed end to end proves the
chart's RBAC is enough, and ``kubectl auth can-i`` proves it is not more.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import make_csr, new_key
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.kubeclient import KubeError, condition
from awspca_devstack.stack import ACCOUNT, DEFAULT_KEYS
from awspca_emulator import (
    AdminClient,
    EmulatorConfig,
    EmulatorHandle,
    OidcIssuerConfig,
    RoleConfig,
    run_in_thread,
)

from tests import flows
from tests.e2e.test_chart_render import (
    CHART,
    CRD_NAMES,
    INSTALL_NAMESPACE,
    INSTALL_YAML,
    UPSTREAM_VALUES,
    helm,
    template_args,
)

pytestmark = pytest.mark.e2e

RELEASE = "aws-privateca-issuer"
NS = "awspca-chart"
SA = RELEASE  # the chart names its ServiceAccount after the release, as the Go chart does
SUBJECT = f"system:serviceaccount:{NS}:{SA}"
IRSA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/chart-irsa"
LEASE = "b858308c.awspca.cert-manager.io"
TEAM_NS = "team-a"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def one_role_emulator(cp: ControlPlane, role: str, subject: str) -> EmulatorHandle:
    """An emulator in this process whose only role trusts ``subject``'s tokens from ``cp``."""
    return run_in_thread(
        EmulatorConfig(
            oidc_issuers=[OidcIssuerConfig(issuer=cp.issuer_url, ca_file=str(cp.ca_file))],
            roles=[RoleConfig(name=role, trusted_subjects=[subject])],
        )
    )


def delete_our_crds(kube: KubeClient) -> None:
    """Delete the issuer CRDs (a cluster as before any install of ours) and wait until gone."""
    for name in CRD_NAMES:
        kube.request("DELETE", f"{CRD_PATH}/{name}")
    deadline = time.monotonic() + 60
    while any(kube.exists(f"{CRD_PATH}/{name}") for name in CRD_NAMES):
        assert time.monotonic() < deadline, "our CRDs were not deleted"
        time.sleep(0.2)


#: Stand-in for the Prometheus Operator's CRD, so the API server accepts a ServiceMonitor.
SERVICE_MONITOR_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
    "spec": {
        "group": "monitoring.coreos.com",
        "scope": "Namespaced",
        "names": {
            "kind": "ServiceMonitor",
            "listKind": "ServiceMonitorList",
            "plural": "servicemonitors",
            "singular": "servicemonitor",
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "x-kubernetes-preserve-unknown-fields": True,
                    }
                },
            }
        ],
    },
}


@pytest.fixture(scope="module")
def cp(workdir: Path) -> Iterator[ControlPlane]:
    plane = ControlPlane(workdir, "chart")
    try:
        plane.start()
        plane.admin.create(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", SERVICE_MONITOR_CRD
        )
        plane.admin.wait_for(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/servicemonitors.monitoring.coreos.com",
            lambda o: (condition(o, "Established") or {}).get("status") == "True",
            what="ServiceMonitor CRD Established",
        )
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="module")
def emulator(cp: ControlPlane) -> Iterator[Any]:
    """PCA + STS trusting this control plane's tokens for the chart's ServiceAccount only."""
    handle = one_role_emulator(cp, "chart-irsa", SUBJECT)
    yield handle
    handle.stop()


def kubectl(cp: ControlPlane, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return cp.kubectl(*args, check=check)


def chart_helm(
    cp: ControlPlane, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return helm(*args, "--kubeconfig", str(cp.kubeconfig), check=check)


@pytest.fixture(scope="module")
def release(cp: ControlPlane) -> str:
    """The chart installed with its defaults plus an IRSA role annotation."""
    chart_helm(
        cp,
        "install",
        RELEASE,
        str(CHART),
        "--namespace",
        NS,
        "--create-namespace",
        "--set",
        f"serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn={IRSA_ROLE}",
    )
    return NS


def _manifest_exists(cp: ControlPlane, manifest: str) -> list[str]:
    res = cp.kubectl("get", "-o", "name", "-f", "-", input_text=manifest)
    return sorted(res.stdout.split())


# --- plain manifests, before any release exists (no field-manager conflicts) -----------------


def test_rendered_manifests_apply_with_server_side_dry_run(cp: ControlPlane) -> None:
    cp.ensure_namespace(INSTALL_NAMESPACE)
    res = cp.kubectl("apply", "--server-side", "--dry-run=server", "-f", str(INSTALL_YAML))
    assert "serverside-applied (server dry run)" in res.stdout
    assert "deployment.apps/aws-privateca-issuer" in res.stdout
    ns = cp.new_namespace("dryrun")
    upstream = helm(*template_args(values=(UPSTREAM_VALUES,), namespace=ns, release="up")).stdout
    res = cp.kubectl("apply", "--server-side", "--dry-run=server", "-f", "-", input_text=upstream)
    for kind in ("horizontalpodautoscaler", "poddisruptionbudget", "servicemonitor", "deployment"):
        assert kind in res.stdout, res.stdout
    # nothing was created
    assert not cp.admin.exists(
        f"/apis/apps/v1/namespaces/{INSTALL_NAMESPACE}/deployments/{RELEASE}"
    )


# --- the default release -----------------------------------------------------------------------


def test_helm_install_objects_are_accepted(cp: ControlPlane, release: str) -> None:
    status = json.loads(chart_helm(cp, "status", RELEASE, "-n", release, "-o", "json").stdout)
    assert status["info"]["status"] == "deployed"
    notes = status["info"]["notes"]
    assert f"Deployment {RELEASE}" in notes
    assert "no IRSA role" not in notes  # the role annotation is set
    manifest = chart_helm(cp, "get", "manifest", RELEASE, "-n", release).stdout
    names = _manifest_exists(cp, manifest)
    assert f"deployment.apps/{RELEASE}" in names
    assert f"serviceaccount/{SA}" in names
    assert (
        "clusterrole.rbac.authorization.k8s.io/cert-manager-controller-approve:awspca-cert-manager-io"
        in names
    )
    assert f"role.rbac.authorization.k8s.io/{RELEASE}-leader-election" in names
    assert f"poddisruptionbudget.policy/{RELEASE}" in names
    dep = cp.admin.get(f"/apis/apps/v1/namespaces/{release}/deployments/{RELEASE}")
    sc = dep["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    sa = cp.admin.get(f"/api/v1/namespaces/{release}/serviceaccounts/{SA}")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == IRSA_ROLE


def chart_process(
    cp: ControlPlane,
    namespace: str,
    deployment: str,
    emulator: Any,
    workdir: Path,
    name: str = "chart-sa-issuer",
) -> IssuerProcess:
    """python -m issuer with the Deployment's args and env, as its ServiceAccount, with IRSA.

    Pods never run here; this is what the kubelet and EKS's pod identity webhook
    would give the container: the args and env of the stored Deployment, an API
    token of its ServiceAccount, and a web identity token for the role named in
    the ServiceAccount's annotation.
    """
    dep = cp.admin.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{deployment}")
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    sa_name = pod["serviceAccountName"]
    args = tuple(
        a for a in c["args"] if not a.startswith(("--metrics-bind-address", "--health-probe-bind"))
    )
    env = {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}
    sa = cp.admin.get(f"/api/v1/namespaces/{namespace}/serviceaccounts/{sa_name}")
    token_file = workdir / f"{name}-irsa.token"
    token_file.write_text(cp.service_account_token(namespace, sa_name, ("sts.amazonaws.com",)))
    token_file.chmod(0o600)
    env["AWS_ROLE_ARN"] = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    env["AWS_WEB_IDENTITY_TOKEN_FILE"] = str(token_file)
    api_token = cp.service_account_token(namespace, sa_name, (cp.issuer_url,))
    kubeconfig = cp.write_kubeconfig_for_token(api_token, name)
    return IssuerProcess(
        cp, aws_endpoint=emulator.url, name=name, args=args, env=env, kubeconfig=kubeconfig
    )


def test_controller_as_chart_service_account_issues_end_to_end(
    cp: ControlPlane, release: str, emulator: Any, workdir: Path
) -> None:
    kube = cp.admin
    ca = AdminClient(emulator.url).bootstrap(key_algorithm="EC_prime256v1")
    arn = ca["subordinate_arn"]
    cp.ensure_namespace(TEAM_NS)
    flows.create_secret(kube, TEAM_NS, "aws-creds", DEFAULT_KEYS)
    flows.create_secret(kube, release, "aws-creds", DEFAULT_KEYS)
    flows.create_issuer(
        kube, "AWSPCAIssuer", "pca", arn=arn, namespace=TEAM_NS, secret_ref={"name": "aws-creds"}
    )
    # IRSA: ambient credentials of the chart's ServiceAccount.
    flows.create_issuer(kube, "AWSPCAClusterIssuer", "pca-irsa", arn=arn)
    # Secret without namespace: read from the cluster resource namespace (the release's).
    flows.create_issuer(
        kube, "AWSPCAClusterIssuer", "pca-secret", arn=arn, secret_ref={"name": "aws-creds"}
    )
    proc = chart_process(cp, release, RELEASE, emulator, workdir).start()
    try:
        flows.wait_issuer_ready(kube, "AWSPCAIssuer", "pca", TEAM_NS)
        flows.wait_issuer_ready(kube, "AWSPCAClusterIssuer", "pca-irsa")
        flows.wait_issuer_ready(kube, "AWSPCAClusterIssuer", "pca-secret")
        keys = {}
        for name, kind, issuer in (
            ("ns-issuer", "AWSPCAIssuer", "pca"),
            ("irsa", "AWSPCAClusterIssuer", "pca-irsa"),
            ("cluster-secret", "AWSPCAClusterIssuer", "pca-secret"),
        ):
            keys[name] = new_key("ec256")
            csr, _ = make_csr(f"{name}.test", key=keys[name], dns=(f"{name}.test",))
            flows.create_request(
                kube,
                TEAM_NS,
                name,
                csr,
                issuer_kind=kind,
                issuer_name=issuer,
                usages=["server auth", "client auth"],
            )
        for name, key in keys.items():
            obj = flows.wait_request(kube, TEAM_NS, name)
            flows.verify_chain(obj, key)
            assert obj["metadata"]["annotations"]["aws-privateca-issuer/certificate-arn"]
        lease = kube.get(f"/apis/coordination.k8s.io/v1/namespaces/{release}/leases/{LEASE}")
        assert lease["spec"]["holderIdentity"]
        events = kube.get(f"/api/v1/namespaces/{TEAM_NS}/events")["items"]
        assert {"Issued"} <= {e["reason"] for e in events}
    finally:
        proc.stop()
    log = proc.log_text()
    assert "forbidden" not in log.lower(), "the controller hit an RBAC denial:\n" + log[-3000:]


def _can_i(cp: ControlPlane, *args: str, subject: str = SUBJECT) -> bool:
    res = cp.kubectl("auth", "can-i", *args, "--as", subject, check=False)
    answer = res.stdout.strip()
    assert answer in ("yes", "no"), res.stdout + res.stderr
    return answer == "yes"


ALLOWED = [
    ("list", "certificaterequests.cert-manager.io", "-A"),
    ("watch", "certificaterequests.cert-manager.io", "-A"),
    ("update", "certificaterequests.cert-manager.io", "-n", TEAM_NS),  # the Go chart's verb
    ("patch", "certificaterequests.cert-manager.io", "--subresource=status", "-n", TEAM_NS),
    ("watch", "awspcaissuers.awspca.cert-manager.io", "-A"),
    ("list", "awspcaclusterissuers.awspca.cert-manager.io"),
    ("patch", "awspcaissuers.awspca.cert-manager.io", "--subresource=status", "-n", TEAM_NS),
    ("patch", "awspcaclusterissuers.awspca.cert-manager.io", "--subresource=status"),
    ("get", "secrets", "-n", TEAM_NS),
    ("create", "events", "-n", TEAM_NS),
    ("create", "events", "-n", "default"),
    ("create", "leases.coordination.k8s.io", "-n", NS),
    ("get", f"leases.coordination.k8s.io/{LEASE}", "-n", NS),
    ("update", f"leases.coordination.k8s.io/{LEASE}", "-n", NS),
    ("get", "/readyz"),
    # spec.serviceAccountRef naming the controller's own ServiceAccount (as the Go chart grants)
    ("create", f"serviceaccounts/{SA}", "--subresource=token", "-n", NS),
]

DENIED = [
    ("list", "secrets", "-A"),
    ("watch", "secrets", "-A"),
    ("list", "secrets", "-n", NS),
    ("watch", "secrets", "-n", TEAM_NS),
    ("create", "secrets", "-n", NS),
    ("update", "secrets", "-n", TEAM_NS),
    ("delete", "secrets", "-n", TEAM_NS),
    ("create", "certificaterequests.cert-manager.io", "-n", TEAM_NS),
    ("update", "certificaterequests.cert-manager.io", "--subresource=status", "-n", TEAM_NS),
    ("patch", "certificaterequests.cert-manager.io", "-n", TEAM_NS),  # update is enough
    ("delete", "certificaterequests.cert-manager.io", "-n", TEAM_NS),
    ("patch", "awspcaissuers.awspca.cert-manager.io", "-n", TEAM_NS),
    ("delete", "awspcaclusterissuers.awspca.cert-manager.io"),
    ("create", "awspcaissuers.awspca.cert-manager.io", "-n", TEAM_NS),
    ("create", "leases.coordination.k8s.io", "-n", "default"),
    ("get", "leases.coordination.k8s.io/other-lease", "-n", NS),
    ("delete", f"leases.coordination.k8s.io/{LEASE}", "-n", NS),
    ("list", "leases.coordination.k8s.io", "-n", NS),
    ("list", "configmaps", "-A"),
    ("get", "pods", "-n", NS),
    ("create", "pods", "-n", NS),
    ("create", "pods", "--subresource=exec", "-n", NS),
    ("create", "serviceaccounts/other", "--subresource=token", "-n", NS),
    ("create", f"serviceaccounts/{SA}", "--subresource=token", "-n", TEAM_NS),
    ("create", "serviceaccounts", "-n", NS),
    ("approve", "signers.cert-manager.io"),
    ("*", "*", "-A"),
]


def test_chart_service_account_has_what_it_needs(cp: ControlPlane, release: str) -> None:
    refused = [a for a in ALLOWED if not _can_i(cp, *a)]
    assert refused == []


def test_chart_service_account_cannot_do_what_it_does_not_need(
    cp: ControlPlane, release: str
) -> None:
    allowed = [a for a in DENIED if _can_i(cp, *a)]
    assert allowed == []


def test_cert_manager_may_approve_requests_for_our_issuers_only(
    cp: ControlPlane, release: str
) -> None:
    def approve(name: str) -> bool:
        review = cp.admin.create(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SubjectAccessReview",
                "spec": {
                    "user": "system:serviceaccount:cert-manager:cert-manager",
                    "groups": ["system:serviceaccounts", "system:authenticated"],
                    "resourceAttributes": {
                        "group": "cert-manager.io",
                        "resource": "signers",
                        "verb": "approve",
                        "name": name,
                    },
                },
            },
        )
        return bool(review["status"].get("allowed"))

    assert approve("awspcaissuers.awspca.cert-manager.io/*")
    assert approve("awspcaclusterissuers.awspca.cert-manager.io/*")
    assert not approve("issuers.cert-manager.io/*")


def test_helm_upgrade_changes_the_deployment(cp: ControlPlane, release: str) -> None:
    chart_helm(
        cp,
        "upgrade",
        RELEASE,
        str(CHART),
        "-n",
        release,
        "--reuse-values",
        "--set",
        "workers=4",
        "--set",
        "logLevel=debug",
        "--set",
        "replicaCount=3",
    )
    history = json.loads(chart_helm(cp, "history", RELEASE, "-n", release, "-o", "json").stdout)
    assert [h["revision"] for h in history] == [1, 2]
    assert history[-1]["status"] == "deployed"
    dep = cp.admin.get(f"/apis/apps/v1/namespaces/{release}/deployments/{RELEASE}")
    assert dep["spec"]["replicas"] == 3
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--workers=4" in args
    assert "--log-level=debug" in args
    assert "--leader-elect" in args
    sa = cp.admin.get(f"/api/v1/namespaces/{release}/serviceaccounts/{SA}")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == IRSA_ROLE


def test_helm_uninstall_removes_everything_but_crds_and_issuers(
    cp: ControlPlane, release: str
) -> None:
    manifest = chart_helm(cp, "get", "manifest", RELEASE, "-n", release).stdout
    chart_helm(cp, "uninstall", RELEASE, "-n", release, "--wait", "--timeout", "60s")
    res = cp.kubectl("get", "-f", "-", "-o", "name", input_text=manifest, check=False)
    left = set(res.stdout.split())
    # The CRDs stay (crds.keep); whether this release managed them or found them
    # installed before it (the harness does) and left them alone.
    crds = {f"customresourcedefinition.apiextensions.k8s.io/{n}" for n in CRD_NAMES}
    assert left <= crds, f"left behind after uninstall: {left - crds}"
    for crd in (
        "awspcaissuers.awspca.cert-manager.io",
        "awspcaclusterissuers.awspca.cert-manager.io",
    ):
        assert cp.admin.exists(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd}")
    assert cp.admin.exists(flows.issuer_path("AWSPCAClusterIssuer", None, "pca-irsa"))


# --- an upstream values file, installed, upgraded and uninstalled --------------------------------


def test_upstream_values_file_installs_upgrades_and_uninstalls(cp: ControlPlane) -> None:
    ns = cp.new_namespace("upstream")
    chart_helm(cp, "install", "up", str(CHART), "-n", ns, "-f", str(UPSTREAM_VALUES))
    kube: KubeClient = cp.admin
    up = yaml.safe_load(UPSTREAM_VALUES.read_text())
    hpa = kube.get(f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/pca-issuer")
    assert hpa["spec"]["maxReplicas"] == up["autoscaling"]["maxReplicas"]
    pdb = kube.get(f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/pca-issuer")
    assert pdb["spec"]["minAvailable"] == 1
    sm = kube.get(f"/apis/monitoring.coreos.com/v1/namespaces/{ns}/servicemonitors/pca-issuer")
    assert sm["metadata"]["labels"]["release"] == "prometheus"
    sa = kube.get(f"/api/v1/namespaces/{ns}/serviceaccounts/pca-issuer-sa")
    assert up["serviceAccount"]["annotations"].items() <= sa["metadata"]["annotations"].items()
    assert kube.exists(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/cm-controller-approve:awspca-cert-manager-io"
    )

    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump({"autoscaling": {"enabled": False}}, f)
        f.flush()
        chart_helm(
            cp, "upgrade", "up", str(CHART), "-n", ns, "-f", str(UPSTREAM_VALUES), "-f", f.name
        )
    with pytest.raises(KubeError) as gone:
        kube.get(f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/pca-issuer")
    assert gone.value.code == 404
    dep = kube.get(f"/apis/apps/v1/namespaces/{ns}/deployments/pca-issuer")
    assert dep["spec"]["replicas"] == up["replicaCount"]

    chart_helm(cp, "uninstall", "up", "-n", ns, "--wait", "--timeout", "60s")
    assert not kube.exists(f"/apis/apps/v1/namespaces/{ns}/deployments/pca-issuer")
    assert not kube.exists("/apis/rbac.authorization.k8s.io/v1/clusterroles/pca-issuer")


# --- the pod passes the "restricted" Pod Security Standard -----------------------------------


def _dry_run_pod(cp: ControlPlane, ns: str, sets: tuple[str, ...] = ()) -> KubeError | None:
    """Create (dry run) a Pod from the chart's pod template in ``ns``; the refusal, if any."""
    objs = [
        d
        for d in yaml.safe_load_all(helm(*template_args(sets=sets, namespace=ns)).stdout)
        if d and d["kind"] == "Deployment"
    ]
    template = objs[0]["spec"]["template"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "issuer-pss", "namespace": ns, **template["metadata"]},
        "spec": template["spec"],
    }
    try:
        cp.admin.request("POST", f"/api/v1/namespaces/{ns}/pods", pod, params={"dryRun": "All"})
    except KubeError as e:
        return e
    return None


def test_pod_passes_the_restricted_pod_security_standard(cp: ControlPlane) -> None:
    ns = cp.new_namespace("pss")
    cp.admin.merge_patch(
        f"/api/v1/namespaces/{ns}",
        {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
    )
    assert _dry_run_pod(cp, ns) is None
    # The admission plugin is really enforcing: a weakened pod is refused.
    refused = _dry_run_pod(cp, ns, ("securityContext.allowPrivilegeEscalation=true",))
    assert refused is not None
    assert "restricted" in str(refused)


def test_readme_example_grants_tokens_of_one_more_service_account(
    cp: ControlPlane, release: str
) -> None:
    """The chart README's Role for another ServiceAccount's tokens works, and for that one only."""
    readme = (CHART / "README.md").read_text()
    block = readme.split("<!-- BEGIN TOKEN RBAC EXAMPLE")[1].split("<!-- END TOKEN RBAC EXAMPLE")[0]
    manifest = block.split("```yaml")[1].split("```")[0]
    # The README's release namespace is the default one; this test's release lives in NS.
    manifest = manifest.replace("namespace: aws-privateca-issuer", f"namespace: {NS}")
    cp.ensure_namespace(TEAM_NS)
    assert not _can_i(
        cp, "create", "serviceaccounts/pca-signer", "--subresource=token", "-n", TEAM_NS
    )
    cp.kubectl("apply", "-f", "-", input_text=manifest)
    assert _can_i(cp, "create", "serviceaccounts/pca-signer", "--subresource=token", "-n", TEAM_NS)
    assert not _can_i(cp, "create", "serviceaccounts/other", "--subresource=token", "-n", TEAM_NS)
    cp.kubectl("delete", "-f", "-", input_text=manifest)


def test_a_fresh_release_owns_the_crds_and_leaves_them_on_uninstall(cp: ControlPlane) -> None:
    """No CRDs yet: the release creates and owns them; a second release finds them owned by
    the first and leaves them alone (and says so); uninstall keeps them (crds.keep)."""
    delete_our_crds(cp.admin)
    first, second = cp.new_namespace("crds-a"), cp.new_namespace("crds-b")
    out = chart_helm(cp, "install", "fresh", str(CHART), "-n", first).stdout
    assert "CRDs NOT UPGRADED" not in out
    for name in CRD_NAMES:
        crd = cp.admin.get(f"{CRD_PATH}/{name}")
        assert crd["metadata"]["annotations"]["meta.helm.sh/release-name"] == "fresh"
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    out = chart_helm(
        cp, "install", "second", str(CHART), "-n", second, "--set", "approverRole.enabled=false"
    ).stdout
    assert "CRDs NOT UPGRADED" in out
    assert f"meta.helm.sh/release-name=second meta.helm.sh/release-namespace={second}" in out
    manifest = chart_helm(cp, "get", "manifest", "second", "-n", second).stdout
    assert "kind: CustomResourceDefinition" not in manifest
    for release, ns in (("second", second), ("fresh", first)):
        chart_helm(cp, "uninstall", release, "-n", ns, "--wait", "--timeout", "60s")
    for name in CRD_NAMES:
        assert cp.admin.exists(f"{CRD_PATH}/{name}")
