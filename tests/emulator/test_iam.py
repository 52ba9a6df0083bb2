"""IAM through real boto3: users, managed policies, permissions boundaries and
access keys that sign requests as soon as they exist, enforced on PCA calls."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from awspca_emulator import EmulatorHandle
from botocore.exceptions import ClientError
from mypy_boto3_acm_pca import ACMPCAClient
from mypy_boto3_iam import IAMClient

from .conftest import NO_RETRIES, REGION, pca_client
from .helpers import error_code, issue

pytestmark = pytest.mark.timeout(60)
PCA_USE = [
    "acm-pca:DescribeCertificateAuthority",
    "acm-pca:GetCertificate",
    "acm-pca:IssueCertificate",
]


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


@pytest.fixture(scope="module")
def iam(boto_session: boto3.session.Session, emulator: EmulatorHandle) -> IAMClient:
    return boto_session.client(
        "iam",
        endpoint_url=emulator.url,
        region_name=REGION,
        aws_access_key_id="AKIAEMULATOR000000001",
        aws_secret_access_key="emulator-secret-0000000000000000000000001",
        config=NO_RETRIES,
    )


class Users:
    """Creates users with policies and keys; deletes them the way the IAM API demands."""

    def __init__(self, iam: IAMClient, boto_session: boto3.session.Session, url: str) -> None:
        self.iam, self.session, self.url = iam, boto_session, url
        self.made: list[tuple[str, list[str], list[str]]] = []

    def policy(self, doc: str) -> str:
        name = f"p-{uuid.uuid4().hex[:12]}"
        return self.iam.create_policy(PolicyName=name, PolicyDocument=doc)["Policy"]["Arn"]

    def user(
        self, *attached: str, boundary: str | None = None
    ) -> tuple[str, ACMPCAClient, dict[str, str]]:
        name = f"u-{uuid.uuid4().hex[:12]}"
        kw: dict[str, Any] = {"UserName": name}
        if boundary:
            kw["PermissionsBoundary"] = boundary
        self.iam.create_user(**kw)
        for arn in attached:
            self.iam.attach_user_policy(UserName=name, PolicyArn=arn)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        self.made.append((name, list(attached), [key["AccessKeyId"]]))
        creds = {"key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
        return name, pca_client(self.session, self.url, creds["key_id"], creds["secret"]), creds

    def cleanup(self) -> None:
        for name, attached, keys in self.made:
            for k in keys:
                self.iam.delete_access_key(UserName=name, AccessKeyId=k)
            for arn in attached:
                self.iam.detach_user_policy(UserName=name, PolicyArn=arn)
            self.iam.delete_user(UserName=name)


@pytest.fixture
def users(
    iam: IAMClient, boto_session: boto3.session.Session, emulator: EmulatorHandle
) -> Iterator[Users]:
    u = Users(iam, boto_session, emulator.url)
    yield u
    u.cleanup()


def test_a_new_key_signs_at_once_within_its_policy(users: Users, ec_pki: dict[str, Any]) -> None:
    pol = users.policy(document(allow(PCA_USE)))
    _, pca, _ = users.user(pol, boundary=pol)
    sub = ec_pki["subordinate_arn"]
    arn = issue(pca, sub)
    assert pca.get_certificate(CertificateAuthorityArn=sub, CertificateArn=arn)["Certificate"]
    with pytest.raises(ClientError) as exc:  # not an action the policy names
        pca.update_certificate_authority(CertificateAuthorityArn=sub, Status="DISABLED")
    assert error_code(exc) == "AccessDeniedException"
    assert "acm-pca:UpdateCertificateAuthority" in str(exc.value)


def test_the_policy_resource_limits_the_cas(
    users: Users, ec_pki: dict[str, Any], ec_pki_pathlen1: dict[str, Any]
) -> None:
    pol = users.policy(document(allow(PCA_USE, ec_pki["subordinate_arn"])))
    _, pca, _ = users.user(pol)
    issue(pca, ec_pki["subordinate_arn"])
    with pytest.raises(ClientError) as exc:
        issue(pca, ec_pki_pathlen1["subordinate_arn"])
    assert error_code(exc) == "AccessDeniedException"


def test_no_policy_boundary_and_explicit_deny(users: Users, ec_pki: dict[str, Any]) -> None:
    sub = ec_pki["subordinate_arn"]
    _, bare, _ = users.user()
    with pytest.raises(ClientError) as exc:  # implicit deny
        bare.describe_certificate_authority(CertificateAuthorityArn=sub)
    assert error_code(exc) == "AccessDeniedException"

    everything = users.policy(document(allow(["acm-pca:*"])))
    describe_only = users.policy(document(allow(["acm-pca:DescribeCertificateAuthority"])))
    _, bounded, _ = users.user(everything, boundary=describe_only)
    bounded.describe_certificate_authority(CertificateAuthorityArn=sub)
    with pytest.raises(ClientError) as exc:  # the boundary does not allow it
        issue(bounded, sub)
    assert error_code(exc) == "AccessDeniedException"

    deny = users.policy(
        document({"Effect": "Deny", "Action": "acm-pca:IssueCertificate", "Resource": sub})
    )
    _, denied, _ = users.user(everything, deny)
    denied.describe_certificate_authority(CertificateAuthorityArn=sub)
    with pytest.raises(ClientError) as exc:  # an explicit deny wins over the allow
        issue(denied, sub)
    assert error_code(exc) == "AccessDeniedException"


def test_users_cannot_manage_iam_without_permission(
    users: Users, boto_session: boto3.session.Session, emulator: EmulatorHandle
) -> None:
    pol = users.policy(document(allow(PCA_USE)))
    _, _, creds = users.user(pol)
    own_iam = boto_session.client(
        "iam",
        endpoint_url=emulator.url,
        region_name=REGION,
        aws_access_key_id=creds["key_id"],
        aws_secret_access_key=creds["secret"],
        config=NO_RETRIES,
    )
    with pytest.raises(ClientError) as exc:
        own_iam.create_user(UserName="escalation")
    assert error_code(exc) == "AccessDenied"


def test_lifecycle_rules_and_a_deleted_key_stops_working(
    iam: IAMClient,
    users: Users,
    boto_session: boto3.session.Session,
    emulator: EmulatorHandle,
    ec_pki: dict[str, Any],
) -> None:
    pol = users.policy(document(allow(PCA_USE)))
    name = "lifecycle-user"
    iam.create_user(UserName=name, PermissionsBoundary=pol)
    assert (
        iam.get_user(UserName=name)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == pol
    )
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName=name)
    assert error_code(exc) == "EntityAlreadyExists"
    iam.attach_user_policy(UserName=name, PolicyArn=pol)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    with pytest.raises(ClientError) as exc:  # keys and policies first
        iam.delete_user(UserName=name)
    assert error_code(exc) == "DeleteConflict"
    with pytest.raises(ClientError) as exc:  # still attached
        iam.delete_policy(PolicyArn=pol)
    assert error_code(exc) == "DeleteConflict"
    pca = pca_client(boto_session, emulator.url, key["AccessKeyId"], key["SecretAccessKey"])
    pca.describe_certificate_authority(CertificateAuthorityArn=ec_pki["subordinate_arn"])
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as exc:
        pca.describe_certificate_authority(CertificateAuthorityArn=ec_pki["subordinate_arn"])
    assert error_code(exc) == "UnrecognizedClientException"
    iam.detach_user_policy(UserName=name, PolicyArn=pol)
    iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as exc:
        iam.get_user(UserName=name)
    assert error_code(exc) == "NoSuchEntity"


def test_invalid_inputs(iam: IAMClient) -> None:
    with pytest.raises(ClientError) as exc:
        iam.create_policy(PolicyName="broken", PolicyDocument="{not json")
    assert error_code(exc) == "MalformedPolicyDocument"
    with pytest.raises(ClientError) as exc:
        iam.create_policy(
            PolicyName="no-effect", PolicyDocument=json.dumps({"Statement": [{"Action": "*"}]})
        )
    assert error_code(exc) == "MalformedPolicyDocument"
    with pytest.raises(ClientError) as exc:
        iam.create_user(
            UserName="u-bad-boundary",
            PermissionsBoundary="arn:aws:iam::123456789012:policy/missing",
        )
    assert error_code(exc) == "NoSuchEntity"
