"""Where the controller finds the API server: errors a human can act on, never a traceback.

In a pod whose ServiceAccount token is not mounted (automountServiceAccountToken
false, a projected volume missing) KUBERNETES_SERVICE_HOST is set but the
ServiceAccount files are not there; a kubeconfig path may be wrong. Both must
end the process with one line naming what is missing and exit code 1.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from issuer.kube import config
from tests.unit.pki_helpers import hierarchy, pem


def _sa_dir(tmp_path: Path, *, token: bool = True, ca: bool = True, ns: str | None = None) -> Path:
    d = tmp_path / "serviceaccount"
    d.mkdir()
    if token:
        (d / "token").write_text("tok\n")
    if ca:
        (d / "ca.crt").write_text(pem(hierarchy().root))
    if ns is not None:
        (d / "namespace").write_text(ns + "\n")
    return d


@pytest.fixture
def in_pod(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    return monkeypatch


async def test_in_cluster_reads_the_serviceaccount_files(
    in_pod: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    in_pod.setattr(config, "IN_CLUSTER_DIR", _sa_dir(tmp_path, ns="awspca-system"))
    access = config.in_cluster()
    assert access.server == "https://10.0.0.1:443"
    assert access.namespace == "awspca-system"
    assert await access.token() == "tok"


def test_the_clusters_ca_is_the_only_trusted_root_as_in_client_go(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text(pem(hierarchy().root))
    only_ca = config._ssl_context(None, str(ca), (None, None), (None, None), False)
    assert only_ca.cert_store_stats()["x509_ca"] == 1
    assert only_ca.verify_mode == ssl.CERT_REQUIRED
    assert only_ca.check_hostname
    inline = config._ssl_context(ca.read_bytes(), None, (None, None), (None, None), False)
    assert inline.cert_store_stats()["x509_ca"] == 1
    system = config._ssl_context(None, None, (None, None), (None, None), False)
    assert system.cert_store_stats() == ssl.create_default_context().cert_store_stats()
    insecure = config._ssl_context(None, str(ca), (None, None), (None, None), True)
    assert insecure.verify_mode == ssl.CERT_NONE


@pytest.mark.parametrize(
    ("token", "ca", "missing"),
    [
        (False, False, "serviceaccount does not exist"),
        (True, False, "has no ca.crt"),
        (False, True, "has no token"),
    ],
)
def test_missing_serviceaccount_files_are_a_config_error(
    in_pod: pytest.MonkeyPatch, tmp_path: Path, token: bool, ca: bool, missing: str
) -> None:
    d = _sa_dir(tmp_path, token=token, ca=ca)
    if not (token or ca):
        d.rmdir()
    in_pod.setattr(config, "IN_CLUSTER_DIR", d)
    with pytest.raises(config.KubeConfigError) as err:
        config.in_cluster()
    msg = str(err.value)
    assert missing in msg
    assert "KUBERNETES_SERVICE_HOST" in msg
    assert "\n" not in msg


async def test_unreadable_kubeconfig_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(config.KubeConfigError, match=r"no-such\.kubeconfig"):
        await config.from_kubeconfig(str(tmp_path / "no-such.kubeconfig"))
    bad = tmp_path / "bad.kubeconfig"
    bad.write_text("clusters: [unclosed\n")
    with pytest.raises(config.KubeConfigError, match=r"bad\.kubeconfig"):
        await config.from_kubeconfig(str(bad))


_RUN_WITH_SA_DIR = """
import sys
from pathlib import Path
import issuer.kube.config as c
c.IN_CLUSTER_DIR = Path(sys.argv[1])
from issuer.cli import main
raise SystemExit(main(["--log-format", "json", "--metrics-bind-address", "0",
                       "--health-probe-bind-address", "0"]))
"""


def test_the_process_exits_with_one_line_not_a_traceback(tmp_path: Path) -> None:
    """The whole path: flags parsed, logging set up, the error logged once, exit code 1."""
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "1", "PATH": ""}
    res = subprocess.run(
        [sys.executable, "-c", _RUN_WITH_SA_DIR, str(tmp_path / "absent")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "Traceback" not in out, out
    errors = [json.loads(line) for line in out.splitlines() if '"error"' in line]
    assert len(errors) == 1, out
    assert f"{tmp_path / 'absent'} does not exist" in errors[0]["error"]
