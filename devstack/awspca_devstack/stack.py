"""The local AWS side of the test stack: emulator settings, IRSA wiring, controller processes.

One emulator (PCA + STS) trusts the control plane's ServiceAccount issuer, so
IRSA works for real: the controller process gets a token file minted through
TokenRequest and ``AWS_ROLE_ARN``, and botocore's own web identity provider
exchanges it with the emulator's STS.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from awspca_emulator import EmulatorConfig
from awspca_emulator.config import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_SECRET_ACCESS_KEY,
    OidcIssuerConfig,
    RoleConfig,
)

from awspca_devstack import ControlPlane
from awspca_devstack.issuerproc import IssuerProcess

ACCOUNT = "123456789012"
CONTROLLER_NS = "awspca-system"
CONTROLLER_SA = "awspca-issuer"
IRSA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/issuer-irsa"
ASSUMED_ROLE = f"arn:aws:iam::{ACCOUNT}:role/pca-assumed"
CUSTOM_KEY_ID = "AKIACUSTOMSELECTOR01"
CUSTOM_SECRET = "custom-selector-secret-000000000000000001"
DEFAULT_KEYS = {
    "AWS_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": DEFAULT_SECRET_ACCESS_KEY,
}


def emulator_config(*control_planes: ControlPlane) -> EmulatorConfig:
    """Static keys (default and custom), the clusters' OIDC issuers, an IRSA role, an assumable role."""
    return EmulatorConfig(
        access_keys={
            DEFAULT_ACCESS_KEY_ID: DEFAULT_SECRET_ACCESS_KEY,
            CUSTOM_KEY_ID: CUSTOM_SECRET,
        },
        oidc_issuers=[
            OidcIssuerConfig(issuer=cp.issuer_url, ca_file=str(cp.ca_file)) for cp in control_planes
        ],
        roles=[
            RoleConfig(
                name="issuer-irsa",
                trusted_subjects=[f"system:serviceaccount:{CONTROLLER_NS}:{CONTROLLER_SA}"],
            ),
            RoleConfig(
                name="pca-assumed",
                allowed_principals=["*"],
                # the serviceAccountRef sample's ServiceAccount, in any namespace
                trusted_subjects=["system:serviceaccount:*:pca-issuer-signer"],
            ),
        ],
    )


def irsa_env(cp: ControlPlane, workdir: Path, name: str) -> dict[str, str]:
    """The environment EKS's pod identity webhook would give the controller's pod."""
    cp.ensure_namespace(CONTROLLER_NS)
    cp.create_service_account(CONTROLLER_NS, CONTROLLER_SA)
    token = cp.service_account_token(CONTROLLER_NS, CONTROLLER_SA, ("sts.amazonaws.com",), 7200)
    path = workdir / f"{cp.name}-{name}.token"
    path.write_text(token)
    path.chmod(0o600)
    return {"AWS_ROLE_ARN": IRSA_ROLE, "AWS_WEB_IDENTITY_TOKEN_FILE": str(path)}


def start_controller(
    cp: ControlPlane,
    emulator: Any,
    workdir: Path,
    name: str,
    *args: str,
    irsa: bool = True,
    wait: bool = True,
    kubeconfig: Path | None = None,
) -> IssuerProcess:
    """Our controller as a process, with IRSA set up and test-friendly intervals.

    ``kubeconfig`` runs it as someone else than the admin (a ServiceAccount token).
    """
    env = irsa_env(cp, workdir, name) if irsa else {}
    return IssuerProcess(
        cp,
        aws_endpoint=emulator.url,
        name=name,
        env=env,
        kubeconfig=kubeconfig,
        args=(
            "--issuer-recheck-interval",
            "3s",
            "--leader-election-namespace",
            CONTROLLER_NS,
            "--max-retry-duration",
            "2m",
            *args,
        ),
    ).start(wait=wait)


@contextlib.contextmanager
def instead_of(
    shared: IssuerProcess, cp: ControlPlane, emulator: Any, workdir: Path, name: str, *args: str
) -> Iterator[IssuerProcess]:
    """Run a differently configured controller while the shared one is stopped.

    Two controllers without leader election would both reconcile everything;
    this keeps exactly one running and restores the shared one afterwards.
    """
    shared.stop()
    try:
        with start_controller(cp, emulator, workdir, name, *args) as proc:
            yield proc
    finally:
        shared.start()
