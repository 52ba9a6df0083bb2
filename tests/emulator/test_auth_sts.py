"""SigV4 verification and STS (GetCallerIdentity, AssumeRole), role permissions on CAs."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from awspca_emulator import DEFAULT_ACCESS_KEY_ID, AdminClient, EmulatorHandle
from botocore.exceptions import ClientError
from mypy_boto3_sts import STSClient

from .conftest import pca_client, sts_client
from .helpers import error_code

pytestmark = pytest.mark.timeout(60)


def test_wrong_secret(
    boto_session: boto3.session.Session, emulator: EmulatorHandle, ec_pki: dict[str, Any]
) -> None:
    bad = pca_client(boto_session, emulator.url, secret="not-the-secret")
    with pytest.raises(ClientError) as exc:
        bad.describe_certificate_authority(CertificateAuthorityArn=ec_pki["root_arn"])
    assert error_code(exc) == "InvalidSignatureException"
    with pytest.raises(ClientError) as exc:
        sts_client(boto_session, emulator.url, secret="not-the-secret").get_caller_identity()
    assert error_code(exc) == "SignatureDoesNotMatch"


def test_unknown_access_key_then_added(
    boto_session: boto3.session.Session,
    emulator: EmulatorHandle,
    admin: AdminClient,
    ec_pki: dict[str, Any],
) -> None:
    key_id, secret = "AKIAEMULATORTESTKEY9", "a-second-secret-for-tests"
    client = pca_client(boto_session, emulator.url, key_id, secret)
    with pytest.raises(ClientError) as exc:
        client.describe_certificate_authority(CertificateAuthorityArn=ec_pki["root_arn"])
    assert error_code(exc) == "UnrecognizedClientException"
    sts = sts_client(boto_session, emulator.url, key_id, secret)
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert error_code(exc) == "InvalidClientTokenId"
    admin.add_access_key(key_id, secret)
    client.describe_certificate_authority(CertificateAuthorityArn=ec_pki["root_arn"])
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::123456789012:user/{key_id}"


def test_unsigned_pca_request_is_refused(emulator: EmulatorHandle) -> None:
    req = urllib.request.Request(  # noqa: S310 - loopback http
        emulator.url + "/",
        data=b"{}",
        headers={
            "X-Amz-Target": "ACMPrivateCA.ListCertificateAuthorities",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=10)  # noqa: S310 - loopback
    assert json.loads(exc.value.read())["__type"] == "MissingAuthenticationTokenException"


def test_get_caller_identity(sts: STSClient) -> None:
    ident = sts.get_caller_identity()
    assert ident["Account"] == "123456789012"
    assert ident["Arn"] == f"arn:aws:iam::123456789012:user/{DEFAULT_ACCESS_KEY_ID}"


@pytest.fixture(scope="module")
def role_arn(admin: AdminClient, ec_pki: dict[str, Any]) -> str:
    return admin.add_role(
        "issuer-role",
        allowed_principals=[DEFAULT_ACCESS_KEY_ID],
        allowed_cas=[ec_pki["subordinate_arn"]],
    )


def _assume(sts: STSClient, role_arn: str, **kw: Any) -> dict[str, Any]:
    return dict(sts.assume_role(RoleArn=role_arn, RoleSessionName="tests", **kw))


def test_assume_role_and_ca_permissions(
    boto_session: boto3.session.Session,
    emulator: EmulatorHandle,
    sts: STSClient,
    role_arn: str,
    ec_pki: dict[str, Any],
    admin: AdminClient,
) -> None:
    assert role_arn == "arn:aws:iam::123456789012:role/issuer-role"
    out = _assume(sts, role_arn, DurationSeconds=900)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    remaining = creds["Expiration"].timestamp() - time.time()
    assert 850 < remaining <= 901
    assert (
        out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::123456789012:assumed-role/issuer-role/tests"
    )
    args = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    ident = sts_client(boto_session, emulator.url, *args).get_caller_identity()
    assert ident["Arn"] == out["AssumedRoleUser"]["Arn"]
    assert ident["UserId"].endswith(":tests")
    pca = pca_client(boto_session, emulator.url, *args)
    pca.describe_certificate_authority(CertificateAuthorityArn=ec_pki["subordinate_arn"])
    with pytest.raises(ClientError) as exc:
        pca.describe_certificate_authority(CertificateAuthorityArn=ec_pki["root_arn"])
    assert error_code(exc) == "AccessDeniedException"
    assert admin.calls("DescribeCertificateAuthority")[-1]["caller_arn"] == ident["Arn"]
    with pytest.raises(ClientError) as exc:  # the session token is part of the credentials
        pca_client(
            boto_session, emulator.url, args[0], args[1], "wrong-token"
        ).list_certificate_authorities()
    assert error_code(exc) == "UnrecognizedClientException"


def test_assume_role_refusals(
    boto_session: boto3.session.Session,
    emulator: EmulatorHandle,
    sts: STSClient,
    role_arn: str,
    admin: AdminClient,
) -> None:
    with pytest.raises(ClientError) as exc:
        _assume(sts, "arn:aws:iam::123456789012:role/no-such-role")
    assert error_code(exc) == "AccessDenied"
    admin.add_access_key("AKIAEMULATOROTHER001", "other-secret-value-for-tests")
    other = sts_client(
        boto_session, emulator.url, "AKIAEMULATOROTHER001", "other-secret-value-for-tests"
    )
    with pytest.raises(ClientError) as exc:
        _assume(other, role_arn)
    assert error_code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        _assume(sts, role_arn, DurationSeconds=99999)
    assert error_code(exc) == "ValidationError"


def test_expired_temporary_credentials(
    boto_session: boto3.session.Session,
    emulator: EmulatorHandle,
    sts: STSClient,
    role_arn: str,
    admin: AdminClient,
    ec_pki: dict[str, Any],
) -> None:
    admin.configure(credential_lifetime=1.5)
    creds = _assume(sts, role_arn)["Credentials"]
    args = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    pca = pca_client(boto_session, emulator.url, *args)
    pca.describe_certificate_authority(CertificateAuthorityArn=ec_pki["subordinate_arn"])
    time.sleep(1.6)
    with pytest.raises(ClientError) as exc:
        pca.describe_certificate_authority(CertificateAuthorityArn=ec_pki["subordinate_arn"])
    assert error_code(exc) == "ExpiredTokenException"
    with pytest.raises(ClientError) as exc:
        sts_client(boto_session, emulator.url, *args).get_caller_identity()
    assert error_code(exc) == "ExpiredToken"


def test_role_chaining(
    boto_session: boto3.session.Session,
    emulator: EmulatorHandle,
    sts: STSClient,
    role_arn: str,
    admin: AdminClient,
) -> None:
    second = admin.add_role("second-role", allowed_principals=[role_arn])
    creds = _assume(sts, role_arn)["Credentials"]
    chained = sts_client(
        boto_session,
        emulator.url,
        creds["AccessKeyId"],
        creds["SecretAccessKey"],
        creds["SessionToken"],
    )
    out = chained.assume_role(RoleArn=second, RoleSessionName="chained")
    assert out["AssumedRoleUser"]["Arn"].endswith(":assumed-role/second-role/chained")
