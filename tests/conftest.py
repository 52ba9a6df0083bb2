"""Session fixtures over the real-component harness.

A control plane is started once per session, only if a test asks for it.
Its working directory (certificates, kubeconfig, every process's log) is
removed after a green session and kept, with its path printed, after a red one.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.certmanager import CertManager
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.stack import emulator_config, start_controller
from awspca_emulator import AdminClient, run_in_thread

_failed = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if getattr(report, "failed", False):
        item.session.stash[_failed] = True
    return report


@pytest.fixture(scope="session")
def workdir(request: pytest.FixtureRequest) -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="awspca-tests-"))
    yield d
    if request.session.stash.get(_failed, False) or request.session.testsfailed:
        print(f"\n[harness] logs of this failed session kept in {d}")
    else:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def control_plane(workdir: Path) -> Iterator[ControlPlane]:
    cp = ControlPlane(workdir, "cp")
    try:
        cp.start()
        yield cp
    finally:
        cp.stop()


@pytest.fixture(scope="session")
def kube(control_plane: ControlPlane) -> KubeClient:
    return control_plane.admin


@pytest.fixture
def namespace(control_plane: ControlPlane, request: pytest.FixtureRequest) -> str:
    return control_plane.new_namespace(request.node.name.replace("_", "-")[:30])


@pytest.fixture(scope="module")
def cert_manager(control_plane: ControlPlane) -> Iterator[CertManager]:
    """cert-manager for one test module only: its approver approves every request,
    which tests of unapproved and denied requests elsewhere must not see."""
    cm = CertManager(control_plane).start()
    yield cm
    cm.stop()


@pytest.fixture(scope="session")
def emulator(control_plane: ControlPlane) -> Iterator[Any]:
    """The PCA + STS emulator, trusting the control plane's ServiceAccount tokens."""
    handle = run_in_thread(emulator_config(control_plane))
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def admin(emulator: Any) -> AdminClient:
    return AdminClient(emulator.url)


@pytest.fixture(scope="session")
def cas(admin: AdminClient) -> dict[str, dict[str, str]]:
    """An RSA and an EC root -> subordinate (PathLen1) hierarchy, both ACTIVE.

    PathLen1 lets the subordinate sign CA certificates of path length 0, as
    the Istio intermediate-per-cluster setup needs.
    """
    return {
        "rsa": admin.bootstrap(key_algorithm="RSA_2048", subordinate_pathlen=1),
        "ec": admin.bootstrap(key_algorithm="EC_prime256v1", subordinate_pathlen=1),
    }


@pytest.fixture(scope="session")
def controller(
    control_plane: ControlPlane, emulator: Any, workdir: Path
) -> Iterator[IssuerProcess]:
    """The shared controller (IRSA ambient credentials, no leader election)."""
    proc = start_controller(control_plane, emulator, workdir, "controller")
    yield proc
    proc.stop()


@pytest.fixture
def e2e_controller(controller: IssuerProcess, cert_manager: CertManager) -> IssuerProcess:
    """The shared controller with cert-manager running beside it.

    One controller per control plane: a second one without leader election
    would reconcile the same requests.
    """
    return controller
