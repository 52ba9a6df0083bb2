"""Issue 12: the controller works with exactly the verbs the Go issuer's v1.12 chart grants.

Upstream's ClusterRole rules are taken as they are from its chart (module
source at the pinned version), bound to a ServiceAccount, and the controller
runs as that ServiceAccount (a TokenRequest token in its kubeconfig). No
other permission is added.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import make_csr, new_key
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.stack import CONTROLLER_NS, start_controller
from awspca_devstack.tools import upstream_module_dir
from awspca_emulator import AdminClient

from tests import flows
from tests.integration.test_request_writes import issue_calls, issue_in_progress, ready_issuer

RBAC = "/apis/rbac.authorization.k8s.io/v1"
SA = "upstream-rbac"


def upstream_cluster_role_rules() -> list[dict[str, Any]]:
    """The rules of the ClusterRole in upstream's chart, verbatim (template lines dropped)."""
    text = (upstream_module_dir() / "charts/aws-pca-issuer/templates/rbac.yaml").read_text()
    for doc in text.split("\n---"):
        plain = "\n".join(line for line in doc.splitlines() if "{{" not in line)
        parsed = yaml.safe_load(plain)
        if isinstance(parsed, dict) and parsed.get("kind") == "ClusterRole":
            rules = parsed["rules"]
            assert isinstance(rules, list)
            return rules
    raise AssertionError("no ClusterRole in upstream's chart")


def _bind_upstream_role(cp: ControlPlane, kube: KubeClient) -> Path:
    """A ServiceAccount bound to upstream's ClusterRole; returns a kubeconfig path for it."""
    cp.ensure_namespace(CONTROLLER_NS)
    cp.create_service_account(CONTROLLER_NS, SA)
    if not kube.exists(f"{RBAC}/clusterroles/{SA}"):
        kube.create(
            f"{RBAC}/clusterroles",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": SA},
                "rules": upstream_cluster_role_rules(),
            },
        )
        kube.create(
            f"{RBAC}/clusterrolebindings",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": SA},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": SA,
                },
                "subjects": [{"kind": "ServiceAccount", "name": SA, "namespace": CONTROLLER_NS}],
            },
        )
    token = cp.service_account_token(CONTROLLER_NS, SA, (), 3600)
    return cp.write_kubeconfig_for_token(token, SA)


@contextmanager
def upstream_rbac_controller(
    cp: ControlPlane, kube: KubeClient, emulator: Any, workdir: Path, shared: IssuerProcess
) -> Iterator[IssuerProcess]:
    kubeconfig = _bind_upstream_role(cp, kube)
    shared.stop()
    try:
        with start_controller(cp, emulator, workdir, SA, kubeconfig=kubeconfig) as proc:
            yield proc
    finally:
        shared.start()


def test_issues_with_exactly_upstreams_cluster_role(
    control_plane: ControlPlane,
    kube: KubeClient,
    emulator: Any,
    admin: AdminClient,
    workdir: Path,
    controller: IssuerProcess,
    namespace: str,
) -> None:
    rules = upstream_cluster_role_rules()
    cr_verbs = next(r["verbs"] for r in rules if r["resources"] == ["certificaterequests"])
    assert sorted(cr_verbs) == ["get", "list", "update", "watch"]  # no patch
    with upstream_rbac_controller(control_plane, kube, emulator, workdir, controller) as proc:
        ca = ready_issuer(kube, admin, namespace)
        issue_in_progress(kube, admin, namespace, "rbac", "rbac.test")
        assert len(issue_calls(admin, ca)) == 1
        # v1.12: our group, a kind we do not serve.
        csr, _ = make_csr("rbac.test", key=new_key("ec256"))
        flows.create_request(
            kube, namespace, "oddkind", csr, issuer_kind="AWSPCASomething", issuer_name="pca"
        )
        failed = flows.wait_request(kube, namespace, "oddkind", reason="Failed", timeout=30)
        assert flows.condition_message(failed) == "unsupported issuer kind: AWSPCASomething"
        assert failed["status"]["failureTime"]
        # Nothing done for these requests was refused. (Issuers other tests left
        # behind may need verbs upstream's role does not grant, e.g. TokenRequest
        # for a serviceAccountRef; those refusals are theirs, not this path's.)
        refused = [
            line
            for line in proc.log_text().lower().splitlines()
            if "forbidden" in line and ("certificaterequest" in line or namespace in line)
        ]
        assert not refused, refused[:3]
