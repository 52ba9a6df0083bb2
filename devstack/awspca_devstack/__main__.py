"""``python -m awspca_devstack up|demo``: local stacks to point kubectl at.

``up`` starts etcd + kube-apiserver on loopback with our CRDs and
cert-manager's, starts cert-manager's controller, prints a kubeconfig path and
waits for Ctrl-C, then stops everything.

``demo`` (what ``make demo`` runs) adds the AWS PCA emulator with a root ->
subordinate hierarchy and our issuer, issues the Istio ``cacerts``
intermediate and prints a summary; see ``devstack/awspca_devstack/demo.py``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from pathlib import Path

from awspca_devstack.certmanager import CertManager
from awspca_devstack.controlplane import ControlPlane


def up(workdir: Path, with_cert_manager: bool) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ControlPlane(workdir, "local") as cp:
        cm = CertManager(cp).start() if with_cert_manager else None
        print(
            f"\nlocal control plane is up: {cp.server}\n"
            f"  export KUBECONFIG={cp.kubeconfig}\n"
            f"  kubectl get crds\n"
            f"logs: {cp.dir}\nCtrl-C stops everything.",
            flush=True,
        )
        stop.wait()
        print("stopping...", flush=True)
        if cm is not None:
            cm.stop()
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["demo"]:
        from awspca_devstack import demo

        return demo.main(argv[1:])
    p = argparse.ArgumentParser(prog="python -m awspca_devstack")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("demo", help="the full demo (python -m awspca_devstack demo --help)")
    u = sub.add_parser("up", help="start the local stack and wait for Ctrl-C")
    u.add_argument("--workdir", type=Path, default=None)
    u.add_argument("--no-cert-manager", action="store_true")
    ns = p.parse_args(argv)
    workdir = ns.workdir or Path(tempfile.mkdtemp(prefix="awspca-local-"))
    return up(workdir, not ns.no_cert_manager)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
