"""Side-by-side benchmark: our controller against the Go aws-privateca-issuer (not a pass/fail test).

One stack for both: real etcd + kube-apiserver (harness), the AWS emulator at
its default PCA quotas (IssueCertificate 25/s, GetCertificate 75/s), one EC
root -> subordinate hierarchy. The two controllers run as processes, one at a
time, alternating in each paired round (ours first in even rounds, Go first
in odd ones), each with its default flags plus ``--disable-approved-check``
(no approver here) on fresh namespaces with the same issuers (static keys in
a Secret; ``secretRef.namespace`` set, which the Go issuer needs). Per
controller and round it measures: start -> /healthz 200 and start -> first
request Ready (the request exists before the start); RSS idle; latency of
sequential requests at issuance delay 0 and 1 s; throughput, controller CPU
and GetCertificate calls per request for a batch created at once at delay 1 s
and 0; RSS after; RSS with many issuers (own Secret each) and one request
each. Results: JSON (every sample, medians, ranges, ratios, load average,
command, machine) and a Markdown table, optionally written into
BENCHMARKS.md between markers.

    make bench                          # 3 paired rounds, 300 requests, 100 issuers
    .venv/bin/python -m tests.bench.bench_controller --rounds 3 --requests 300 --issuers 100
    .venv/bin/python -m tests.bench.bench_controller --only ours --rounds 1 ...   # no Go build
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
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
from awspca_devstack.procs import Process, free_port
from awspca_devstack.stack import DEFAULT_KEYS
from awspca_devstack.tools import tools_dir, versions
from awspca_emulator import AdminClient, EmulatorConfig, run_in_thread

from tests import flows

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


# --- the stack ------------------------------------------------------------------------


@dataclass
class Stack:
    cp: ControlPlane
    admin: AdminClient
    emu_url: str
    arn: str
    workdir: Path
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

    def request(self, ns: str, name: str, issuer: str = "pca") -> None:
        self.kube.create(
            flows.cr_path(ns),
            {
                "apiVersion": "cert-manager.io/v1",
                "kind": "CertificateRequest",
                "metadata": {"name": name, "namespace": ns},
                "spec": {
                    "request": b64(self.csr),
                    "issuerRef": {"group": flows.GROUP, "kind": KIND, "name": issuer},
                },
            },
        )

    def reasons(self, ns: str) -> list[str | None]:
        return [flows.ready_status(o)[1] for o in self.kube.get(flows.cr_path(ns))["items"]]

    def wait_all_issued(self, ns: str, n: int, timeout: float, interval: float = 0.2) -> float:
        """Monotonic time when all ``n`` requests of ``ns`` were seen Issued."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reasons = self.reasons(ns)
            if "Failed" in reasons:
                raise RuntimeError(f"{reasons.count('Failed')} requests Failed in {ns}")
            if reasons.count("Issued") >= n:
                return time.monotonic()
            time.sleep(interval)
        raise TimeoutError(f"{ns}: not all {n} requests Issued in {timeout} s")

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

    def get_certificate_calls(self) -> int:
        return len(self.admin.calls("GetCertificate"))

    def cleanup(self, ns: str) -> None:
        """Delete what a measurement created, so the next controller starts on the same cluster."""
        for path in (flows.cr_path(ns), flows.issuer_path(KIND, ns)):
            self.kube.delete(path)


@contextmanager
def running(stack: Stack, subject: Subject, tag: str) -> Iterator[tuple[Process, float, str]]:
    """Start ``subject``; yield (process, start time, probe URL); stop it after."""
    metrics, probe = free_port(), free_port()
    argv = subject.argv(stack.cp.kubeconfig, metrics, probe)
    proc = Process(tag, argv, stack.workdir / f"{tag}.log", env=_env(stack.emu_url))
    t0 = time.monotonic()
    proc.start()
    try:
        yield proc, t0, f"http://127.0.0.1:{probe}"
    finally:
        proc.stop()


# --- one measurement of one controller ---------------------------------------------------


def measure(stack: Stack, subject: Subject, rnd: int, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ns = stack.cp.new_namespace(f"r{rnd}-{subject.name}")
    stack.issuer(ns, "pca")
    stack.request(ns, "first")
    stack.admin.configure(issuance_delay=0.0)
    with running(stack, subject, f"{subject.name}-r{rnd}") as (proc, t0, probe):
        while not _http_ok(probe + "/healthz"):
            if not proc.alive():
                raise RuntimeError(f"{subject.name} exited: {proc.tail(30)}")
            time.sleep(0.002)
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
            bns = stack.cp.new_namespace(f"r{rnd}-{subject.name}-b{int(delay)}")
            stack.issuer(bns, "pca")
            flows.wait_issuer_ready(stack.kube, KIND, "pca", bns)
            gets = stack.get_certificate_calls()
            cpu = cpu_seconds(proc.pid)
            t = time.monotonic()
            for i in range(args.requests):
                stack.request(bns, f"b{i}")
            end = stack.wait_all_issued(bns, args.requests, timeout=args.timeout)
            key = f"delay_{int(delay)}"
            out[f"throughput_rps_{key}"] = args.requests / (end - t)
            out[f"cpu_s_per_batch_{key}"] = cpu_seconds(proc.pid) - cpu
            out[f"get_certificate_per_request_{key}"] = (
                stack.get_certificate_calls() - gets
            ) / args.requests
            stack.cleanup(bns)
        stack.admin.configure(issuance_delay=0.0)
        time.sleep(args.settle)
        out["rss_after_batches_mib"] = rss_mib(proc.pid)

        ins = stack.cp.new_namespace(f"r{rnd}-{subject.name}-iss")
        for i in range(args.issuers):
            stack.issuer(ins, f"pca{i}")
            stack.request(ins, f"r{i}", issuer=f"pca{i}")
        stack.wait_all_issued(ins, args.issuers, timeout=args.timeout)
        time.sleep(args.settle)
        out["rss_many_issuers_mib"] = rss_mib(proc.pid)
        out["rss_peak_mib"] = rss_mib(proc.pid, "VmHWM")
        stack.cleanup(ins)
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

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(n)))


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


def table(summary: dict[str, Any], subjects: list[str]) -> str:
    head = "| metric | " + " | ".join(subjects) + (" | ours/go |" if len(subjects) == 2 else " |")
    sep = "|---" * (len(subjects) + 1 + (len(subjects) == 2)) + "|"
    lines = [head, sep]
    for label, keys, unit, digits in ROWS:
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


def report(result: dict[str, Any]) -> str:
    subjects = result["subjects"]
    load = result["load_average"]
    m = result["machine"]
    return "\n".join(
        [
            f"Measured {result['date']} with `{result['command']}`: {result['rounds']} paired "
            f"round(s), {result['requests']} requests per batch, {result['issuers']} issuers, "
            f"{result['finished']} finished requests at the restart rows; "
            f"machine {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, Linux "
            f"{m['kernel']}, Python {m['python']}; load average (1 min) "
            f"{load['before'][0]:.1f} before, {load['after'][0]:.1f} after. "
            "Cells: median (min-max) over the rounds.",
            "",
            table(result["summary"], subjects),
        ]
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    subjects = [SUBJECTS[s] for s in args.only]
    if any(s.name == "go" for s in subjects):
        go_issuer_binary()
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    rounds: list[dict[str, dict[str, float]]] = []
    with ControlPlane(workdir, "bench") as cp:
        emu = run_in_thread(EmulatorConfig())
        try:
            admin = AdminClient(emu.url)
            arn = admin.bootstrap(key_algorithm="EC_prime256v1")["subordinate_arn"]
            stack = Stack(cp, admin, emu.url, arn, workdir)
            for rnd in range(args.rounds):
                order = subjects if rnd % 2 == 0 else list(reversed(subjects))
                results: dict[str, dict[str, float]] = {}
                for subject in order:
                    print(f"[bench] round {rnd + 1}/{args.rounds}: {subject.name}", flush=True)
                    results[subject.name] = measure(stack, subject, rnd, args)
                    print(f"[bench]   {json.dumps(results[subject.name])}", flush=True)
                rounds.append(results)
            if args.finished:
                # Last, so that only these rows see a cluster full of finished requests.
                print(f"[bench] creating {args.finished} finished requests", flush=True)
                populate_finished(stack, args.finished)
                for rnd, results in enumerate(rounds):
                    order = subjects if rnd % 2 == 0 else list(reversed(subjects))
                    for subject in order:
                        print(
                            f"[bench] restart {rnd + 1}/{args.rounds}: {subject.name}", flush=True
                        )
                        restart = measure_restart(stack, subject, rnd, args)
                        print(f"[bench]   {json.dumps(restart)}", flush=True)
                        results[subject.name].update(restart)
        finally:
            emu.stop()
    summary = summarize(rounds)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join(
            shlex.quote(a) for a in ["python", "-m", "tests.bench.bench_controller", *args.argv]
        ),
        "subjects": [s.name for s in subjects],
        "go_issuer_version": versions()["UPSTREAM_VERSION"],
        "rounds": args.rounds,
        "requests": args.requests,
        "issuers": args.issuers,
        "finished": args.finished,
        "latency_samples": args.latency_samples,
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
    p.add_argument("--settle", type=float, default=2.0, help="seconds idle before reading RSS")
    p.add_argument("--timeout", type=float, default=600.0)
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
