"""Where the controller finds its API server: flag, KUBECONFIG, in-cluster, ~/.kube/config.

As controller-runtime. A bad path is one clear line from the process, never a
traceback.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from issuer.kube import config as kube_config


def _write_kubeconfig(path: Path, server: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
                "clusters": [{"name": "k", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
            }
        )
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    return tmp_path


def test_no_flag_falls_back_to_home_kube_config(home: Path) -> None:
    _write_kubeconfig(home / ".kube" / "config", "https://home.example:6443")
    access = asyncio.run(kube_config.load(None))
    assert access.server == "https://home.example:6443"


def test_the_flag_wins_over_home(home: Path) -> None:
    _write_kubeconfig(home / ".kube" / "config", "https://home.example:6443")
    _write_kubeconfig(home / "other", "https://flag.example:6443")
    access = asyncio.run(kube_config.load(str(home / "other")))
    assert access.server == "https://flag.example:6443"


def test_kubeconfig_list_uses_the_first_file_that_exists(home: Path) -> None:
    _write_kubeconfig(home / "second", "https://second.example:6443")
    listed = os.pathsep.join([str(home / "missing"), str(home / "second")])
    assert asyncio.run(kube_config.load(listed)).server == "https://second.example:6443"


def test_nothing_at_all_says_what_was_tried(home: Path) -> None:
    with pytest.raises(kube_config.KubeConfigError, match=r"\.kube/config"):
        asyncio.run(kube_config.load(None))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "no such file"),
        ("{{{ not yaml", "cannot be used"),
        ("just a string", "not a kubeconfig"),
        ("apiVersion: v1\ncontexts: []\n", "no context named"),
    ],
)
def test_a_bad_kubeconfig_is_one_clear_line_from_the_process(
    home: Path, content: str | None, fragment: str
) -> None:
    path = home / "bad-kubeconfig"
    if content is not None:
        path.write_text(content)
    res = subprocess.run(
        # No listeners: the probe listener binds (and logs) before the kubeconfig is read,
        # and a busy default port on this machine must not change what is tested here.
        [
            sys.executable,
            "-m",
            "issuer",
            "--kubeconfig",
            str(path),
            "--log-format",
            "text",
            "--health-probe-bind-address",
            "0",
            "--metrics-bind-address",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = (res.stdout + res.stderr).strip()
    assert res.returncode == 1, out
    assert "Traceback" not in out, out
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert fragment in lines[0], out
    assert str(path) in lines[0], out
