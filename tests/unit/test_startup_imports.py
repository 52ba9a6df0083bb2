"""What the start-up path loads before the probe listener is up: the standard library only.

``python -m issuer`` imports ``issuer.cli`` (flags), which imports
``issuer.bootstrap`` (the probe listener, a thread on a blocking socket);
the controller's dependencies, asyncio included, are loaded after it is up,
by ``issuer.app``. If one
of them crept into the start-up path, /healthz would again wait for it.
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

_PROBE = """
import json, sys
import issuer.__main__, issuer.cli, issuer.bootstrap
print(json.dumps(sorted(sys.modules)))
"""


def test_the_start_up_path_imports_nothing_heavy() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    loaded = json.loads(out)
    heavy = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert heavy == []
    assert "issuer.observability.server" in loaded  # the probe server itself is there
