"""Fixtures: one emulator per session (loopback, own thread) and real boto3 clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from awspca_emulator import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_SECRET_ACCESS_KEY,
    AdminClient,
    EmulatorConfig,
    EmulatorHandle,
    run_in_thread,
)
from botocore.config import Config
from mypy_boto3_acm_pca import ACMPCAClient
from mypy_boto3_sts import STSClient

REGION = "us-east-1"
NO_RETRIES = Config(retries={"total_max_attempts": 1})


@pytest.fixture(scope="session")
def boto_session() -> boto3.session.Session:
    return boto3.session.Session(region_name=REGION)


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorHandle]:
    with run_in_thread(EmulatorConfig(throttling_enabled=False)) as handle:
        yield handle


@pytest.fixture(scope="session")
def admin(emulator: EmulatorHandle) -> AdminClient:
    return emulator.admin


@pytest.fixture(autouse=True)
def _restore_settings(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests that change run-time settings of the shared emulator get them reset after."""
    yield
    if "emulator" in request.fixturenames:
        handle: EmulatorHandle = request.getfixturevalue("emulator")
        handle.admin.configure(
            issuance_delay=0,
            clear_faults=True,
            throttling_enabled=False,
            credential_lifetime=None,
            reset_throttle=True,
        )


def _client_args(url: str, key_id: str, secret: str, token: str | None) -> dict[str, Any]:
    """What every test client shares: the emulator's endpoint, a region, keys, no retries."""
    return {
        "endpoint_url": url,
        "region_name": REGION,
        "aws_access_key_id": key_id,
        "aws_secret_access_key": secret,
        "aws_session_token": token,
        "config": NO_RETRIES,
    }


def pca_client(
    session: boto3.session.Session,
    url: str,
    key_id: str = DEFAULT_ACCESS_KEY_ID,
    secret: str = DEFAULT_SECRET_ACCESS_KEY,
    token: str | None = None,
) -> ACMPCAClient:
    return session.client("acm-pca", **_client_args(url, key_id, secret, token))


def sts_client(
    session: boto3.session.Session,
    url: str,
    key_id: str = DEFAULT_ACCESS_KEY_ID,
    secret: str = DEFAULT_SECRET_ACCESS_KEY,
    token: str | None = None,
) -> STSClient:
    return session.client("sts", **_client_args(url, key_id, secret, token))


@pytest.fixture(scope="session")
def pca(boto_session: boto3.session.Session, emulator: EmulatorHandle) -> ACMPCAClient:
    return pca_client(boto_session, emulator.url)


@pytest.fixture(scope="session")
def sts(boto_session: boto3.session.Session, emulator: EmulatorHandle) -> STSClient:
    return sts_client(boto_session, emulator.url)


@pytest.fixture(scope="session")
def ec_pki(emulator: EmulatorHandle) -> dict[str, Any]:
    """An EC root -> PathLen0 subordinate hierarchy, both ACTIVE."""
    return emulator.bootstrap("EC_prime256v1")


@pytest.fixture(scope="session")
def ec_pki_pathlen1(emulator: EmulatorHandle) -> dict[str, Any]:
    """An EC root -> PathLen1 subordinate hierarchy (bootstrapped over the admin API)."""
    return emulator.admin.bootstrap("ec", subordinate_pathlen=1)
