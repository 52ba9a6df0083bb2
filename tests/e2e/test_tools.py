"""The upstream tools are built at the pinned versions and run."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

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


BUILD_TOOLS = tools.HACK / "build-tools.sh"


def _build(tools_dir: Path, *components: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BUILD_TOOLS), *components],
        env={**os.environ, "TOOLS_DIR": str(tools_dir), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_build_tools_skips_stamped_components_and_builds_the_others(tmp_path: Path) -> None:
    v = tools.versions()
    stamped = tmp_path / f"etcd-{v['ETCD_VERSION']}"
    stamped.mkdir()
    (stamped / ".built").touch()
    res = _build(tmp_path, "etcd", "upstream", BUILD_JOBS="2")
    assert res.returncode == 0, res.stderr
    assert "building etcd upstream, up to 2 at once" in res.stderr
    assert f"etcd {v['ETCD_VERSION']}: cached" in res.stderr
    assert (tmp_path / f"upstream-{v['UPSTREAM_VERSION']}" / ".built").exists()
    assert not list(tmp_path.glob("*.partial"))


def test_build_tools_names_every_failed_component_and_stamps_none(tmp_path: Path) -> None:
    # No module proxy and an empty module cache: both builds fail at once, concurrently.
    res = _build(
        tmp_path / "tools",
        "helm",
        "prometheus",
        BUILD_JOBS="2",
        GOPROXY="off",
        GOMODCACHE=str(tmp_path / "modcache"),
    )
    assert res.returncode == 1
    failed = re.search(r"build failed for: (.+)", res.stderr)
    assert failed is not None, res.stderr
    assert sorted(failed.group(1).split()) == ["helm", "prometheus"]
    assert not list((tmp_path / "tools").glob("*/.built"))
