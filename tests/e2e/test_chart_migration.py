"""Migrating a release of the Go issuer's chart (v1.12.0) to this chart, on a real API server.

What a user does: the Go chart (from its module source) is installed with a
v1.12 values file (``ci/upstream-values.yaml``), which brings the Go issuer's
CRDs, RBAC and ServiceAccount; issuers and cert-manager Certificates are
created under those CRDs. Then ``helm upgrade`` of the same release to this
chart, with the same values file. The Go controller never runs here (no
kubelet, and it is not what is under test): its requests wait, as they would
while the issuer's pods roll over. Our controller then runs as a process with
the upgraded Deployment's args and env, authenticated as the chart's
ServiceAccount (a TokenRequest token), so the chart's RBAC is what it gets.

Checked: every object survives the upgrade (same UIDs), our controller issues
for the issuers created under the Go CRDs, each Certificate costs exactly one
IssueCertificate (the emulator's call log), the CRDs are left alone until
adopted as the README says, and after adoption, another upgrade and a
controller restart nothing is issued again.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.certmanager import CertManager
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.kubeclient import condition
from awspca_devstack.stack import ACCOUNT, DEFAULT_KEYS
from awspca_emulator import AdminClient
from prometheus_client.parser import text_string_to_metric_families

from tests import flows
from tests.e2e.test_certificates import create_certificate, wait_certificate_ready
from tests.e2e.test_chart_install import (
    CRD_PATH,
    SERVICE_MONITOR_CRD,
    chart_process,
    delete_our_crds,
    one_role_emulator,
)
from tests.e2e.test_chart_render import (
    CHART,
    CRD_NAMES,
    UPSTREAM_VALUES,
    helm,
    upstream_chart,
)

pytestmark = pytest.mark.e2e

RELEASE = "aws-privateca-issuer"
NS = "pki"
VALUES = yaml.safe_load(UPSTREAM_VALUES.read_text())
DEPLOYMENT = VALUES["fullnameOverride"]
SA = VALUES["serviceAccount"]["name"]
ROLE_ARN = VALUES["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
TEAM_NS = "team-a"
SECRET_NS = "pca-secrets"
CM = "/apis/cert-manager.io/v1"

#: (Certificate, issuer kind, issuer name). The values file turns ambient credentials
#: off for cluster issuers and on for namespaced ones: the cluster issuer reads a Secret
#: (written the way Go clients write secretRef), the namespaced one uses the
#: controller's IRSA role.
CERTIFICATES = (
    ("web", "AWSPCAIssuer", "pca-ambient"),
    ("api", "AWSPCAClusterIssuer", "pca-secret"),
)


def test_values_file_is_for_the_go_chart() -> None:
    assert f"arn:aws:iam::{ACCOUNT}:role/pca-issuer" == ROLE_ARN
    assert VALUES["enableIssuerAmbientCredentials"] is True
    assert VALUES["disableClusterIssuerAmbientCredentials"] is True


@pytest.fixture(scope="module")
def cp(workdir: Path) -> Iterator[ControlPlane]:
    """A control plane with cert-manager's CRDs and no CRD of ours: the Go chart brings its own."""
    plane = ControlPlane(workdir, "migration")
    try:
        plane.start()
        delete_our_crds(plane.admin)
        plane.admin.create(CRD_PATH, SERVICE_MONITOR_CRD)
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="module")
def emulator(cp: ControlPlane) -> Iterator[Any]:
    handle = one_role_emulator(cp, "pca-issuer", f"system:serviceaccount:{NS}:{SA}")
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def cert_manager(cp: ControlPlane) -> Iterator[CertManager]:
    cm = CertManager(cp).start()
    yield cm
    cm.stop()


def chart_helm(cp: ControlPlane, *args: str) -> str:
    return helm(*args, "--kubeconfig", str(cp.kubeconfig)).stdout


def issue_calls(emulator: Any) -> list[dict[str, Any]]:
    return AdminClient(emulator.url).calls("IssueCertificate")


def uids(kube: KubeClient) -> dict[str, str]:
    """UIDs of everything a migration must keep: issuers, Certificates, requests, Secrets."""
    paths = [
        flows.issuer_path("AWSPCAIssuer", TEAM_NS, "pca-ambient"),
        flows.issuer_path("AWSPCAClusterIssuer", None, "pca-secret"),
        f"/api/v1/namespaces/{SECRET_NS}/secrets/aws-creds",
    ]
    paths += [f"{CM}/namespaces/{TEAM_NS}/certificates/{name}" for name, _, _ in CERTIFICATES]
    out = {p: kube.get(p)["metadata"]["uid"] for p in paths}
    for cr in kube.get(f"{CM}/namespaces/{TEAM_NS}/certificaterequests")["items"]:
        out[cr["metadata"]["name"]] = cr["metadata"]["uid"]
    return out


@dataclass
class Migration:
    """What one step of the migration hands to the next (the tests run in file order)."""

    arn: str = ""
    before: dict[str, str] = field(default_factory=dict)
    issued: dict[str, bytes] = field(default_factory=dict)


@pytest.fixture(scope="module")
def state() -> Migration:
    return Migration()


def test_go_chart_installs_its_crds_and_objects(cp: ControlPlane, emulator: Any) -> None:
    chart_helm(
        cp, "install", RELEASE, str(upstream_chart()), "-n", NS, "--create-namespace",
        "-f", str(UPSTREAM_VALUES),
    )  # fmt: skip
    kube = cp.admin
    for name in CRD_NAMES:
        crd = kube.get(f"{CRD_PATH}/{name}")
        assert "additionalPrinterColumns" not in crd["spec"]["versions"][0]  # the Go CRDs
        assert "meta.helm.sh/release-name" not in (crd["metadata"].get("annotations") or {})
    dep = kube.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{DEPLOYMENT}")
    assert dep["spec"]["template"]["spec"]["containers"][0]["command"] == ["/manager"]
    assert kube.exists(f"/api/v1/namespaces/{NS}/serviceaccounts/{SA}")


def test_issuers_and_certificates_under_the_go_crds(
    cp: ControlPlane,
    emulator: Any,
    cert_manager: CertManager,
    state: Migration,
) -> None:
    kube = cp.admin
    state.arn = AdminClient(emulator.url).bootstrap(key_algorithm="EC_prime256v1")[
        "subordinate_arn"
    ]
    cp.ensure_namespace(TEAM_NS)
    cp.ensure_namespace(SECRET_NS)
    flows.create_secret(kube, SECRET_NS, "aws-creds", DEFAULT_KEYS)
    flows.create_issuer(kube, "AWSPCAIssuer", "pca-ambient", arn=state.arn, namespace=TEAM_NS)
    flows.create_issuer(
        kube,
        "AWSPCAClusterIssuer",
        "pca-secret",
        arn=state.arn,
        secret_ref={
            "name": "aws-creds",
            "namespace": SECRET_NS,
            # what the Go issuer's typed client writes for unset selectors
            "accessKeyIDSelector": {"key": ""},
            "secretAccessKeySelector": {"key": ""},
        },
    )
    for name, kind, issuer in CERTIFICATES:
        create_certificate(
            kube,
            TEAM_NS,
            name,
            {
                "commonName": f"{name}.example.com",
                "dnsNames": [f"{name}.example.com"],
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {"group": "awspca.cert-manager.io", "kind": kind, "name": issuer},
            },
        )

    def one_request_each(listing: dict[str, Any]) -> bool:
        names = [cr["metadata"]["name"] for cr in listing["items"]]
        return all(any(n.startswith(f"{c}-") for n in names) for c, _, _ in CERTIFICATES)

    kube.wait_for(
        f"{CM}/namespaces/{TEAM_NS}/certificaterequests",
        one_request_each,
        timeout=120,
        what="cert-manager's CertificateRequests",
    )
    assert issue_calls(emulator) == []  # nothing signs while the Go controller is away
    state.before = uids(kube)


def test_helm_upgrade_to_this_chart_with_the_same_values_keeps_every_object(
    cp: ControlPlane,
    state: Migration,
) -> None:
    # --reuse-values would keep the Go chart's defaults instead of ours: refused, clearly.
    reused = helm(
        "upgrade", RELEASE, str(CHART), "-n", NS, "--reuse-values",
        "--kubeconfig", str(cp.kubeconfig), check=False,
    )  # fmt: skip
    assert reused.returncode != 0
    assert "values of this chart are missing" in reused.stderr, reused.stderr
    assert "--reset-then-reuse-values" in reused.stderr
    out = chart_helm(cp, "upgrade", RELEASE, str(CHART), "-n", NS, "-f", str(UPSTREAM_VALUES))
    kube = cp.admin
    assert uids(kube) == state.before
    history = json.loads(chart_helm(cp, "history", RELEASE, "-n", NS, "-o", "json"))
    assert [h["status"] for h in history] == ["superseded", "deployed"]
    assert history[-1]["chart"].startswith("aws-privateca-issuer-0.")
    dep = kube.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{DEPLOYMENT}")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert "command" not in c  # the image's own entry point, python -m issuer
    assert c["args"][:5] == [
        "--leader-elect",
        "-disable-approved-check",
        "-disable-client-side-rate-limiting",
        "--cluster-issuer-ambient-credentials=false",
        "--issuer-ambient-credentials=true",
    ]
    assert dep["metadata"]["annotations"].items() >= VALUES["deploymentAnnotations"].items()
    assert kube.exists(
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/roles/{DEPLOYMENT}-tokenrequest"
    )
    # The Go chart's CRDs belong to no release of this chart: left alone, and said so.
    assert "CRDs NOT UPGRADED" in out
    for name in CRD_NAMES:
        assert name in out
        assert (
            "additionalPrinterColumns" not in kube.get(f"{CRD_PATH}/{name}")["spec"]["versions"][0]
        )
    # ... and a field only our CRDs know is silently dropped, as the README warns.
    assert _session_selector_survives(kube) is False


def _session_selector_survives(kube: KubeClient) -> bool:
    """Create an issuer with secretRef.sessionTokenSelector (ours, not v1.12's); is it stored?"""
    path = flows.issuer_path("AWSPCAIssuer", TEAM_NS, "pca-ambient")
    issuer = flows.create_issuer(
        kube,
        "AWSPCAIssuer",
        "session-selector",
        arn=kube.get(path)["spec"]["arn"],
        namespace=TEAM_NS,
        secret_ref={"name": "aws-creds", "sessionTokenSelector": {"key": "AWS_SESSION_TOKEN"}},
    )
    kube.request("DELETE", flows.issuer_path("AWSPCAIssuer", TEAM_NS, "session-selector"))
    return "sessionTokenSelector" in issuer["spec"]["secretRef"]


def _start_controller(cp: ControlPlane, emulator: Any, workdir: Path, name: str) -> IssuerProcess:
    return chart_process(cp, NS, DEPLOYMENT, emulator, workdir, name=name).start()


def _secret_certificates(kube: KubeClient) -> dict[str, bytes]:
    out = {}
    for name, _, _ in CERTIFICATES:
        data = kube.get(f"/api/v1/namespaces/{TEAM_NS}/secrets/{name}-tls")["data"]
        out[name] = base64.b64decode(data["tls.crt"])
    return out


def test_our_controller_issues_for_the_existing_issuers_once_each(
    cp: ControlPlane,
    emulator: Any,
    cert_manager: CertManager,
    workdir: Path,
    state: Migration,
) -> None:
    kube = cp.admin
    proc = _start_controller(cp, emulator, workdir, "migrated-issuer")
    try:
        flows.wait_issuer_ready(kube, "AWSPCAIssuer", "pca-ambient", TEAM_NS, timeout=120)
        flows.wait_issuer_ready(kube, "AWSPCAClusterIssuer", "pca-secret", timeout=120)
        for name, _, _ in CERTIFICATES:
            wait_certificate_ready(kube, TEAM_NS, name)
    finally:
        proc.stop()
    assert "forbidden" not in proc.log_text().lower(), proc.log_text()[-3000:]
    assert len(issue_calls(emulator)) == len(CERTIFICATES)
    requests = kube.get(f"{CM}/namespaces/{TEAM_NS}/certificaterequests")["items"]
    assert len(requests) == len(CERTIFICATES)
    for cr in requests:
        assert cr["metadata"]["annotations"]["aws-privateca-issuer/certificate-arn"]
    state.issued = _secret_certificates(kube)
    assert uids(kube) == state.before


def test_adopted_crds_are_upgraded_and_nothing_is_issued_again(
    cp: ControlPlane,
    emulator: Any,
    cert_manager: CertManager,
    workdir: Path,
    state: Migration,
) -> None:
    """The README's adoption commands, another upgrade, a controller restart: the CRDs are
    ours now, every object is still there, and only a new Certificate costs an issuance."""
    kube = cp.admin
    for name in CRD_NAMES:
        cp.kubectl("label", "crd", name, "app.kubernetes.io/managed-by=Helm", "--overwrite")
        cp.kubectl(
            "annotate", "crd", name, f"meta.helm.sh/release-name={RELEASE}",
            f"meta.helm.sh/release-namespace={NS}", "--overwrite",
        )  # fmt: skip
    # The values of the last release, on this chart's defaults (what the refusal suggests).
    out = chart_helm(cp, "upgrade", RELEASE, str(CHART), "-n", NS, "--reset-then-reuse-values")
    assert "CRDs NOT UPGRADED" not in out
    dep = kube.get(f"/apis/apps/v1/namespaces/{NS}/deployments/{DEPLOYMENT}")
    assert dep["metadata"]["annotations"].items() >= VALUES["deploymentAnnotations"].items()
    manifest = chart_helm(cp, "get", "manifest", RELEASE, "-n", NS)
    for name in CRD_NAMES:
        assert f"name: {name}" in manifest
        crd = kube.get(f"{CRD_PATH}/{name}")
        assert crd["spec"]["versions"][0]["additionalPrinterColumns"]  # ours
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        kube.wait_for(
            f"{CRD_PATH}/{name}",
            lambda o: (condition(o, "Established") or {}).get("status") == "True",
            what=f"CRD {name} Established",
        )
    assert uids(kube) == state.before
    assert _session_selector_survives(kube) is True  # our CRDs now: nothing pruned
    calls = len(issue_calls(emulator))
    proc = _start_controller(cp, emulator, workdir, "restarted-issuer")
    try:
        flows.wait_issuer_ready(kube, "AWSPCAIssuer", "pca-ambient", TEAM_NS, timeout=120)
        create_certificate(
            kube,
            TEAM_NS,
            "after",
            {
                "commonName": "after.example.com",
                "dnsNames": ["after.example.com"],
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {
                    "group": "awspca.cert-manager.io",
                    "kind": "AWSPCAClusterIssuer",
                    "name": "pca-secret",
                },
            },
        )
        wait_certificate_ready(kube, TEAM_NS, "after")
        # The old requests were queued by the controller's first list, before "after"
        # existed; once its queues are empty and no worker is busy, each was reconciled.
        _wait_drained(proc)
    finally:
        proc.stop()
    assert len(issue_calls(emulator)) == calls + 1
    assert _secret_certificates(kube) == state.issued
    assert uids(kube).items() >= state.before.items()


def _wait_drained(proc: IssuerProcess, timeout: float = 60) -> None:
    """Until every work queue of the controller is empty and no worker is busy."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(proc.metrics_url, timeout=5) as resp:  # noqa: S310
            text = resp.read().decode()
        samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
        depth = sum(s.value for s in samples if s.name == "workqueue_depth")
        busy = sum(s.value for s in samples if s.name == "controller_runtime_active_workers")
        if depth == 0 and busy == 0:
            return
        assert time.monotonic() < deadline, f"queues not drained: depth {depth}, busy {busy}"
        time.sleep(0.2)
