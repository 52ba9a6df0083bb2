"""Side-by-side benchmark: our controller against the Go aws-privateca-issuer (not a pass/fail test).

One stack for both: real etcd + kube-apiserver (harness), the AWS emulator in
its own process at its default PCA quotas (IssueCertificate 25/s,
GetCertificate 75/s), one EC root -> subordinate hierarchy. The two
controllers run as processes, one at a time, alternating in each paired round
(ours first in even rounds, Go first in odd ones), each with its default flags
plus ``--disable-approved-check`` (no approver here) on fresh namespaces with
the same issuers (static keys in a Secret; ``secretRef.namespace`` set, which
the Go issuer needs). Per controller and round it measures: start -> /healthz
200 and start -> first request Ready (the request exists before the start);
RSS idle; latency of sequential requests at issuance delay 0 and 1 s;
throughput, controller CPU and GetCertificate calls per request for a batch
created at once at delay 1 s and 0; RSS after; RSS with many issuers (own
Secret each) and one request each. On a fresh start each: a batch at quotas
raised to ``--raised-rate`` (our client-side PCA rates raised to match) and a
batch with quotas off at delay 0 (with the CPU of the API server, etcd and
the emulator over it). In ``--scale-rounds`` rounds (fewer than the paired
ones: they take minutes): ours only, ``--scale-requests`` at delay 1 s and
the default quotas, checked against the emulator's call log; both,
``--many-issuers`` issuers created at once; ours only, ``--at-once``
requests created at once at the raised quotas (the last such batch stays as
finished requests). Last, each controller starts with
``--finished`` finished requests in the cluster. Results: JSON (every sample,
medians, ranges, ratios, load average, command, machine) and a Markdown
table, optionally written into BENCHMARKS.md between markers.

    make bench                          # the defaults below; about 30 minutes
    .venv/bin/python -m tests.bench.bench_controller --rounds 3 --requests 300 --issuers 100
    .venv/bin/python -m tests.bench.bench_controller --only ours --rounds 1 ...   # no Go build
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from awspca_devstack import ControlPlane, KubeClient
from awspca_devstack.csrs import b64, make_csr
from awspca_devstack.kubeclient import JSON, condition
from awspca_devstack.procs import Process, free_port
from awspca_devstack.stack import DEFAULT_KEYS
from awspca_devstack.tools import tools_dir, versions
from awspca_emulator import AdminClient
from awspca_emulator.config import DEFAULT_THROTTLE_RATES

from issuer.api.names import secrets_path
from tests import flows
from tests.bench.bulk import BulkCreator
from tests.bench.watch import StateWatch

KIND = "AWSPCAIssuer"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BENCH_MARK_START = "<!-- bench:side-by-side:start -->"
BENCH_MARK_END = "<!-- bench:side-by-side:end -->"
REPO = Path(__file__).resolve().parents[2]


# --- the controllers under test -------------------------------------------------------


def go_issuer_binary() -> Path:
    """The Go issuer built by ``hack/build-tools.sh goissuer``."""
    d = tools_dir() / f"goissuer-{versions()['UPSTREAM_VERSION']}"
    if not (d / ".built").exists():
        raise SystemExit(f"the Go issuer is not built under {d}; run: hack/build-tools.sh goissuer")
    return d / "bin" / "aws-privateca-issuer"


@dataclass
class Subject:
    name: str
    argv: Callable[[Path, int, int], list[str]]


def _ours(kubeconfig: Path, metrics: int, probe: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "issuer",
        "--kubeconfig",
        str(kubeconfig),
        "--metrics-bind-address",
        f"127.0.0.1:{metrics}",
        "--health-probe-bind-address",
        f"127.0.0.1:{probe}",
        "--disable-approved-check",
        "--log-level",
        "info",
    ]


def _go(kubeconfig: Path, metrics: int, probe: int) -> list[str]:
    return [
        str(go_issuer_binary()),
        "--kubeconfig",
        str(kubeconfig),
        "--metrics-bind-address",
        f"127.0.0.1:{metrics}",
        "--health-probe-bind-address",
        f"127.0.0.1:{probe}",
        "--disable-approved-check",
    ]


SUBJECTS = {"ours": Subject("ours", _ours), "go": Subject("go", _go)}


def _env(aws_endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "KUBECONFIG"}
    env.update(
        AWS_ENDPOINT_URL=aws_endpoint,
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    return env


# --- process measurements ---------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mib(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} for {pid}")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:  # noqa: S310 - loopback only
            return int(r.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_probe(proc: Process, url: str, timeout: float, interval: float = 0.01) -> None:
    """Until ``url`` answers 200; fails at once if the process exits."""
    deadline = time.monotonic() + timeout
    while not _http_ok(url):
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited: {proc.tail(30)}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not 200 in {timeout} s")
        time.sleep(interval)


# --- the stack ------------------------------------------------------------------------


@dataclass(frozen=True)
class Quotas:
    """PCA quotas for a row: the emulator's throttling and our controller's matching flags.

    The Go issuer has no client-side PCA limiter, so only our flags change.
    """

    name: str
    rates: dict[str, float] | None  # None: throttling off

    def emulator_settings(self) -> dict[str, Any]:
        if self.rates is None:
            return {"throttling_enabled": False, "reset_throttle": True}
        return {"throttling_enabled": True, "throttle_rates": dict(self.rates)}

    def flags(self, subject: Subject) -> list[str]:
        if subject.name != "ours" or self.rates == DEFAULT_THROTTLE_RATES:
            return []
        rates = self.rates or dict.fromkeys(DEFAULT_THROTTLE_RATES, UNLIMITED_RATE)
        return [
            "--pca-issue-certificate-rate",
            str(rates["IssueCertificate"]),
            "--pca-get-certificate-rate",
            str(rates["GetCertificate"]),
            "--pca-describe-ca-rate",
            str(rates["DescribeCertificateAuthority"]),
        ]


#: Our client-side PCA rates when the emulator does not throttle at all.
UNLIMITED_RATE = 1e6
DEFAULT_QUOTAS = Quotas("default", dict(DEFAULT_THROTTLE_RATES))
OFF_QUOTAS = Quotas("off", None)


def raised_quotas(issue_rate: float) -> Quotas:
    """Every PCA quota raised by the same factor as IssueCertificate (25/s -> ``issue_rate``)."""
    factor = issue_rate / DEFAULT_THROTTLE_RATES["IssueCertificate"]
    return Quotas("raised", {op: r * factor for op, r in DEFAULT_THROTTLE_RATES.items()})


@contextmanager
def emulator_process(workdir: Path) -> Iterator[tuple[Process, str]]:
    """The emulator in its own process (its CPU seconds are its own); yield (process, URL)."""
    port = free_port()
    argv = [sys.executable, "-m", "awspca_emulator", "serve", "--port", str(port)]
    proc = Process("emulator", argv, workdir / "emulator.log", env={**os.environ}).start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                AdminClient(url, timeout=5).health()
                break
            except OSError:
                if not proc.alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"the emulator did not start: {proc.tail(30)}") from None
                time.sleep(0.1)
        yield proc, url
    finally:
        proc.stop()


def issued(obj: JSON) -> bool:
    return flows.ready_status(obj)[1] == "Issued"


def failed(obj: JSON) -> bool:
    return flows.ready_status(obj)[1] == "Failed"


def issuer_ready(obj: JSON) -> bool:
    return (condition(obj, "Ready") or {}).get("status") == "True"


def bounded(fn: Callable[[int], object], n: int, workers: int) -> None:
    """Call ``fn(0..n-1)`` on at most ``workers`` threads (creating thousands over loopback)."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, n))) as pool:
        list(pool.map(fn, range(n)))


@dataclass
class Stack:
    cp: ControlPlane
    admin: AdminClient
    emulator: Process
    emu_url: str
    arn: str
    workdir: Path
    create_workers: int = 8
    csr: bytes = field(default_factory=lambda: make_csr("bench.test")[0])

    @property
    def kube(self) -> KubeClient:
        return self.cp.admin

    def issuer(self, ns: str, name: str) -> None:
        flows.create_secret(self.kube, ns, f"{name}-aws", DEFAULT_KEYS)
        flows.create_issuer(
            self.kube,
            KIND,
            name,
            arn=self.arn,
            namespace=ns,
            secret_ref={"name": f"{name}-aws", "namespace": ns},
        )

    def request_object(self, ns: str, name: str, issuer: str = "pca") -> JSON:
        """A CertificateRequest; every request reuses one CSR (tokens differ by UID)."""
        return {
            "apiVersion": "cert-manager.io/v1",
            "kind": "CertificateRequest",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "request": b64(self.csr),
                "issuerRef": {"group": flows.GROUP, "kind": KIND, "name": issuer},
            },
        }

    def request(self, ns: str, name: str, issuer: str = "pca") -> None:
        self.kube.create(flows.cr_path(ns), self.request_object(ns, name, issuer))

    def requests(self, ns: str, n: int, prefix: str = "b") -> None:
        """``n`` requests at once (bounded concurrency, kept-alive connections) on ``pca``."""
        BulkCreator(self.kube, self.create_workers).create(
            flows.cr_path(ns), lambda i: self.request_object(ns, f"{prefix}{i}"), n
        )

    def watch_requests(self, ns: str) -> StateWatch:
        return StateWatch(self.kube, flows.cr_path(ns), issued, failed)

    def wait_issued(self, ns: str, name: str, timeout: float = 120) -> float:
        deadline = time.monotonic() + timeout
        path = flows.cr_path(ns, name)
        while time.monotonic() < deadline:
            reason = flows.ready_status(self.kube.get(path))[1]
            if reason == "Issued":
                return time.monotonic()
            if reason == "Failed":
                raise RuntimeError(f"{ns}/{name} Failed")
            time.sleep(0.01)
        raise TimeoutError(f"{ns}/{name} not Issued in {timeout} s")

    def calls(self, operation: str) -> int:
        return self.admin.counters().get(operation, {}).get("total", 0)

    def set_quotas(self, quotas: Quotas) -> None:
        self.admin.configure(**quotas.emulator_settings())

    @contextmanager
    def conditions(self, quotas: Quotas, delay: float) -> Iterator[None]:
        """The emulator at ``quotas`` and issuance ``delay``; back to the defaults and 0 after."""
        self.set_quotas(quotas)
        self.admin.configure(issuance_delay=delay, reset_throttle=True)
        try:
            yield
        finally:
            self.set_quotas(DEFAULT_QUOTAS)
            self.admin.configure(issuance_delay=0.0, reset_throttle=True)

    def process_cpu(self) -> dict[str, float]:
        """CPU seconds so far of the processes the controller under test leans on."""
        procs = {"apiserver": self.cp.apiserver, "etcd": self.cp.etcd, "emulator": self.emulator}
        return {k: cpu_seconds(p.pid) for k, p in procs.items() if p is not None}

    def cleanup(self, ns: str) -> None:
        """Delete what a measurement created, so the next controller starts on the same cluster."""
        for path in (
            flows.cr_path(ns),
            flows.issuer_path(KIND, ns),
            secrets_path(ns),
        ):
            # Deleting thousands of objects takes longer than one ordinary call's bound.
            self.kube.request("DELETE", path, timeout=600)


@contextmanager
def running(
    stack: Stack, subject: Subject, tag: str, extra: list[str] | None = None
) -> Iterator[tuple[Process, float, str]]:
    """Start ``subject`` (its default flags + ``extra``); yield (process, start time, probe URL)."""
    metrics, probe = free_port(), free_port()
    argv = subject.argv(stack.cp.kubeconfig, metrics, probe) + (extra or [])
    proc = Process(tag, argv, stack.workdir / f"{tag}.log", env=_env(stack.emu_url))
    t0 = time.monotonic()
    proc.start()
    try:
        yield proc, t0, f"http://127.0.0.1:{probe}"
    finally:
        proc.stop()


@dataclass
class Batch:
    """One batch of requests created at once and waited for until all are Issued."""

    n: int
    seconds: float  # first create -> last request seen Issued
    create_seconds: float  # first create -> last create answered
    controller_cpu_s: float
    other_cpu_s: dict[str, float]  # API server, etcd, emulator
    get_certificate_calls: int
    failed: int

    @property
    def rps(self) -> float:
        return self.n / self.seconds


def batch(
    stack: Stack, proc: Process, ns: str, n: int, timeout: float, *, stop_on_failed: bool = True
) -> Batch:
    """Create ``n`` requests in ``ns`` (its issuer ``pca`` Ready) at once; wait until all end."""
    with stack.watch_requests(ns) as watch:
        gets = stack.calls("GetCertificate")
        cpu, others = cpu_seconds(proc.pid), stack.process_cpu()
        t = time.monotonic()
        stack.requests(ns, n)
        created = time.monotonic()
        end = watch.wait(n, timeout, stop_on_failed=stop_on_failed)
        return Batch(
            n=n,
            seconds=end - t,
            create_seconds=created - t,
            controller_cpu_s=cpu_seconds(proc.pid) - cpu,
            other_cpu_s={k: v - others[k] for k, v in stack.process_cpu().items()},
            get_certificate_calls=stack.calls("GetCertificate") - gets,
            failed=len(watch.failed),
        )


def batch_namespace(stack: Stack, name: str) -> str:
    """A fresh namespace with a Ready issuer ``pca``."""
    ns = stack.cp.new_namespace(name)
    stack.issuer(ns, "pca")
    flows.wait_issuer_ready(stack.kube, KIND, "pca", ns)
    return ns


# --- one measurement of one controller ---------------------------------------------------


def measure(stack: Stack, subject: Subject, rnd: int, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ns = stack.cp.new_namespace(f"r{rnd}-{subject.name}")
    stack.issuer(ns, "pca")
    stack.request(ns, "first")
    stack.admin.configure(issuance_delay=0.0)
    with running(stack, subject, f"{subject.name}-r{rnd}") as (proc, t0, probe):
        wait_probe(proc, probe + "/healthz", args.timeout, interval=0.002)
        out["start_to_healthz_s"] = time.monotonic() - t0
        out["start_to_first_ready_s"] = stack.wait_issued(ns, "first") - t0
        time.sleep(args.settle)
        out["rss_idle_mib"] = rss_mib(proc.pid)

        for delay in (0.0, 1.0):
            stack.admin.configure(issuance_delay=delay)
            samples = []
            for i in range(args.latency_samples):
                name = f"lat{int(delay)}-{i}"
                t = time.monotonic()
                stack.request(ns, name)
                samples.append(stack.wait_issued(ns, name) - t)
            key = f"delay_{int(delay)}"
            out[f"latency_median_s_{key}"] = statistics.median(samples)
            out[f"latency_p90_s_{key}"] = _quantile(samples, 0.9)

        for delay in (1.0, 0.0):
            stack.admin.configure(issuance_delay=delay)
            bns = batch_namespace(stack, f"r{rnd}-{subject.name}-b{int(delay)}")
            b = batch(stack, proc, bns, args.requests, args.timeout)
            key = f"delay_{int(delay)}"
            out[f"throughput_rps_{key}"] = b.rps
            out[f"cpu_s_per_batch_{key}"] = b.controller_cpu_s
            out[f"get_certificate_per_request_{key}"] = b.get_certificate_calls / b.n
            stack.cleanup(bns)
        stack.admin.configure(issuance_delay=0.0)
        time.sleep(args.settle)
        out["rss_after_batches_mib"] = rss_mib(proc.pid)

        ins = stack.cp.new_namespace(f"r{rnd}-{subject.name}-iss")
        with stack.watch_requests(ins) as watch:
            for i in range(args.issuers):
                stack.issuer(ins, f"pca{i}")
                stack.request(ins, f"r{i}", issuer=f"pca{i}")
            watch.wait(args.issuers, args.timeout)
        time.sleep(args.settle)
        out["rss_many_issuers_mib"] = rss_mib(proc.pid)
        out["rss_peak_mib"] = rss_mib(proc.pid, "VmHWM")
        stack.cleanup(ins)
    stack.cleanup(ns)
    return out


def measure_quota_batch(
    stack: Stack, subject: Subject, rnd: int, args: argparse.Namespace, quotas: Quotas
) -> dict[str, float]:
    """A batch at raised quotas (delay 1 s) or with quotas off (delay 0), on its own start.

    Our controller starts with its client-side PCA rates set to the quotas.
    Keys: ``raised_*`` or ``open_*``.
    """
    raised = quotas.rates is not None
    n = args.raised_requests if raised else args.open_requests
    delay = 1.0 if raised else 0.0
    key = "raised" if raised else "open"
    out: dict[str, float] = {}
    with stack.conditions(quotas, delay):
        tag = f"{subject.name}-r{rnd}-{key}"
        with running(stack, subject, tag, quotas.flags(subject)) as (proc, _, _):
            ns = batch_namespace(stack, f"r{rnd}-{subject.name}-{key}")
            b = batch(stack, proc, ns, n, args.timeout)
            out[f"{key}_rps"] = b.rps
            out[f"{key}_cpu_s"] = b.controller_cpu_s
            out[f"{key}_requests_per_cpu_s"] = b.n / max(b.controller_cpu_s, 1 / CLOCK_TICKS)
            out[f"{key}_create_s"] = b.create_seconds
            for who, cpu in b.other_cpu_s.items():
                out[f"{key}_cpu_s_{who}"] = cpu
            out[f"{key}_cores_controller"] = b.controller_cpu_s / b.seconds
            for who, cpu in b.other_cpu_s.items():
                out[f"{key}_cores_{who}"] = cpu / b.seconds
            stack.cleanup(ns)
    return out


def measure_quota_bound(
    stack: Stack, subject: Subject, rnd: int, args: argparse.Namespace
) -> dict[str, float]:
    """``--scale-requests`` at delay 1 s and the default quotas: rate against IssueCertificate's
    quota, failed requests, and what the emulator's call log says was issued per request."""
    n = args.scale_requests
    out: dict[str, float] = {}
    tag = f"{subject.name}-r{rnd}-scale"
    with stack.conditions(DEFAULT_QUOTAS, 1.0), running(stack, subject, tag) as (proc, _, _):
        ns = batch_namespace(stack, f"r{rnd}-{subject.name}-scale")
        stack.admin.reset_calls()
        b = batch(stack, proc, ns, n, args.timeout, stop_on_failed=False)
        issues = stack.admin.calls("IssueCertificate")
        ok = [c for c in issues if c["result"] == "OK"]
        items = stack.kube.get(flows.cr_path(ns))["items"]
        certificates = {o.get("status", {}).get("certificate") for o in items} - {None}
        quota = DEFAULT_THROTTLE_RATES["IssueCertificate"]
        out["scale_rps"] = b.rps
        out["scale_quota_percent"] = 100 * b.rps / quota
        out["scale_failed"] = b.failed
        out["scale_certificates_per_request"] = len({c["certificate_arn"] for c in ok}) / n
        out["scale_tokens_per_request"] = len({c["idempotency_token"] for c in ok}) / n
        out["scale_distinct_certificates_per_request"] = len(certificates) / n
        out["scale_throttled_per_request"] = (len(issues) - len(ok)) / n
        out["scale_cpu_s"] = b.controller_cpu_s
        out["scale_create_s"] = b.create_seconds
        stack.cleanup(ns)
    return out


def measure_at_once(
    stack: Stack, subject: Subject, rnd: int, args: argparse.Namespace, *, keep: bool = False
) -> dict[str, float]:
    """``--at-once`` requests created at once at the raised quotas, delay 1 s: time to all
    Issued and the controller's peak RSS. With ``keep`` the finished requests stay (they
    count towards the restart rows' ``--finished``)."""
    quotas = raised_quotas(args.raised_rate)
    out: dict[str, float] = {}
    with stack.conditions(quotas, 1.0):
        tag = f"{subject.name}-r{rnd}-at-once"
        with running(stack, subject, tag, quotas.flags(subject)) as (proc, _, _):
            ns = batch_namespace(stack, f"r{rnd}-{subject.name}-at-once")
            b = batch(stack, proc, ns, args.at_once, args.timeout)
            out["at_once_all_ready_s"] = b.seconds
            out["at_once_rps"] = b.rps
            out["at_once_create_s"] = b.create_seconds
            out["at_once_cpu_s"] = b.controller_cpu_s
            time.sleep(args.settle)
            out["at_once_rss_mib"] = rss_mib(proc.pid)
            out["at_once_peak_rss_mib"] = rss_mib(proc.pid, "VmHWM")
        if not keep:
            stack.cleanup(ns)
    return out


def measure_many_issuers(
    stack: Stack, subject: Subject, rnd: int, args: argparse.Namespace
) -> dict[str, float]:
    """``--many-issuers`` issuers (own Secret each) created at once on a running controller,
    default quotas: time until all are Ready, RSS after and peak."""
    stack.admin.configure(reset_throttle=True)
    n = args.many_issuers
    out: dict[str, float] = {}
    ns = stack.cp.new_namespace(f"r{rnd}-{subject.name}-issuers")
    with running(stack, subject, f"{subject.name}-r{rnd}-issuers") as (proc, _, probe):
        wait_probe(proc, probe + "/readyz", args.timeout)
        time.sleep(args.settle)
        with StateWatch(stack.kube, flows.issuer_path(KIND, ns), issuer_ready) as watch:
            t = time.monotonic()
            bounded(lambda i: stack.issuer(ns, f"pca{i}"), n, stack.create_workers)
            out["many_issuers_create_s"] = time.monotonic() - t
            out["many_issuers_ready_s"] = watch.wait(n, args.timeout) - t
        time.sleep(args.settle)
        out["many_issuers_rss_mib"] = rss_mib(proc.pid)
        out["many_issuers_peak_rss_mib"] = rss_mib(proc.pid, "VmHWM")
    stack.cleanup(ns)
    return out


def populate_finished(stack: Stack, n: int) -> None:
    """``n`` finished CertificateRequests (Ready=True Issued, with a certificate) in one namespace."""
    ns = stack.cp.ensure_namespace("bench-finished")
    chain = b64(b"-----BEGIN CERTIFICATE-----\n" + b"Q" * 1200 + b"\n-----END CERTIFICATE-----\n")
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    def one(i: int) -> None:
        stack.request(ns, f"done-{i}")
        stack.kube.merge_patch(
            flows.cr_path(ns, f"done-{i}") + "/status",
            {
                "status": {
                    "certificate": chain,
                    "ca": chain,
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "reason": "Issued",
                            "message": "Certificate issued",
                            "lastTransitionTime": now,
                        }
                    ],
                }
            },
        )

    bounded(one, n, stack.create_workers)


def measure_restart(
    stack: Stack, subject: Subject, rnd: int, args: argparse.Namespace
) -> dict[str, float]:
    """Start with ``--finished`` finished requests in the cluster: time to the first new one Ready, RSS."""
    ns = stack.cp.new_namespace(f"r{rnd}-{subject.name}-restart")
    stack.issuer(ns, "pca")
    stack.request(ns, "after-restart")
    out: dict[str, float] = {}
    with running(stack, subject, f"{subject.name}-r{rnd}-restart") as (proc, t0, _):
        out["restart_finished_to_first_ready_s"] = stack.wait_issued(ns, "after-restart") - t0
        time.sleep(args.settle)
        out["restart_finished_rss_mib"] = rss_mib(proc.pid)
        out["restart_finished_peak_rss_mib"] = rss_mib(proc.pid, "VmHWM")
    stack.cleanup(ns)
    return out


def _quantile(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


# --- the report -----------------------------------------------------------------------

#: (row label, metric key or pair of keys shown "a / b", unit, decimals)
ROWS: list[tuple[str, tuple[str, ...], str, int]] = [
    ("requests/s, batch at delay 1 s", ("throughput_rps_delay_1",), "", 1),
    ("requests/s, batch at delay 0", ("throughput_rps_delay_0",), "", 1),
    (
        "latency delay 1 s: median / p90",
        ("latency_median_s_delay_1", "latency_p90_s_delay_1"),
        "s",
        3,
    ),
    (
        "latency delay 0: median / p90",
        ("latency_median_s_delay_0", "latency_p90_s_delay_0"),
        "s",
        3,
    ),
    (
        "GetCertificate calls per request, delay 1 s",
        ("get_certificate_per_request_delay_1",),
        "",
        2,
    ),
    ("GetCertificate calls per request, delay 0", ("get_certificate_per_request_delay_0",), "", 2),
    (
        "controller CPU s per batch (delay 1 / 0)",
        ("cpu_s_per_batch_delay_1", "cpu_s_per_batch_delay_0"),
        "s",
        2,
    ),
    ("RSS idle", ("rss_idle_mib",), "MiB", 0),
    ("RSS after the batches", ("rss_after_batches_mib",), "MiB", 0),
    (
        "RSS with the issuers (own Secret each) + 1 request each",
        ("rss_many_issuers_mib",),
        "MiB",
        0,
    ),
    ("peak RSS (VmHWM) over the run", ("rss_peak_mib",), "MiB", 0),
    ("start -> /healthz 200", ("start_to_healthz_s",), "s", 3),
    ("start -> first request Ready", ("start_to_first_ready_s",), "s", 2),
    (
        "with the finished requests: start -> a new request Ready",
        ("restart_finished_to_first_ready_s",),
        "s",
        2,
    ),
    ("with the finished requests: RSS", ("restart_finished_rss_mib",), "MiB", 0),
    ("with the finished requests: peak RSS", ("restart_finished_peak_rss_mib",), "MiB", 0),
    (
        "{scale_requests} requests, delay 1 s, default quotas (ours only): requests/s",
        ("scale_rps",),
        "",
        1,
    ),
    (
        "{scale_requests} requests: % of the quota-bound rate (IssueCertificate 25/s)",
        ("scale_quota_percent",),
        "",
        1,
    ),
    ("{scale_requests} requests: requests Failed", ("scale_failed",), "", 0),
    (
        "{scale_requests} requests, per request: certificates issued / IssueCertificate "
        "tokens / distinct certificates in the requests",
        (
            "scale_certificates_per_request",
            "scale_tokens_per_request",
            "scale_distinct_certificates_per_request",
        ),
        "",
        3,
    ),
    (
        "{scale_requests} requests: throttled IssueCertificate calls per request",
        ("scale_throttled_per_request",),
        "",
        3,
    ),
    (
        "quotas raised to {raised_rate:g}/s, {raised_requests} requests at delay 1 s: requests/s",
        ("raised_rps",),
        "",
        1,
    ),
    ("quotas raised: controller CPU s per batch", ("raised_cpu_s",), "s", 2),
    ("quotas off, {open_requests} requests at delay 0: requests/s", ("open_rps",), "", 1),
    ("quotas off: requests per controller CPU second", ("open_requests_per_cpu_s",), "", 1),
    (
        "quotas off: CPU s over the batch, controller / API server / etcd / emulator",
        ("open_cpu_s", "open_cpu_s_apiserver", "open_cpu_s_etcd", "open_cpu_s_emulator"),
        "s",
        2,
    ),
    (
        "quotas off: cores busy over the batch, controller / API server / etcd / emulator",
        (
            "open_cores_controller",
            "open_cores_apiserver",
            "open_cores_etcd",
            "open_cores_emulator",
        ),
        "",
        2,
    ),
    (
        "{at_once} requests created at once, quotas {raised_rate:g}/s, delay 1 s (ours only): first create -> all Ready",
        ("at_once_all_ready_s",),
        "s",
        1,
    ),
    (
        "{at_once} requests at once: requests/s / seconds to create them",
        ("at_once_rps", "at_once_create_s"),
        "",
        1,
    ),
    (
        "{at_once} requests at once: RSS after / peak RSS",
        ("at_once_rss_mib", "at_once_peak_rss_mib"),
        "MiB",
        0,
    ),
    (
        "{many_issuers} issuers (own Secret each) created at once: first create -> all Ready",
        ("many_issuers_ready_s",),
        "s",
        1,
    ),
    (
        "{many_issuers} issuers: RSS after / peak RSS",
        ("many_issuers_rss_mib", "many_issuers_peak_rss_mib"),
        "MiB",
        0,
    ),
]


def summarize(rounds: list[dict[str, dict[str, float]]]) -> dict[str, Any]:
    """Median and range per controller and metric; the ours/go ratio of the medians."""
    summary: dict[str, Any] = {}
    subjects = sorted({s for r in rounds for s in r})
    keys = sorted({k for r in rounds for res in r.values() for k in res})
    for key in keys:
        entry: dict[str, Any] = {}
        for s in subjects:
            vals = [r[s][key] for r in rounds if s in r and key in r[s]]
            if vals:
                entry[s] = {
                    "median": statistics.median(vals),
                    "min": min(vals),
                    "max": max(vals),
                    "samples": vals,
                }
        if "ours" in entry and "go" in entry and entry["go"]["median"]:
            entry["ratio_ours_to_go"] = entry["ours"]["median"] / entry["go"]["median"]
        summary[key] = entry
    return summary


def _fmt(entry: dict[str, Any], subject: str, digits: int) -> str:
    if subject not in entry:
        return "-"
    e = entry[subject]
    return f"{e['median']:.{digits}f} ({e['min']:.{digits}f}-{e['max']:.{digits}f})"


def table(summary: dict[str, Any], subjects: list[str], sizes: dict[str, Any]) -> str:
    """The Markdown table; a row none of whose metrics was measured is left out."""
    head = "| metric | " + " | ".join(subjects) + (" | ours/go |" if len(subjects) == 2 else " |")
    sep = "|---" * (len(subjects) + 1 + (len(subjects) == 2)) + "|"
    lines = [head, sep]
    for label, keys, unit, digits in ROWS:
        if not any(k in summary for k in keys):
            continue
        label = label.format(**sizes)
        cells = []
        for s in subjects:
            cells.append(" / ".join(_fmt(summary.get(k, {}), s, digits) for k in keys))
        row = f"| {label}{f' ({unit})' if unit else ''} | " + " | ".join(cells)
        if len(subjects) == 2:
            ratios = [summary.get(k, {}).get("ratio_ours_to_go") for k in keys]
            row += " | " + " / ".join("-" if r is None else f"{r:.2f}" for r in ratios)
        lines.append(row + " |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def write_benchmarks(markdown: str, path: Path) -> None:
    text = path.read_text()
    if BENCH_MARK_START not in text:
        raise SystemExit(f"{path} has no {BENCH_MARK_START} marker")
    head, rest = text.split(BENCH_MARK_START, 1)
    _, tail = rest.split(BENCH_MARK_END, 1)
    path.write_text(f"{head}{BENCH_MARK_START}\n{markdown}\n{BENCH_MARK_END}{tail}")


#: Sizes of the rows, in the result and in the rows' labels.
SIZES = (
    "requests",
    "issuers",
    "finished",
    "latency_samples",
    "scale_requests",
    "raised_requests",
    "raised_rate",
    "open_requests",
    "at_once",
    "many_issuers",
    "scale_rounds",
)


def report(result: dict[str, Any]) -> str:
    subjects = result["subjects"]
    load = result["load_average"]
    m = result["machine"]
    sizes = result["sizes"]
    return "\n".join(
        [
            f"Measured {result['date']} with `{result['command']}`: {result['rounds']} paired "
            f"round(s), {sizes['requests']} requests per batch, {sizes['issuers']} issuers, "
            f"{sizes['finished']} finished requests at the restart rows; the rows of "
            f"{sizes['scale_requests']} requests at the quota, {sizes['at_once']} at once "
            f"and {sizes['many_issuers']} issuers: {sizes['scale_rounds']} round(s); "
            f"{result['minutes']:.0f} minutes in all; "
            f"machine {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, Linux "
            f"{m['kernel']}, Python {m['python']}; load average (1 min) "
            f"{load['before'][0]:.1f} before, {load['after'][0]:.1f} after. "
            "Cells: median (min-max) over the rounds.",
            "",
            table(result["summary"], subjects, sizes),
        ]
    )


def _in_order(subjects: list[Subject], rnd: int) -> list[Subject]:
    """Ours first in even rounds, Go first in odd ones."""
    return subjects if rnd % 2 == 0 else list(reversed(subjects))


def _measured(results: dict[str, float], tag: str, name: str, values: dict[str, float]) -> None:
    print(f"[bench]   {tag} {name}: {json.dumps(values)}", flush=True)
    results.update(values)


def run(args: argparse.Namespace) -> dict[str, Any]:
    subjects = [SUBJECTS[s] for s in args.only]
    if any(s.name == "go" for s in subjects):
        go_issuer_binary()
    ours_only = [s for s in subjects if s.name == "ours"]
    load_before = os.getloadavg()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    rounds: list[dict[str, dict[str, float]]] = []
    with ControlPlane(workdir, "bench") as cp, emulator_process(workdir) as (emu, emu_url):
        admin = AdminClient(emu_url)
        arn = admin.bootstrap(key_algorithm="EC_prime256v1")["subordinate_arn"]
        stack = Stack(cp, admin, emu, emu_url, arn, workdir, args.create_workers)
        raised = raised_quotas(args.raised_rate)
        for rnd in range(args.rounds):
            results: dict[str, dict[str, float]] = {}
            for subject in _in_order(subjects, rnd):
                print(f"[bench] round {rnd + 1}/{args.rounds}: {subject.name}", flush=True)
                res = results[subject.name] = {}
                _measured(res, "rows", subject.name, measure(stack, subject, rnd, args))
                if args.raised_requests:
                    _measured(
                        res,
                        "raised",
                        subject.name,
                        measure_quota_batch(stack, subject, rnd, args, raised),
                    )
                if args.open_requests:
                    _measured(
                        res,
                        "open",
                        subject.name,
                        measure_quota_batch(stack, subject, rnd, args, OFF_QUOTAS),
                    )
            rounds.append(results)
        kept = 0  # finished requests left by the last --at-once row
        scale_rounds = min(args.scale_rounds, args.rounds)
        for rnd in range(scale_rounds):
            for subject in _in_order(subjects, rnd):
                res = rounds[rnd][subject.name]
                print(f"[bench] scale rows {rnd + 1}/{scale_rounds}: {subject.name}", flush=True)
                if args.scale_requests and subject in ours_only:
                    _measured(
                        res, "scale", subject.name, measure_quota_bound(stack, subject, rnd, args)
                    )
                if args.many_issuers:
                    _measured(
                        res,
                        "issuers",
                        subject.name,
                        measure_many_issuers(stack, subject, rnd, args),
                    )
        for rnd in range(scale_rounds if args.at_once else 0):
            for subject in ours_only:
                # The last one's requests are real finished requests: the restart rows
                # below count them instead of creating as many again.
                keep = rnd == scale_rounds - 1 and args.at_once <= args.finished
                print(f"[bench] at once {rnd + 1}/{scale_rounds}: {subject.name}", flush=True)
                _measured(
                    rounds[rnd][subject.name],
                    "at once",
                    subject.name,
                    measure_at_once(stack, subject, rnd, args, keep=keep),
                )
                kept = args.at_once if keep else 0
        if args.finished:
            # Last, so that only these rows see a cluster full of finished requests.
            print(
                f"[bench] {kept} finished requests kept, creating the other {args.finished - kept}",
                flush=True,
            )
            if args.finished > kept:
                populate_finished(stack, args.finished - kept)
            for rnd, results in enumerate(rounds):
                for subject in _in_order(subjects, rnd):
                    print(f"[bench] restart {rnd + 1}/{args.rounds}: {subject.name}", flush=True)
                    _measured(
                        results[subject.name],
                        "restart",
                        subject.name,
                        measure_restart(stack, subject, rnd, args),
                    )
    # Kept only when a row failed (its logs are there): etcd holds every object of the run.
    shutil.rmtree(workdir, ignore_errors=True)
    summary = summarize(rounds)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join(
            shlex.quote(a) for a in ["python", "-m", "tests.bench.bench_controller", *args.argv]
        ),
        "subjects": [s.name for s in subjects],
        "go_issuer_version": versions()["UPSTREAM_VERSION"],
        "rounds": args.rounds,
        "sizes": {k: getattr(args, k) for k in SIZES},
        "minutes": (time.monotonic() - started) / 60,
        "machine": machine(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "per_round": rounds,
        "summary": summary,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--requests", type=int, default=300, help="requests per throughput batch")
    p.add_argument("--issuers", type=int, default=100)
    p.add_argument(
        "--finished", type=int, default=10_000, help="finished requests in the cluster at restart"
    )
    p.add_argument("--latency-samples", type=int, default=10)
    p.add_argument(
        "--scale-requests",
        type=int,
        default=5000,
        help="requests of the batch at delay 1 s and the default quotas, ours only, in "
        "--scale-rounds rounds (0 skips)",
    )
    p.add_argument(
        "--raised-requests",
        type=int,
        default=1000,
        help="requests of the batch at raised quotas, delay 1 s, both controllers (0 skips)",
    )
    p.add_argument(
        "--raised-rate",
        type=float,
        default=100.0,
        help="IssueCertificate quota of the raised rows (the other quotas scaled alike)",
    )
    p.add_argument(
        "--open-requests",
        type=int,
        default=1000,
        help="requests of the batch with quotas off, delay 0, both controllers (0 skips)",
    )
    p.add_argument(
        "--at-once",
        type=int,
        default=10_000,
        help="requests created at once at the raised quotas, ours only (0 skips)",
    )
    p.add_argument(
        "--many-issuers",
        type=int,
        default=500,
        help="issuers (own Secret each) created at once on a running controller (0 skips)",
    )
    p.add_argument(
        "--scale-rounds",
        type=int,
        default=1,
        help="rounds that also run the --scale-requests, --many-issuers and --at-once rows",
    )
    p.add_argument(
        "--create-workers", type=int, default=8, help="concurrent creates of a batch's objects"
    )
    p.add_argument("--settle", type=float, default=2.0, help="seconds idle before reading RSS")
    p.add_argument("--timeout", type=float, default=900.0, help="bound of each wait (s)")
    p.add_argument("--only", nargs="+", choices=sorted(SUBJECTS), default=["ours", "go"])
    p.add_argument("--json", type=Path, help="write the results here")
    p.add_argument("--write-benchmarks", type=Path, help="rewrite this file's side-by-side table")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    result = run(args)
    text = report(result)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.write_benchmarks:
        write_benchmarks(text, args.write_benchmarks)
    return result


if __name__ == "__main__":
    main()
