"""hack/image.sh on a machine that cannot build images: one line saying why, exit code 3.

tests/e2e/test_image.py turns that line into its skip reason, so `make test`
never skips the image silently. Run as an unprivileged user (setpriv when the
tests run as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "hack" / "image.sh"


def test_not_root_is_one_line_and_exit_3() -> None:
    # A copy the unprivileged user can reach: the checkout may sit under a
    # 0700 directory (a fresh clone in mktemp -d), which uid 65534 cannot enter.
    reachable = Path(tempfile.mkdtemp())
    reachable.chmod(0o755)
    (reachable / "hack").mkdir(mode=0o755)
    script = reachable / "hack" / SCRIPT.name
    shutil.copy2(SCRIPT, script)
    argv = [str(script), "check"]
    if os.getuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root"
        argv = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 3, res.stdout + res.stderr
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("image: cannot build here: not root")
    shutil.rmtree(reachable)
