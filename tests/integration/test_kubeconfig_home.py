"""Without --kubeconfig or KUBECONFIG, outside a cluster, the controller uses ~/.kube/config.

As controller-runtime does. The process gets a HOME whose .kube/config is the
control plane's admin kubeconfig and no flag: it must reach the API server
and authenticate with it, which it proves by taking a Lease of its own.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.stack import CONTROLLER_NS


def test_controller_without_kubeconfig_flag_uses_home_kube_config(
    control_plane: ControlPlane, kube: KubeClient, emulator: Any, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    shutil.copy(control_plane.kubeconfig, home / ".kube" / "config")
    control_plane.ensure_namespace(CONTROLLER_NS)
    lease = f"home-kubeconfig-{uuid.uuid4().hex[:8]}"
    proc = IssuerProcess(
        control_plane,
        aws_endpoint=emulator.url,
        name="home-kubeconfig",
        env={"HOME": str(home)},
        kubeconfig_flag=False,
        # A Lease of its own, taken at once; it is stopped as soon as it holds it, so
        # it barely overlaps the shared controller.
        args=(
            "--leader-elect",
            "--leader-election-namespace",
            CONTROLLER_NS,
            "--leader-election-id",
            lease,
        ),
    )
    assert proc.kubeconfig_flag is False
    with proc:
        held = kube.wait_for(
            f"/apis/coordination.k8s.io/v1/namespaces/{CONTROLLER_NS}/leases/{lease}",
            lambda o: bool((o.get("spec") or {}).get("holderIdentity")),
            timeout=60,
            what=f"Lease {lease} held",
        )
    assert held["spec"]["holderIdentity"]
    assert "--kubeconfig" not in " ".join(proc.proc.argv if proc.proc else [])
