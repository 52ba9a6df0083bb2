"""The container image, built and run as the chart's pod: it issues, probes, stops cleanly.

``hack/image.sh build`` builds the image (Debian base made once with
mmdebstrap, then buildah); podman runs it with what helm renders from the
chart's values.yaml: its args and env, read-only root, uid 65532, no
capabilities, the /tmp emptyDir, the ServiceAccount's token + CA + namespace
mounted where the in-cluster configuration reads them. It talks to its own
control plane and an emulator on the host's loopback (host network). On a
machine that cannot build images (no root, no apt) the module is skipped with
the one-line reason hack/image.sh gives.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.chartpod import (
    CannotBuildHere,
    ChartPod,
    PodSpec,
    build_image,
    emulator_env,
    install_identity,
    irsa_emulator_config,
    run_once,
)
from awspca_devstack.csrs import make_csr
from awspca_devstack.stack import IRSA_ROLE
from awspca_emulator import AdminClient, run_in_thread

from tests import flows
from tests.e2e.test_chart_render import render

# A cold image build (apt, the Debian base, pip) takes minutes on a loaded machine.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[2]
KIND = "AWSPCAClusterIssuer"


@pytest.fixture(scope="module")
def image() -> str:
    try:
        return build_image()
    except CannotBuildHere as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def spec() -> PodSpec:
    return PodSpec.from_rendered(render())


@dataclasses.dataclass
class Stack:
    cp: ControlPlane
    kube: KubeClient
    emulator: Any
    ca: dict[str, str]


@pytest.fixture(scope="module")
def stack(workdir: Path, spec: PodSpec, image: str) -> Iterator[Stack]:
    """A control plane of its own (no other controller reconciles there), the chart's
    ServiceAccount and RBAC applied, an emulator trusting that ServiceAccount for IRSA."""
    cp = ControlPlane(workdir, "image")
    cp.start()
    emulator = None
    try:
        objs = render()
        install_identity(cp, objs, spec)
        cfg = irsa_emulator_config(cp, spec)
        emulator = run_in_thread(cfg)
        ca = AdminClient(emulator.url).bootstrap(key_algorithm="EC_prime256v1")
        yield Stack(cp, cp.admin, emulator, ca)
    finally:
        if emulator is not None:
            emulator.stop()
        cp.stop()


def _locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name] = version
    return pins


_INVENTORY = """
import importlib.metadata as m, importlib.util as u, json, os, pathlib, sys
print(json.dumps({
    "uid": os.getuid(),
    "dists": {d.metadata["Name"].lower().replace("_", "-"): d.version for d in m.distributions()},
    "modules": {n: u.find_spec(n) is not None for n in ("pip", "setuptools", "awspca_emulator", "awspca_devstack", "tests", "issuer")},
    "pip_conf": [str(p) for p in map(pathlib.Path, ("/etc/pip.conf", "/etc/xdg/pip/pip.conf", "/run/secrets")) if p.exists()],
    "python": sys.version_info[:2],
}))
"""


def test_the_image_holds_the_locked_controller_and_nothing_else(image: str) -> None:
    code, out = run_once(image, "-c", _INVENTORY, entrypoint="python")
    assert code == 0, out
    inv = json.loads(out.strip().splitlines()[-1])
    assert inv["uid"] == 65532
    assert inv["modules"] == {
        "pip": False,
        "setuptools": False,
        "awspca_emulator": False,
        "awspca_devstack": False,
        "tests": False,
        "issuer": True,
    }
    assert inv["pip_conf"] == [], "build-time pip configuration left in the image"
    pins = _locked()
    dists = dict(inv["dists"])
    assert dists.pop("awspca-issuer") == "0.1.0"
    assert dists, "no dependencies installed"
    # Every installed distribution is the locked version the tests run with.
    assert {n: v for n, v in dists.items() if pins.get(n) != v} == {}


def test_without_the_serviceaccount_files_it_exits_with_one_line(image: str) -> None:
    code, out = run_once(image, "--log-format=json", env={"KUBERNETES_SERVICE_HOST": "127.0.0.1"})
    assert code == 1, out
    assert "Traceback" not in out, out
    assert "/var/run/secrets/kubernetes.io/serviceaccount does not exist" in out


def test_the_chart_pod_issues_answers_probes_and_stops_within_its_grace_period(
    image: str, spec: PodSpec, stack: Stack
) -> None:
    # As the chart runs it: the rendered args, its ports, hardened, leader-elected.
    assert spec.user == 65532
    assert spec.read_only_root
    assert spec.drop_all_capabilities
    assert spec.no_new_privileges
    assert "--leader-elect" in spec.args
    assert set(spec.ports) == {"http", "health"}
    pod = ChartPod(
        stack.cp,
        image,
        spec,
        name="e2e",
        aws_env=emulator_env(stack.emulator.url),
        irsa_role=IRSA_ROLE,
    )
    pod.start()
    try:
        pod.wait_probe("/healthz")
        pod.wait_probe("/readyz")
        status = pod.proc_status()
        assert status["Uid"].split()[:2] == ["65532", "65532"]
        assert int(status["CapEff"], 16) == 0
        assert status["NoNewPrivs"] == "1"
        # The container's cgroup carries the chart's memory limit.
        units = {"k": 2**10, "m": 2**20, "g": 2**30}
        assert spec.memory_limit
        number, unit = spec.memory_limit.rstrip("kmg"), spec.memory_limit.lstrip("0123456789")
        want = int(number) * units.get(unit, 1)
        assert int(pod.inspect("{{.HostConfig.Memory}}")) == want
        rss_idle = pod.rss_bytes()

        # One certificate end to end through IRSA (the pod identity webhook's token).
        flows.create_issuer(stack.kube, KIND, "image-ca", arn=stack.ca["subordinate_arn"])
        flows.wait_issuer_ready(stack.kube, KIND, "image-ca", timeout=120)
        ns = stack.cp.new_namespace("image")
        csr, key = make_csr("image.example.com", dns=("image.example.com",))
        flows.create_request(stack.kube, ns, "one", csr, issuer_kind=KIND, issuer_name="image-ca")
        obj = flows.wait_request(stack.kube, ns, "one", timeout=120)
        leaf = flows.verify_chain(obj, key)
        assert "image.example.com" in leaf.subject.rfc4514_string()

        code, metrics = pod.get("http", "/metrics")
        assert code == 200
        issued = re.search(
            r'^awspca_issuer_certificaterequests_total\{[^}]*outcome="issued"[^}]*\} (\S+)$',
            metrics,
            re.M,
        )
        assert issued, metrics[:2000]
        assert float(issued[1]) >= 1
        print(
            f"\n[image] RSS idle {rss_idle / 2**20:.1f} MiB, after one issuance "
            f"{pod.rss_bytes() / 2**20:.1f} MiB"
        )

        lease_path = f"/apis/coordination.k8s.io/v1/namespaces/{spec.namespace}/leases/" + next(
            a.split("=", 1)[1] for a in spec.args if a.startswith("--leader-election-id=")
        )
        assert stack.kube.get(lease_path)["spec"].get("holderIdentity")

        code, took = pod.terminate()
        assert code == 0, pod.logs()
        assert took < spec.grace_seconds
        # The Lease is released on the way out: a successor need not wait it out.
        assert not stack.kube.get(lease_path)["spec"].get("holderIdentity")
    finally:
        pod.remove()
