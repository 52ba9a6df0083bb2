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

import pytest

from tests.harness import ControlPlane, KubeClient
from tests.harness.certmanager import CertManager

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


@pytest.fixture(scope="session")
def cert_manager(control_plane: ControlPlane) -> Iterator[CertManager]:
    cm = CertManager(control_plane).start()
    yield cm
    cm.stop()
