"""Controller benchmarks: latency of one request and sustained throughput (not a pass/fail test).

Runs the whole real stack on loopback: etcd + kube-apiserver (harness), the
AWS emulator at its default quotas (IssueCertificate 25/s, GetCertificate
75/s), and the controller as a process. Prints medians of several runs.

    .venv/bin/python -m tests.bench.bench_controller [--runs 5] [--requests 1000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import b64, make_csr
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.stack import DEFAULT_KEYS
from awspca_emulator import AdminClient, EmulatorConfig, run_in_thread

from tests import flows

KIND = "AWSPCAIssuer"


def _setup_issuer(kube: KubeClient, ns: str, arn: str) -> None:
    flows.create_secret(kube, ns, "aws", DEFAULT_KEYS)
    flows.create_issuer(kube, KIND, "pca", arn=arn, namespace=ns, secret_ref={"name": "aws"})
    flows.wait_issuer_ready(kube, KIND, "pca", ns)


def _request_body(ns: str, name: str, csr: bytes) -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "CertificateRequest",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "request": b64(csr),
            "issuerRef": {"group": flows.GROUP, "kind": KIND, "name": "pca"},
        },
    }


def latency(cp: ControlPlane, admin: AdminClient, arn: str, delay: float, runs: int) -> float:
    admin.configure(issuance_delay=delay)
    ns = cp.new_namespace(f"lat-{int(delay * 1000)}")
    _setup_issuer(cp.admin, ns, arn)
    csr, _ = make_csr("latency.test")
    samples = []
    for i in range(runs):
        t0 = time.monotonic()
        cp.admin.create(flows.cr_path(ns), _request_body(ns, f"r{i}", csr))
        cp.admin.wait_for(
            flows.cr_path(ns, f"r{i}"),
            lambda o: flows.ready_status(o)[1] == "Issued",
            interval=0.01,
            timeout=60,
        )
        samples.append(time.monotonic() - t0)
    admin.configure(issuance_delay=0.0)
    return statistics.median(samples)


def throughput(cp: ControlPlane, arn: str, n: int) -> float:
    ns = cp.new_namespace("tput")
    _setup_issuer(cp.admin, ns, arn)
    csr, _ = make_csr("throughput.test")
    t0 = time.monotonic()
    for i in range(n):
        cp.admin.create(flows.cr_path(ns), _request_body(ns, f"r{i}", csr))
    created = time.monotonic() - t0
    done = 0
    while done < n:
        time.sleep(0.5)
        items = cp.admin.get(flows.cr_path(ns))["items"]
        done = sum(flows.ready_status(o)[1] == "Issued" for o in items)
        failed = sum(flows.ready_status(o)[1] == "Failed" for o in items)
        if failed:
            raise RuntimeError(f"{failed} requests failed")
        if time.monotonic() - t0 > 600:
            raise TimeoutError(f"only {done}/{n} issued in 600 s")
    elapsed = time.monotonic() - t0
    print(f"  created {n} requests in {created:.1f}s; all issued after {elapsed:.1f}s")
    return n / elapsed


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--throughput-runs", type=int, default=3)
    ns = p.parse_args()
    with ControlPlane(Path(tempfile.mkdtemp(prefix="bench-")), "bench") as cp:
        emu = run_in_thread(EmulatorConfig())
        try:
            admin = AdminClient(emu.url)
            arn = admin.bootstrap(key_algorithm="EC_prime256v1")["subordinate_arn"]
            with IssuerProcess(
                cp, aws_endpoint=emu.url, name="bench-issuer", args=("--disable-approved-check",)
            ):
                results: dict[str, Any] = {
                    "latency_s_delay_0": latency(cp, admin, arn, 0.0, ns.runs),
                    "latency_s_delay_1": latency(cp, admin, arn, 1.0, ns.runs),
                }
                rates = [throughput(cp, arn, ns.requests) for _ in range(ns.throughput_runs)]
                results["throughput_rps_runs"] = [round(r, 2) for r in rates]
                results["throughput_rps_median"] = round(statistics.median(rates), 2)
                results["issue_quota_rps"] = 25.0
                results["fraction_of_quota"] = round(statistics.median(rates) / 25.0, 3)
        finally:
            emu.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
