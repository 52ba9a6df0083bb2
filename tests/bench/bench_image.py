"""The image's controller as the chart's pod: RSS idle and after N requests (not a pass/fail test).

Builds (or reuses) the image with hack/image.sh and runs it as
tests/e2e/test_image.py does (chart defaults rendered by helm, in-cluster
ServiceAccount, IRSA against the emulator), then creates N approved
CertificateRequests for one AWSPCAClusterIssuer and waits until all are
issued. Prints the image size and the container process's RSS (VmRSS) idle
and after, and its peak (VmHWM), as JSON.

    .venv/bin/python -m tests.bench.bench_image [--requests 1000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from awspca_devstack import ControlPlane
from awspca_devstack.chartpod import (
    ChartPod,
    PodSpec,
    build_image,
    emulator_env,
    install_identity,
    irsa_emulator_config,
    podman,
)
from awspca_devstack.csrs import make_csr
from awspca_devstack.stack import IRSA_ROLE
from awspca_emulator import AdminClient, run_in_thread

from tests import flows
from tests.e2e.test_chart_render import render

KIND = "AWSPCAClusterIssuer"
MIB = 2**20


def _kib(value: str) -> float:
    return int(value.split()[0]) * 1024 / MIB


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--idle-seconds", type=float, default=20.0)
    args = p.parse_args()
    image = build_image()
    size = int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())
    objs = render()
    spec = PodSpec.from_rendered(objs)
    results: dict[str, float | int | str] = {"image": image, "image_size_mb": round(size / 1e6, 1)}
    with ControlPlane(Path(tempfile.mkdtemp(prefix="bench-image-")), "bench") as cp:
        install_identity(cp, objs, spec)
        emu = run_in_thread(irsa_emulator_config(cp, spec))
        pod = ChartPod(
            cp, image, spec, name="bench", aws_env=emulator_env(emu.url), irsa_role=IRSA_ROLE
        )
        try:
            arn = AdminClient(emu.url).bootstrap(key_algorithm="EC_prime256v1")["subordinate_arn"]
            pod.start()
            pod.wait_probe("/readyz")
            flows.create_issuer(cp.admin, KIND, "bench", arn=arn)
            flows.wait_issuer_ready(cp.admin, KIND, "bench", timeout=120)
            time.sleep(args.idle_seconds)
            results["rss_idle_mib"] = round(_kib(pod.proc_status()["VmRSS"]), 1)
            ns = cp.new_namespace("bench")
            csr, _ = make_csr("bench.test")
            t0 = time.monotonic()
            for i in range(args.requests):
                flows.create_request(
                    cp.admin, ns, f"r{i}", csr, issuer_kind=KIND, issuer_name="bench"
                )
            done = 0
            while done < args.requests:
                time.sleep(1)
                items = cp.admin.get(flows.cr_path(ns))["items"]
                done = sum(flows.ready_status(o)[1] == "Issued" for o in items)
                if time.monotonic() - t0 > 1200:
                    raise TimeoutError(f"only {done}/{args.requests} issued in 1200 s")
            results["requests"] = args.requests
            results["seconds_to_issue_all"] = round(time.monotonic() - t0, 1)
            time.sleep(args.idle_seconds)
            status = pod.proc_status()
            results["rss_after_mib"] = round(_kib(status["VmRSS"]), 1)
            results["rss_peak_mib"] = round(_kib(status["VmHWM"]), 1)
            code, took = pod.terminate()
            results["sigterm_exit_code"] = code
            results["sigterm_seconds"] = round(took, 1)
        finally:
            pod.remove()
            emu.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
