"""What the controller imports, and when.

The start-up path loads the standard library only before the probe listener
is up: ``python -m issuer`` imports ``issuer.cli`` (flags), which imports
``issuer.bootstrap`` (the probe listener, a thread on a blocking socket); the
controller's dependencies, asyncio included, are loaded after it is up, by
``issuer.app``. If one of them crept into the start-up path, /healthz would
again wait for it.

What the controller loads only when it needs it: a controller in the cluster
reads no kubeconfig file, so PyYAML (~1 MiB of RSS) is imported only to read
one; kubernetes_asyncio (tens of MiB) only for a kubeconfig whose user needs
an exec plugin or an auth provider, and with it aiohttp (~10 MiB), which the
controller's own HTTP client does not use.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "aiohttp",
    "asyncio",
    "boto3",
    "botocore",
    "cryptography",
    "kubernetes_asyncio",
    "prometheus_client",
    "yaml",
    "issuer.app",
    "issuer.controllers",
    "issuer.kube",
    "issuer.signer",
    "issuer.runtime",
)


def _loaded_after(*modules: str) -> list[str]:
    """The modules a fresh interpreter holds after importing ``modules``."""
    probe = f"import json, sys\nimport {', '.join(modules)}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    loaded: list[str] = json.loads(out)
    return loaded


def test_the_start_up_path_imports_nothing_heavy() -> None:
    loaded = _loaded_after("issuer.__main__", "issuer.cli", "issuer.bootstrap")
    heavy = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert heavy == []
    assert "issuer.observability.server" in loaded  # the probe server itself is there


def test_the_controller_loads_neither_yaml_nor_kubernetes_asyncio_until_asked() -> None:
    loaded = _loaded_after("issuer.app")
    assert "issuer.kube.config" in loaded
    lazy = ("yaml", "kubernetes_asyncio", "aiohttp")
    assert [m for m in loaded if m.split(".")[0] in lazy] == []
