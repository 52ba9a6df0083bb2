"""The Dockerfile, statically: linted by hadolint, multi-stage, non-root, no build tools, locked.

tests/e2e/test_image.py builds and runs the image; what is checked here holds
for every base: hadolint passes; the final stage runs as 65532, is entered
through ``python -m issuer`` (what devstack/awspca_devstack/issuerproc.py runs),
carries the OCI labels, installs nothing and keeps no pip; the package is
installed from its wheel under constraints.txt; build-time pip settings come
only through secret mounts; the build context is limited by .dockerignore.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for ins in _instructions(DOCKERFILE.read_text()):
        if ins[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(ins)
    return stages


def _hadolint() -> str:
    venv = Path(sys.executable).parent / "hadolint"
    found = str(venv) if venv.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed (it comes with the dev extras: make venv)")
    return found


def test_hadolint_passes() -> None:
    res = subprocess.run(
        [_hadolint(), "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_multi_stage_and_the_final_stage_has_no_build_tools() -> None:
    stages = _stages()
    assert len(stages) >= 2, "build and runtime must be separate stages"
    final = stages[-1]
    assert not final[0][1].lower().endswith(" as build"), "the last stage is the runtime one"
    runs = " ".join(args for ins, args in final if ins == "RUN")
    for tool in ("apt-get install", "apk add", "gcc", "make ", "pip install", "build-essential"):
        assert tool not in runs, f"final stage runs {tool!r}"
    assert "pip uninstall" in runs, "the final stage must not keep pip"
    copies = [args for ins, args in final if ins == "COPY"]
    assert copies
    assert all(c.startswith("--from=build") for c in copies), copies


def test_runs_as_65532_through_python_m_issuer() -> None:
    final = _stages()[-1]
    users = [args for ins, args in final if ins == "USER"]
    assert users
    assert users[-1].split(":")[0] == "65532"
    (entry,) = [args for ins, args in final if ins == "ENTRYPOINT"]
    assert json.loads(entry) == ["python", "-m", "issuer"]
    assert not [ins for ins, _ in final if ins == "CMD"], "flags come from the Deployment's args"
    env = " ".join(args for ins, args in final if ins == "ENV")
    assert "PYTHONUNBUFFERED=1" in env  # as devstack/awspca_devstack/issuerproc.py runs it
    assert "/opt/venv/bin" in env


def test_oci_labels() -> None:
    labels = " ".join(args for ins, args in _stages()[-1] if ins == "LABEL")
    keys = {tok.split("=", 1)[0] for tok in shlex.split(labels)}
    for key in ("title", "description", "version", "revision", "licenses", "source"):
        assert f"org.opencontainers.image.{key}" in keys


def test_the_image_installs_the_package_the_tests_run() -> None:
    build = _stages()[0]
    copies = " ".join(args for ins, args in build if ins == "COPY")
    assert "pyproject.toml" in copies
    assert "issuer" in copies
    assert "constraints.txt" in copies
    runs = " ".join(args for ins, args in build if ins == "RUN")
    # The same pyproject.toml and lock file as `make venv`, installed from the wheel.
    assert "pip wheel --no-deps --constraint constraints.txt --wheel-dir /wheels /src" in runs
    assert "pip install --no-compile --constraint constraints.txt /wheels/awspca_issuer-" in runs
    ignore = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ignore[0] == "*", ".dockerignore must start from nothing"
    assert {"!constraints.txt", "!pyproject.toml", "!README.md", "!issuer/"} <= set(ignore)


def test_build_time_pip_settings_only_through_secret_mounts() -> None:
    """A pip.conf or CA bundle COPY'd, ADD'ed or bind-mounted would stay in a layer."""
    text = DOCKERFILE.read_text()
    for ins, args in _instructions(text):
        if ins in ("COPY", "ADD"):
            assert "pip" not in args, args
            assert ".crt" not in args, args
        if ins == "RUN":
            mounts = re.findall(r"--mount=(\S+)", args)
            assert all(m.startswith("type=secret,") for m in mounts), mounts
    assert "PIP_CONFIG_FILE=/run/secrets/pip.conf" in text
    assert "/etc/pip.conf" not in text
