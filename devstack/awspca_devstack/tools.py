"""Where the upstream binaries built by hack/build-tools.sh live, by pinned version."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HACK = REPO_ROOT / "hack"


class ToolMissingError(RuntimeError):
    """A component has not been built; the message says how to build it."""


def versions() -> dict[str, str]:
    """The pinned versions from hack/versions.env (the one place they are set)."""
    out: dict[str, str] = {}
    for line in (HACK / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def tools_dir() -> Path:
    env = os.environ.get("TOOLS_DIR")
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "awspca-issuer" / "tools"


def _component_dir(component: str) -> Path:
    v = versions()
    if component == "cert-manager":
        digest = hashlib.sha1((HACK / "cmctrl" / "main.go").read_bytes()).hexdigest()[:8]  # noqa: S324
        key = f"{v['CERT_MANAGER_VERSION']}-{digest}"
    else:
        var = {
            "etcd": "ETCD_VERSION",
            "kubernetes": "K8S_VERSION",
            "helm": "HELM_VERSION",
            "prometheus": "PROMETHEUS_VERSION",
            "upstream": "UPSTREAM_VERSION",
            "upstream-e2e": "UPSTREAM_VERSION",
            "istiod": "ISTIO_VERSION",
        }[component]
        key = v[var]
    d = tools_dir() / f"{component}-{key}"
    if not (d / ".built").exists():
        raise ToolMissingError(
            f"component '{component}' ({key}) is not built under {tools_dir()}; "
            f"run: hack/build-tools.sh {component}"
        )
    return d


_BINARIES = {
    "etcd": "etcd",
    "kube-apiserver": "kubernetes",
    "kubectl": "kubernetes",
    "helm": "helm",
    "cm-controller": "cert-manager",
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "pilot-discovery": "istiod",
}


def binary(name: str) -> Path:
    """Path of a built binary (etcd, kube-apiserver, kubectl, helm, cm-controller, ...)."""
    return _component_dir(_BINARIES[name]) / "bin" / name


def cert_manager_crds_dir() -> Path:
    """cert-manager's CRD YAML files at the pinned version."""
    return _component_dir("cert-manager") / "crds"


def our_crds_dir() -> Path:
    return REPO_ROOT / "manifests" / "crds"


def upstream_module_dir() -> Path:
    """The Go aws-privateca-issuer's module source at the pinned version (CRDs, chart, e2e)."""
    return _component_dir("upstream") / "module"


def upstream_e2e_suite() -> tuple[Path, Path]:
    """The Go issuer's godog e2e suite: its test binary and its ``features`` directory."""
    d = _component_dir("upstream-e2e")
    return d / "bin" / "upstream-e2e.test", d / "features"
