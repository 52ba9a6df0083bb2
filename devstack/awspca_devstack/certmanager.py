"""cert-manager's controller (approver + Certificate controllers) as a process against a ControlPlane."""

from __future__ import annotations

import time

from awspca_devstack import tools
from awspca_devstack.controlplane import ControlPlane
from awspca_devstack.procs import Process


class CertManager:
    """The cm-controller binary built by hack/build-tools.sh, running out of cluster."""

    def __init__(self, cp: ControlPlane, cluster_resource_namespace: str = "cert-manager") -> None:
        self.cp = cp
        self.cluster_resource_namespace = cluster_resource_namespace
        self.proc: Process | None = None

    def start(self) -> CertManager:
        self.cp.ensure_namespace(self.cluster_resource_namespace)
        argv = [
            str(tools.binary("cm-controller")),
            "--kubeconfig",
            str(self.cp.kubeconfig),
            "--cluster-resource-namespace",
            self.cluster_resource_namespace,
        ]
        self.proc = Process("cert-manager", argv, self.cp.dir / "cert-manager.log").start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError(f"cert-manager exited at start:\n{self.proc.tail()}")
            if "cm-controller: running" in self.proc.tail(200):
                return self
            time.sleep(0.2)
        raise TimeoutError(f"cert-manager did not start:\n{self.proc.tail()}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def __enter__(self) -> CertManager:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
