"""``make demo`` end to end: the command it runs, as a subprocess, in bounded time.

The first test runs the demo as ``make demo`` does and checks the summary it
prints (both clusters' chains, the workload certificates istiod signed, the
cross-cluster mTLS handshake) and that it leaves no process behind. The second runs it with
``--stay``, uses the printed kubeconfig and emulator endpoint as a user
would (kubectl apply of an own Certificate), then stops it with Ctrl-C.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO

from awspca_devstack import tools

ROOT = Path(__file__).resolve().parents[2]
DEMO = [sys.executable, "-m", "awspca_devstack", "demo"]
PATHLEN0 = "arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen0/V1"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def _processes_under(workdir: Path) -> list[str]:
    """Command lines of live processes that mention ``workdir`` (etcd, kube-apiserver, ...)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(workdir) in cmd and "pytest" not in cmd:
            found.append(cmd)
    return found


def _check_summary(out: str) -> None:
    assert "=== Summary" in out, out
    summary = out[out.index("=== Summary") :]
    for cluster in ("cluster1", "cluster2"):
        part = summary[summary.index(f"{cluster}:") :]
        assert "Secret istio-system/cacerts (kubernetes.io/tls): keys ca.crt, tls.crt, tls.key" in (
            part
        )
        assert f"subject   CN=Istio intermediate CA {cluster},O=Istio" in part
        # the workload certificate istiod signed with this cluster's intermediate
        assert f"URI SAN   spiffe://cluster.local/ns/app-{cluster}/sa/workload" in part
        assert f"issuer    CN=Istio intermediate CA {cluster},O=Istio" in part
    assert "subject   CN=Emulator Subordinate CA,O=Emulator" in out
    assert "issuer    CN=Emulator Root CA,O=Emulator" in out
    assert "EC secp256r1; CA, pathlen 0" in out
    assert "EC secp256r1; CA, pathlen 1" in out
    assert re.search(r"validity  \d{4}-\d\d-\d\d \d\d:\d\d UTC -> \d{4}-\d\d-\d\d", out)
    assert (
        len(re.findall(r"CertificateRequest istio-system/cacerts-\d+: Ready \(Issued\)", out)) == 2
    )
    assert f"template         {PATHLEN0}  (from the controller's log)" in out
    assert "SubordinateCACertificate_PathLen0/V1  (derived from the issued certificate)" in out
    assert out.count("chain check      leaf -> cluster intermediate -> subordinate CA -> root") == 2
    assert "cluster1 (server) <-> cluster2 (client): TLSv1.3, both certificates verified" in out
    assert "the server saw the client as spiffe://cluster.local/ns/app-cluster2/sa/workload" in out
    assert "the client saw the server as spiffe://cluster.local/ns/app-cluster1/sa/workload" in out
    # One IssueCertificate per CertificateRequest, each with its own token: cert-manager
    # may create a second request for a Certificate while the first is being issued
    # (its key or revision moved on), and that one is issued too, once.
    tokens = re.findall(
        r"IssueCertificate OK by arn:aws:sts::123456789012:assumed-role/issuer-irsa/\S+ "
        r"token (\S+)",
        out,
    )
    created = [int(n) for n in re.findall(r"cert-manager created (\d+) CertificateRequest", out)]
    assert len(created) == 2, out
    assert min(created) >= 1, out
    assert len(tokens) == sum(created), out
    assert len(set(tokens)) == len(tokens), out
    assert re.search(r"  total\s+\d+\.\d s", out)
    assert "AWSPCAClusterIssuer pca-cluster-irsa: Ready=True (Verified)" in out  # progress


def test_demo_runs_and_prints_a_summary(tmp_path: Path) -> None:
    t0 = time.monotonic()
    res = subprocess.run(
        [*DEMO, "--workdir", str(tmp_path)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    _check_summary(out)
    assert out.rstrip().endswith("stopped"), out
    assert _processes_under(tmp_path) == []
    print(f"demo wall time {time.monotonic() - t0:.1f}s")


def _reader(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


def _read_until(lines: queue.Queue[str], marker: str, timeout: float) -> str:
    out, deadline = "", time.monotonic() + timeout
    while marker not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {marker!r} within {timeout}s:\n{out}")
        try:
            out += lines.get(timeout=left)
        except queue.Empty:
            continue
    return out


def test_demo_stays_up_for_kubectl_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*DEMO, "--stay", "--workdir", str(tmp_path)],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True)
    reader.start()
    try:
        out = _read_until(lines, "Ctrl-C stops everything.", 240)
        _check_summary(out)
        kubeconfig = re.search(r"export KUBECONFIG=(\S+)", out)
        endpoint = re.search(r"AWS PCA emulator: (http://127\.0\.0\.1:\d+)", out)
        assert kubeconfig is not None, out
        assert endpoint is not None, out

        # What a user does with it: kubectl apply an own Certificate and wait for it.
        kubectl = [str(tools.binary("kubectl")), "--kubeconfig", kubeconfig.group(1)]
        cert = {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": "mine", "namespace": "default"},
            "spec": {
                "secretName": "mine-tls",
                "commonName": "mine.example.test",
                "dnsNames": ["mine.example.test"],
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {
                    "group": "awspca.cert-manager.io",
                    "kind": "AWSPCAClusterIssuer",
                    "name": "pca-cluster-irsa",
                },
            },
        }
        for args in (
            ["apply", "-f", "-"],
            ["wait", "--for=condition=Ready", "certificate/mine", "--timeout=90s"],
        ):
            res = subprocess.run(
                [*kubectl, *args],
                input=json.dumps(cert),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert res.returncode == 0, res.stdout + res.stderr
        with urllib.request.urlopen(f"{endpoint.group(1)}/_emulator/health", timeout=10) as r:  # noqa: S310
            assert json.loads(r.read())["status"] == "ok"

        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(60) == 0
        reader.join(10)
        rest = ""
        while not lines.empty():
            rest += lines.get()
        assert rest.rstrip().endswith("stopped"), rest
        assert _processes_under(tmp_path) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
