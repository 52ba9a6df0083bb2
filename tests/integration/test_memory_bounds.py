"""Hostile objects cannot exhaust the controller's memory (issue 10, defect 3).

80 CertificateRequests carrying ~700 KiB "CSRs", addressed to cert-manager's
own issuer and to ours, are in the cluster when the controller starts. The
start-up LIST must not hold them all at once: the controller's peak RSS
(VmHWM of the real process) stays bounded, far under the chart's limit, and
the oversized requests addressed to us fail with a clear message and no AWS
call.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.stack import DEFAULT_KEYS, start_controller

from tests import flows

KIND = "AWSPCAIssuer"
HOSTILE = 80
CSR_BYTES = 700 * 1024
#: Peak RSS allowed after listing 80 x ~0.9 MiB objects. An idle controller
#: peaks near 70 MiB; holding the objects whole (one decoded page) peaked
#: at ~350 MiB.
PEAK_RSS_BOUND_MIB = 150


def _huge_pem() -> bytes:
    body = base64.encodebytes(os.urandom(CSR_BYTES * 3 // 4))
    return b"-----BEGIN CERTIFICATE REQUEST-----\n" + body + b"-----END CERTIFICATE REQUEST-----\n"


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


def test_startup_list_of_huge_requests_stays_bounded(
    control_plane: ControlPlane,
    kube: KubeClient,
    namespace: str,
    emulator: Any,
    admin: Any,
    cas: dict[str, dict[str, str]],
    controller: IssuerProcess,
    workdir: Path,
) -> None:
    arn = cas["ec"]["subordinate_arn"]
    flows.create_secret(kube, namespace, "aws", DEFAULT_KEYS)
    flows.create_issuer(kube, KIND, "pca", arn=arn, namespace=namespace, secret_ref={"name": "aws"})
    flows.wait_issuer_ready(kube, KIND, "pca", namespace)

    controller.stop()  # the objects are in the cluster before the controller starts
    try:
        pem = _huge_pem()
        ours = []
        for i in range(HOSTILE):
            name = f"huge-{i}"
            if i % 2:
                flows.create_request(
                    kube,
                    namespace,
                    name,
                    pem,
                    issuer_kind="Issuer",
                    issuer_name="ca",
                    group="cert-manager.io",
                    approve=False,
                )
            else:
                flows.create_request(
                    kube, namespace, name, pem, issuer_kind=KIND, issuer_name="pca"
                )
                ours.append(name)
        issued_before = len(admin.calls("IssueCertificate"))
        with start_controller(control_plane, emulator, workdir, "memctl") as proc:
            for name in ours:
                obj = flows.wait_request(kube, namespace, name, reason="Failed", timeout=180)
                message = flows.condition_message(obj)
                assert "AWS Private CA accepts at most 32768 bytes" in message, message
            assert proc.proc is not None
            peak = _peak_rss_mib(proc.proc.pid)
        print(f"controller peak RSS {peak:.0f} MiB")
        assert peak < PEAK_RSS_BOUND_MIB, f"controller peak RSS {peak:.0f} MiB"
        assert len(admin.calls("IssueCertificate")) == issued_before, "no AWS call for them"
    finally:
        for i in range(HOSTILE):
            kube.delete(flows.cr_path(namespace, f"huge-{i}"))
        controller.start()
