"""The pip configuration for an image build, derived from this machine's, at build time.

Run by hack/image.sh: ``python3 hack/image_pipconf.py OUT_DIR``. Reads what
pip on this host is configured with (``pip config list``: files and PIP_*
variables), keeps what says where packages come from (index, extra index,
trusted hosts, timeouts, retries), drops host paths (find-links, cert, client
cert) and, when the host trusts a CA bundle for pip, copies that bundle and
points ``cert`` at the path the Dockerfile mounts it on. Writes
``OUT_DIR/pip.conf`` and, if any, ``OUT_DIR/ca.crt``; prints nothing else.
Nothing of it enters the repository or the image (build secrets).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from configparser import ConfigParser
from pathlib import Path

CA_MOUNT = "/run/secrets/ca.crt"  # where the Dockerfile mounts the ca.crt build secret
KEEP = {
    "index-url",
    "extra-index-url",
    "trusted-host",
    "timeout",
    "default-timeout",
    "retries",
    "proxy",
    "no-index",
}
DEFAULT_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def host_settings() -> dict[str, str]:
    """``{key: value}`` of pip's effective configuration here (files and environment)."""
    res = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        check=False,
    )
    out: dict[str, str] = {}
    for line in res.stdout.splitlines():
        name, sep, raw = line.partition("=")
        if not sep:
            continue
        key = name.rpartition(".")[2]
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        out[key] = str(value)
    return out


def ca_bundle(settings: dict[str, str]) -> Path | None:
    """The CA bundle pip trusts here: its own setting, else the system's."""
    candidates = [
        settings.get("cert"),
        os.environ.get("PIP_CERT"),
        os.environ.get("SSL_CERT_FILE"),
        *DEFAULT_BUNDLES,
    ]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


def render(settings: dict[str, str], has_ca: bool) -> str:
    cfg = ConfigParser(interpolation=None)
    cfg["global"] = {k: v for k, v in sorted(settings.items()) if k in KEEP}
    if has_ca:
        cfg["global"]["cert"] = CA_MOUNT
    lines: list[str] = []
    for section in cfg.sections():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {v}" for k, v in cfg[section].items())
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    out = Path(argv[1])
    settings = host_settings()
    bundle = ca_bundle(settings)
    if bundle is not None:
        shutil.copyfile(bundle, out / "ca.crt")
    (out / "pip.conf").write_text(render(settings, bundle is not None))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
