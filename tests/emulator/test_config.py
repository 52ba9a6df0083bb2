"""EmulatorConfig from plain data / YAML, and the Python API of a running handle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from awspca_emulator import (
    DEFAULT_ACCESS_KEY_ID,
    EmulatorConfig,
    EmulatorHandle,
    FaultConfig,
    OidcIssuerConfig,
    RoleConfig,
)

from .conftest import sts_client

YAML = """
account_id: "210987654321"
issuance_delay: [0.5, 1.5]
throttle_rates: {IssueCertificate: 10}
roles:
  - name: issuer
    trusted_subjects: ["system:serviceaccount:aws-pca:*"]
    allowed_cas: ["*"]
oidc_issuers:
  - issuer: https://127.0.0.1:6443
    ca_file: /tmp/ca.crt
faults:
  GetCertificate: {latency: 0.1}
"""


def test_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "emulator.yaml"
    path.write_text(YAML)
    c = EmulatorConfig.from_yaml(path)
    assert c.account_id == "210987654321"
    assert c.issuance_delay == (0.5, 1.5)
    assert c.throttle_rates["IssueCertificate"] == 10
    assert c.throttle_rates["GetCertificate"] == 75  # defaults kept
    assert c.roles == [RoleConfig("issuer", trusted_subjects=["system:serviceaccount:aws-pca:*"])]
    assert c.oidc_issuers == [OidcIssuerConfig("https://127.0.0.1:6443", ca_file="/tmp/ca.crt")]
    assert c.oidc_issuers[0].audience == "sts.amazonaws.com"
    assert c.faults == {"GetCertificate": FaultConfig(latency=0.1)}
    assert DEFAULT_ACCESS_KEY_ID in c.access_keys


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown emulator config keys"):
        EmulatorConfig.from_dict({"acount_id": "1"})


def test_python_api_roles(
    emulator: EmulatorHandle, boto_session: boto3.session.Session, ec_pki: dict[str, Any]
) -> None:
    arn = emulator.add_role(RoleConfig("python-role", allowed_principals=["arn:aws:iam::*:user/*"]))
    out = sts_client(boto_session, emulator.url).assume_role(RoleArn=arn, RoleSessionName="py")
    assert out["AssumedRoleUser"]["Arn"].endswith("assumed-role/python-role/py")
    assert emulator.admin.configure(delay=0.25, throttling=False)["issuance_delay"] == 0.25
