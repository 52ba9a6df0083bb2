"""IRSA against the emulator with tokens minted by the real kube-apiserver.

The emulator's STS fetches the API server's OIDC discovery and JWKS over
HTTPS, verifies the ServiceAccount token's signature, audience, expiry and
the role's trusted subject, exactly as AWS does for EKS clusters.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from awspca_devstack import ControlPlane
from awspca_devstack.stack import ACCOUNT, CONTROLLER_NS, CONTROLLER_SA, IRSA_ROLE
from botocore.config import Config
from botocore.exceptions import ClientError

NO_RETRY = Config(retries={"total_max_attempts": 1})


def _sts(emulator: Any) -> Any:
    return boto3.client(
        "sts",
        endpoint_url=emulator.url,
        region_name="us-east-1",
        aws_access_key_id="unused",
        aws_secret_access_key="unused",
        config=NO_RETRY,
    )


def test_real_service_account_token_is_exchanged(
    control_plane: ControlPlane, emulator: Any
) -> None:
    control_plane.ensure_namespace(CONTROLLER_NS)
    control_plane.create_service_account(CONTROLLER_NS, CONTROLLER_SA)
    token = control_plane.service_account_token(CONTROLLER_NS, CONTROLLER_SA)
    resp = _sts(emulator).assume_role_with_web_identity(
        RoleArn=IRSA_ROLE, RoleSessionName="test", WebIdentityToken=token
    )
    creds = resp["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert resp["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/issuer-irsa/test"
    me = boto3.client(
        "sts",
        endpoint_url=emulator.url,
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).get_caller_identity()
    assert me["Arn"].endswith("assumed-role/issuer-irsa/test")


@pytest.mark.parametrize(
    ("sa", "audiences", "code"),
    [
        ("someone-else", ("sts.amazonaws.com",), "AccessDenied"),  # not the trusted subject
        (CONTROLLER_SA, ("not-sts",), "InvalidIdentityToken"),  # wrong audience
    ],
)
def test_wrong_service_account_or_audience_is_refused(
    control_plane: ControlPlane, emulator: Any, sa: str, audiences: tuple[str, ...], code: str
) -> None:
    control_plane.ensure_namespace(CONTROLLER_NS)
    control_plane.create_service_account(CONTROLLER_NS, sa)
    token = control_plane.service_account_token(CONTROLLER_NS, sa, audiences)
    with pytest.raises(ClientError) as e:
        _sts(emulator).assume_role_with_web_identity(
            RoleArn=IRSA_ROLE, RoleSessionName="test", WebIdentityToken=token
        )
    assert e.value.response["Error"]["Code"] == code


def test_boto3_web_identity_provider_reaches_pca(
    control_plane: ControlPlane,
    emulator: Any,
    cas: dict[str, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """boto3's own IRSA path: token file + role ARN in the environment, STS endpoint from env."""
    control_plane.ensure_namespace(CONTROLLER_NS)
    control_plane.create_service_account(CONTROLLER_NS, CONTROLLER_SA)
    token_file = tmp_path / "token"
    token_file.write_text(control_plane.service_account_token(CONTROLLER_NS, CONTROLLER_SA))
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ROLE_ARN", IRSA_ROLE)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    pca = boto3.session.Session().client("acm-pca")
    ca = pca.describe_certificate_authority(CertificateAuthorityArn=cas["ec"]["subordinate_arn"])
    assert ca["CertificateAuthority"]["Status"] == "ACTIVE"
