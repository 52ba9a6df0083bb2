"""hack/image_pipconf.py: the image build's pip settings come from the host's, minus host paths.

Run as the script hack/image.sh runs it, with pip's configuration given through
PIP_* variables only (PIP_CONFIG_FILE=/dev/null hides every file).
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "hack" / "image_pipconf.py"


def _run(tmp_path: Path, **pip_env: str) -> tuple[configparser.ConfigParser, Path]:
    out = tmp_path / "out"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env |= {"PIP_CONFIG_FILE": os.devnull, **pip_env}
    env.pop("SSL_CERT_FILE", None)
    subprocess.run([sys.executable, str(SCRIPT), str(out)], env=env, check=True, timeout=120)
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(out / "pip.conf")
    return cfg, out


def test_index_settings_carry_over_host_paths_do_not(tmp_path: Path) -> None:
    bundle = tmp_path / "corp-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    cfg, out = _run(
        tmp_path,
        PIP_INDEX_URL="https://mirror.invalid/simple",
        PIP_DEFAULT_TIMEOUT="180",
        PIP_FIND_LINKS="/opt/wheels",
        PIP_CERT=str(bundle),
    )
    g = dict(cfg["global"])
    assert g["index-url"] == "https://mirror.invalid/simple"
    assert g["default-timeout"] == "180"
    assert "find-links" not in g
    # The host's bundle, copied for the build secret; pip in the build reads the mount.
    assert g["cert"] == "/run/secrets/ca.crt"
    assert (out / "ca.crt").read_text() == bundle.read_text()


def test_nothing_configured_gives_an_empty_global_section(tmp_path: Path) -> None:
    cfg, _ = _run(tmp_path)
    assert set(cfg["global"]) <= {"cert"}
