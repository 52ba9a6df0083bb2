"""What the controller loads only when it needs it: PyYAML, kubernetes_asyncio, aiohttp.

A controller in the cluster reads no kubeconfig file, so PyYAML (~1 MiB of
RSS) is imported only to read one; kubernetes_asyncio (tens of MiB) only for
a kubeconfig whose user needs an exec plugin or an auth provider, and with it
aiohttp (~10 MiB), which the controller's own HTTP client does not use.
"""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import json, sys
import issuer.app
print(json.dumps(sorted(sys.modules)))
"""


def test_the_controller_loads_neither_yaml_nor_kubernetes_asyncio_until_asked() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    loaded = json.loads(out)
    assert "issuer.kube.config" in loaded
    lazy = ("yaml", "kubernetes_asyncio", "aiohttp")
    assert [m for m in loaded if m.split(".")[0] in lazy] == []
