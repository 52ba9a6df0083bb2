"""Upstream's own e2e suite (aws-privateca-issuer v1.12.0, godog) against our stack.

The suite's test binary (built by ``hack/build-tools.sh upstream-e2e`` from the
module source, unchanged) runs against the harness's API server, a real
cert-manager, the emulator as AWS (account A, plus account B for the
cross-account feature) and our controller as a process. Only the environment
is adapted, never the suite:

- the kubeconfig goes where the suite hard-codes it (``/tmp/pca_kubeconfig``),
  under a file lock so two sessions on one machine take turns;
- AWS: ``AWS_ENDPOINT_URL`` (honoured by the Go SDK v2 for every service),
  the emulator's administrator key for account A, a role
  ``IssuerTestRole-test-us-east-1`` (the suite's default name) for role
  assumption, and ``PLUGIN_CROSS_ACCOUNT_ROLE`` naming an admin role of
  account B that account A may assume;
- the ServiceAccount scenario uses the controller's ServiceAccount and the
  IRSA role that trusts it (``CONTROLLER_*``, ``SERVICE_ACCOUNT_AUTH_ROLE``).

The suite picks its tags from the environment (see its TestMain), so the
runner runs it twice: with issuer ambient credentials enabled (controller
flag ``--issuer-ambient-credentials``) over every feature, then disabled
(``ISSUER_AMBIENT_CREDENTIALS=false``, controller default) over the one
feature with ``@NoIssuerAmbientCredentials`` scenarios. Each scenario (each
Examples row) is one pytest test; its outcome is read from godog's output
(`godog_results`), whose full text stays in the session's work directory.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from awspca_devstack import ControlPlane
from awspca_devstack.certmanager import CertManager
from awspca_devstack.issuerproc import IssuerProcess
from awspca_devstack.stack import ACCOUNT, CONTROLLER_NS, CONTROLLER_SA, IRSA_ROLE, instead_of
from awspca_devstack.tools import upstream_e2e_suite
from awspca_emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, RoleConfig

from tests.e2e.godog_results import Pickle, RunReport, parse_feature, results, runs_in

pytestmark = pytest.mark.timeout(3600)

#: Where the suite reads its kubeconfig (a constant in its TestMain).
SUITE_KUBECONFIG = Path("/tmp/pca_kubeconfig")
XA_ACCOUNT = "210987654321"
XA_ROLE = RoleConfig(
    name="CrossAccountCaAdmin",
    account=XA_ACCOUNT,
    allowed_principals=[f"arn:aws:iam::{ACCOUNT}:root"],
)
#: The role the suite assumes unless ROLE_TO_ASSUME_OVERRIDE says otherwise.
ASSUME_ROLE = RoleConfig(
    name="IssuerTestRole-test-us-east-1", allowed_principals=[f"arn:aws:iam::{ACCOUNT}:root"]
)
#: One binary run per feature; this many at once (the machine has few cores).
PARALLEL_RUNS = 2
RUN_TIMEOUT = 1500.0


@dataclass(frozen=True)
class Run:
    """One invocation of the suite's binary: a configuration over one feature file."""

    config: str  # issuer-ambient | no-issuer-ambient
    feature: str
    env: tuple[tuple[str, str], ...] = field(default=())

    @property
    def name(self) -> str:
        return f"{self.config}/{self.feature.removesuffix('.feature')}"

    def excluded_tags(self) -> set[str]:
        """The suite's TestMain rule: which tags its environment switches off."""
        env = dict(self.env)
        out = set()
        if "PLUGIN_CROSS_ACCOUNT_ROLE" not in env:
            out.add("@CrossAccount")
        if env.get("ISSUER_AMBIENT_CREDENTIALS") == "false":
            out.add("@IssuerAmbientCredentials")
        else:
            out.add("@NoIssuerAmbientCredentials")
        if "SERVICE_ACCOUNT_AUTH_ROLE" not in env:
            out.add("@ServiceAccountAuth")
        return out


def _features_dir() -> Path:
    """The feature files the binary runs (copied next to it at build time)."""
    return upstream_e2e_suite()[1]


def _plan() -> tuple[list[Run], list[Run], dict[Run, list[Pickle]]]:
    common = (("SERVICE_ACCOUNT_AUTH_ROLE", IRSA_ROLE),)
    ambient, no_ambient = [], []
    pickles: dict[Run, list[Pickle]] = {}
    for path in sorted(_features_dir().glob("*.feature")):
        parsed = parse_feature(path.name, path.read_text())
        xa = (("PLUGIN_CROSS_ACCOUNT_ROLE", XA_ROLE.arn(ACCOUNT)),)
        run = Run(
            "issuer-ambient",
            path.name,
            common + (xa if path.name == "cross_account.feature" else ()),
        )
        pickles[run] = [p for p in parsed if runs_in(p, run.excluded_tags())]
        ambient.append(run)
        if any("@NoIssuerAmbientCredentials" in p.tags for p in parsed):
            off = Run(
                "no-issuer-ambient", path.name, (*common, ("ISSUER_AMBIENT_CREDENTIALS", "false"))
            )
            pickles[off] = [p for p in parsed if runs_in(p, off.excluded_tags())]
            no_ambient.append(off)
    return ambient, no_ambient, pickles


AMBIENT_RUNS, NO_AMBIENT_RUNS, PICKLES = _plan()
CASES = [(run, p) for run, ps in PICKLES.items() for p in ps]


def _suite_env(emulator_url: str, run: Run) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "TMPDIR", "LANG")}
    env.update(
        {
            "AWS_ENDPOINT_URL": emulator_url,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DEFAULT_SECRET_ACCESS_KEY,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "CONTROLLER_NAMESPACE": CONTROLLER_NS,
            "CONTROLLER_SERVICE_ACCOUNT": CONTROLLER_SA,
        }
    )
    env.update(dict(run.env))
    return env


def _run_binary(run: Run, emulator_url: str, outdir: Path) -> RunReport:
    """The suite's binary over one feature file (its cwd holds just that file under features/)."""
    binary, features = upstream_e2e_suite()
    cwd = outdir / run.name
    (cwd / "features").mkdir(parents=True, exist_ok=True)
    shutil.copy(features / run.feature, cwd / "features" / run.feature)
    stdout, stderr = cwd / "godog.stdout", cwd / "godog.stderr"
    started = time.monotonic()
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(
            [str(binary), "-test.timeout", f"{int(RUN_TIMEOUT)}s"],
            cwd=cwd,
            env=_suite_env(emulator_url, run),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            proc.wait(RUN_TIMEOUT + 60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(30)
    elapsed = time.monotonic() - started
    (cwd / "exit").write_text(f"{proc.returncode} after {elapsed:.0f}s\n")
    report = results(PICKLES[run], stdout.read_text(errors="replace"))
    return report


@pytest.fixture(scope="module")
def suite_kubeconfig(control_plane: ControlPlane) -> Iterator[Path]:
    """The harness's admin kubeconfig at the suite's fixed path, one session at a time."""
    with open(f"{SUITE_KUBECONFIG}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.copy(control_plane.kubeconfig, SUITE_KUBECONFIG)
        SUITE_KUBECONFIG.chmod(0o600)
        try:
            yield SUITE_KUBECONFIG
        finally:
            SUITE_KUBECONFIG.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def suite_reports(
    control_plane: ControlPlane,
    emulator: Any,
    controller: IssuerProcess,
    cert_manager: CertManager,
    suite_kubeconfig: Path,
    workdir: Path,
) -> dict[Run, RunReport]:
    """Every planned run, each phase with the controller configured as the suite expects."""
    emulator.add_role(ASSUME_ROLE)
    emulator.add_role(XA_ROLE)
    outdir = workdir / "upstream-e2e"
    reports: dict[Run, RunReport] = {}
    phases = [
        (AMBIENT_RUNS, ("--issuer-ambient-credentials=true",), "upstream-ambient"),
        (NO_AMBIENT_RUNS, (), "upstream-no-ambient"),
    ]
    # The cross-account run waits out the suite's own RAM propagation sleeps; start it first.
    for runs, args, name in phases:
        ordered = sorted(runs, key=lambda r: r.feature != "cross_account.feature")
        with (
            instead_of(controller, control_plane, emulator, workdir, name, *args),
            ThreadPoolExecutor(PARALLEL_RUNS) as pool,
        ):
            for run, report in zip(
                ordered,
                pool.map(lambda r: _run_binary(r, emulator.url, outdir), ordered),
                strict=True,
            ):
                reports[run] = report
    return reports


@pytest.mark.parametrize(
    ("run", "pickle"), CASES, ids=[f"{r.config}/{p.test_id}" for r, p in CASES]
)
def test_upstream_scenario(
    suite_reports: dict[Run, RunReport], run: Run, pickle: Pickle, workdir: Path
) -> None:
    outcome = suite_reports[run].outcomes[pickle]
    if not outcome.passed:
        where = workdir / "upstream-e2e" / run.name
        pytest.fail(
            f"{pickle.feature}:{pickle.line} {pickle.name} {list(pickle.row)}\n"
            f"{outcome.detail}\n(godog output: {where}/godog.stdout, logs: godog.stderr)",
            pytrace=False,
        )
