"""The upstream tools are built at the pinned versions and run."""

from __future__ import annotations

import subprocess

from awspca_devstack import tools


def _out(*argv: str) -> str:
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    return res.stdout + res.stderr


def test_versions_are_the_pinned_ones() -> None:
    v = tools.versions()
    assert f"v{v['K8S_VERSION']}" in _out(str(tools.binary("kube-apiserver")), "--version")
    assert f"v{v['K8S_VERSION']}" in _out(str(tools.binary("kubectl")), "version", "--client")
    assert v["ETCD_VERSION"] in _out(str(tools.binary("etcd")), "--version")
    assert f"v{v['HELM_VERSION']}" in _out(str(tools.binary("helm")), "version", "--short")
    assert "prometheus" in _out(str(tools.binary("prometheus")), "--version").lower()
    assert "promtool" in _out(str(tools.binary("promtool")), "--version").lower()


def test_cert_manager_crds_are_available() -> None:
    names = {p.name for p in tools.cert_manager_crds_dir().glob("*.yaml")}
    assert "cert-manager.io_certificaterequests.yaml" in names
    assert "cert-manager.io_certificates.yaml" in names


def test_istiod_is_the_pinned_istio_commit() -> None:
    # istiod reports no version of its own when built from the module proxy;
    # the module information the Go linker embeds names the commit.
    info = _out("go", "version", "-m", str(tools.binary("pilot-discovery")))
    assert "path\tistio.io/istio/pilot/cmd/pilot-discovery" in info
    assert f"mod\tistio.io/istio\tv{tools.versions()['ISTIO_VERSION']}\t" in info
